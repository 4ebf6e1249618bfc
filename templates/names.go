package templates

import (
	"encoding/hex"
	"go/build"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/psmongo/psmongo/mongoapply"
)

// fileSuffix is added to a hook file's name when the go tool would otherwise
// read the name as a build constraint or a test file, or when the name is one
// of the hooks package's own files.
const fileSuffix = "_hook"

// packageFiles are the files of the hooks package that hook files must never
// replace.
var packageFiles = map[string]bool{"hooks": true, "checks": true, "doc": true}

// CheckName returns an error naming the rule that name breaks if it cannot be
// the name of a collection that clients write to; the rules are the
// server's (mongoapply.CheckCollectionName) with the default dead-letter
// collection.
func CheckName(name string) error {
	return mongoapply.CheckCollectionName(name, "")
}

// CheckFieldName returns an error naming the rule that name breaks if it
// cannot be a field that clients write; the rules are the server's
// (mongoapply.CheckFieldName).
func CheckFieldName(name string) error {
	return mongoapply.CheckFieldName(name)
}

// HookFile returns the path, relative to the project directory, of the hook
// file that Generate writes for collection name; its test file is the same
// path ending in "_test.go" instead of ".go".
//
// The file is hooks/BASE.go. BASE is the name's words in lower case joined by
// "_", where words are runs of letters and digits, also split where camel
// case starts a word: "todos" gives hooks/todos.go; "todo-items", "todoItems"
// and "TodoItems" all give hooks/todo_items.go, and WriteFiles refuses the
// second of two such names. "_hook" is added to BASE when the go tool would
// otherwise skip the file or read it as a test ("foo_test", "events_windows",
// "data_amd64": a last word that is "test" or a GOOS or GOARCH it knows), or
// when BASE is a file of the hooks package itself ("hooks", "checks", "doc"):
// hooks/events_windows_hook.go. A name with no letter or digit gives
// "collection_" and the name's bytes in hex.
func HookFile(name string) string {
	return "hooks/" + fileBase(nameWords(name)) + ".go"
}

// fileBase joins words into a file name without extension that the go tool
// always builds.
func fileBase(words []string) string {
	base := strings.Join(words, "_")
	if packageFiles[base] || strings.HasSuffix(base, "_test") || !alwaysBuilt(base+".go") {
		base += fileSuffix
	}
	return base
}

// alwaysBuilt reports whether the go tool builds a file so named on every
// operating system and architecture. It asks go/build with a target that
// matches no constraint, so the toolchain's own list of systems decides.
func alwaysBuilt(file string) bool {
	ctx := build.Context{
		GOOS:     "none",
		GOARCH:   "none",
		Compiler: "gc",
		OpenFile: func(string) (io.ReadCloser, error) {
			return io.NopCloser(strings.NewReader("package hooks\n")), nil
		},
	}
	ok, err := ctx.MatchFile(".", file)
	return ok && err == nil
}

// funcName returns the name of the hook function of a collection with the
// given name words: "check" followed by the words, each starting with an
// upper-case letter, so "2024_logs" gives check2024Logs.
func funcName(words []string) string {
	var b strings.Builder
	b.WriteString("check")
	for _, w := range words {
		r, size := utf8.DecodeRuneInString(w)
		b.WriteRune(unicode.ToUpper(r))
		b.WriteString(w[size:])
	}
	return b.String()
}

// nameWords splits a collection name into lower-case words of letters and
// digits, as both the file name and the function name are made of them.
func nameWords(name string) []string {
	var words []string
	var word []rune
	flush := func() {
		if len(word) > 0 {
			words = append(words, strings.ToLower(string(word)))
			word = word[:0]
		}
	}

	runes := []rune(name)
	for i, r := range runes {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			flush()
			continue
		}
		if i > 0 && startsWord(runes[i-1], r, runes[i+1:]) {
			flush()
		}
		word = append(word, r)
	}
	flush()

	if len(words) == 0 {
		return []string{"collection", hex.EncodeToString([]byte(name))}
	}
	return words
}

// startsWord reports whether r, coming after prev and before rest, starts a
// new word in camel case: "todoItems" and "HTMLPage" split before the "I" and
// the "P".
func startsWord(prev, r rune, rest []rune) bool {
	if !unicode.IsUpper(r) {
		return false
	}
	if unicode.IsLower(prev) || unicode.IsDigit(prev) {
		return true
	}
	return unicode.IsUpper(prev) && len(rest) > 0 && unicode.IsLower(rest[0])
}
