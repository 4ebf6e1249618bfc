package templates

import (
	"encoding/hex"
	"fmt"
	"go/build"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxNameBytes is the longest collection name accepted. MongoDB limits the
// namespace, "database.collection", to 255 bytes; the server keeps 55 of
// them for the database name.
const maxNameBytes = 200

// deadLetter is the default name of the collection that keeps rejected writes.
const deadLetter = "powersync_rejected_writes"

// fileSuffix is added to a hook file's name when the go tool would otherwise
// read the name as a build constraint or a test file, or when the name is one
// of the hooks package's own files.
const fileSuffix = "_hook"

// packageFiles are the files of the hooks package that hook files must never
// replace.
var packageFiles = map[string]bool{"hooks": true, "checks": true, "doc": true}

// CheckName returns an error naming the rule that name breaks if it cannot be
// the name of a collection that clients write to: it must be valid UTF-8, not
// empty, at most 200 bytes, hold no "$" or NUL byte, not start or end with a
// dot, and not be a system collection ("system."), one of PowerSync's own
// ("_powersync...") or the default dead-letter collection.
func CheckName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("collection name is empty")
	case !utf8.ValidString(name):
		return fmt.Errorf("collection name %q is not valid UTF-8", name)
	case len(name) > maxNameBytes:
		return fmt.Errorf("collection name is %d bytes long, more than %d", len(name), maxNameBytes)
	case strings.Contains(name, "$"):
		return fmt.Errorf("collection name %q contains $", name)
	case strings.ContainsRune(name, 0):
		return fmt.Errorf("collection name %q contains a NUL byte", name)
	case strings.HasPrefix(name, "."), strings.HasSuffix(name, "."):
		return fmt.Errorf("collection name %q starts or ends with a dot", name)
	case strings.HasPrefix(name, "system."):
		return fmt.Errorf("collection %q is a MongoDB system collection", name)
	case strings.HasPrefix(name, "_powersync"):
		return fmt.Errorf("collection %q belongs to PowerSync", name)
	case name == deadLetter:
		return fmt.Errorf("collection %q keeps rejected writes", name)
	}
	return nil
}

// CheckFieldName returns an error naming the rule that name breaks if it
// cannot be a field that clients write: it must be valid UTF-8, not empty,
// not "id" or "_id" (the document id), not start with "$" (an update
// operator) and hold no "." (a path) or NUL byte.
func CheckFieldName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("field name is empty")
	case !utf8.ValidString(name):
		return fmt.Errorf("field name %q is not valid UTF-8", name)
	case name == "id" || name == "_id":
		return fmt.Errorf("field %q is the document id, not a field", name)
	case strings.HasPrefix(name, "$"):
		return fmt.Errorf("field name %q starts with $", name)
	case strings.Contains(name, "."):
		return fmt.Errorf("field name %q contains a dot", name)
	case strings.ContainsRune(name, 0):
		return fmt.Errorf("field name %q contains a NUL byte", name)
	}
	return nil
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
