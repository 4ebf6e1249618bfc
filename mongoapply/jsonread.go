package mongoapply

import (
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// jsonReader reads JSON text in one pass and decodes values as
// encoding/json does into interface values with UseNumber: objects as
// map[string]any, arrays as []any, numbers as json.Number, strings with
// invalid UTF-8 mended with U+FFFD. A string without escapes is a
// substring of the text, so it costs no copy.
//
// It gives up, reporting false, on any syntax error and on nesting deeper
// than maxReadDepth; its callers then take the encoding/json route, which
// says what is wrong. The differential fuzz test of decodeBatch holds the
// two routes to the same results.
type jsonReader struct {
	s    string
	i    int
	stop int // objects and arrays that reach past this offset give up
}

// maxReadDepth is how deeply the reader nests before it gives up, well
// within encoding/json's own limit of 10,000.
const maxReadDepth = 1000

// ws skips white space.
func (r *jsonReader) ws() {
	for r.i < len(r.s) {
		switch r.s[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// next skips white space and consumes c if it comes next.
func (r *jsonReader) next(c byte) bool {
	r.ws()
	if r.i < len(r.s) && r.s[r.i] == c {
		r.i++
		return true
	}
	return false
}

// peek skips white space and returns the next byte, or 0 at the end.
func (r *jsonReader) peek() byte {
	r.ws()
	if r.i < len(r.s) {
		return r.s[r.i]
	}
	return 0
}

// value decodes the next value.
func (r *jsonReader) value(depth int) (any, bool) {
	switch r.peek() {
	case '{':
		return r.object(depth + 1)
	case '[':
		return r.array(depth + 1)
	case '"':
		return r.str()
	case 't':
		return true, r.literal("true")
	case 'f':
		return false, r.literal("false")
	case 'n':
		return nil, r.literal("null")
	}
	n, ok := r.number()
	return json.Number(n), ok
}

func (r *jsonReader) object(depth int) (map[string]any, bool) {
	if depth > maxReadDepth || !r.next('{') {
		return nil, false
	}
	m := make(map[string]any)
	if r.next('}') {
		return m, true
	}
	for {
		k, ok := r.key()
		if !ok {
			return nil, false
		}
		if m[k], ok = r.value(depth); !ok || r.i > r.stop {
			return nil, false
		}
		if r.next(',') {
			continue
		}
		return m, r.next('}')
	}
}

func (r *jsonReader) array(depth int) ([]any, bool) {
	if depth > maxReadDepth || !r.next('[') {
		return nil, false
	}
	if r.next(']') {
		return make([]any, 0), true
	}
	a := make([]any, 0, 4)
	for {
		v, ok := r.value(depth)
		if !ok || r.i > r.stop {
			return nil, false
		}
		a = append(a, v)
		if r.next(',') {
			continue
		}
		return a, r.next(']')
	}
}

// key reads an object's key and the colon after it.
func (r *jsonReader) key() (string, bool) {
	r.ws()
	k, ok := r.str()
	return k, ok && r.next(':')
}

// skip checks the next value and passes over it without decoding it.
func (r *jsonReader) skip(depth int) bool {
	switch r.peek() {
	case '{', '[':
		return r.skipComposite(depth + 1)
	case '"':
		_, _, _, ok := r.scanString()
		return ok
	case 't':
		return r.literal("true")
	case 'f':
		return r.literal("false")
	case 'n':
		return r.literal("null")
	}
	_, ok := r.number()
	return ok
}

func (r *jsonReader) skipComposite(depth int) bool {
	if depth > maxReadDepth {
		return false
	}
	end := byte(']')
	if r.s[r.i] == '{' {
		end = '}'
	}
	r.i++
	if r.next(end) {
		return true
	}
	for {
		if end == '}' {
			if _, _, _, ok := r.scanString(); !ok || !r.next(':') {
				return false
			}
		}
		if !r.skip(depth) {
			return false
		}
		if !r.next(',') {
			return r.next(end)
		}
		r.ws()
	}
}

// str decodes the string that starts at the reader.
func (r *jsonReader) str() (string, bool) {
	s, escaped, ascii, ok := r.scanString()
	switch {
	case !ok:
		return "", false
	case !escaped && (ascii || utf8.ValidString(s)):
		return s, true
	}
	return unquote(s), true
}

// scanString passes over the string that starts at the reader, checking
// its escapes, and returns what lies between its quotes.
func (r *jsonReader) scanString() (s string, escaped, ascii, ok bool) {
	if r.i >= len(r.s) || r.s[r.i] != '"' {
		return "", false, false, false
	}
	ascii = true
	for i := r.i + 1; i < len(r.s); i++ {
		if plainByte[r.s[i]] {
			continue
		}
		switch c := r.s[i]; {
		case c == '"':
			s, r.i = r.s[r.i+1:i], i+1
			return s, escaped, ascii, true
		case c == '\\':
			n := escapeLen(r.s[i:])
			if n == 0 {
				return "", false, false, false
			}
			escaped, i = true, i+n-1
		case c < 0x20:
			return "", false, false, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return "", false, false, false
}

// plainByte marks the bytes a string holds as they are: printable ASCII
// but the quote and the backslash.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// escapeLen returns the length of the escape at the start of s, or 0 if it
// is not one JSON allows.
func escapeLen(s string) int {
	if len(s) < 2 {
		return 0
	}
	switch s[1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2
	case 'u':
		if _, ok := unitEscape(s); ok {
			return 6
		}
	}
	return 0
}

// unitEscape reads the code unit of a \uXXXX escape at the start of s.
func unitEscape(s string) (rune, bool) {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[2:6]) {
		d, ok := hexDigit(c)
		if !ok {
			return 0, false
		}
		r = r*16 + rune(d)
	}
	return r, true
}

// hexDigit returns the value of the hex digit c.
func hexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// unquote decodes the escapes of s, whose escapes scanString checked, and
// mends invalid UTF-8 and lone surrogates with U+FFFD, as encoding/json
// does.
func unquote(s string) string {
	b, _ := appendUnquoted(make([]byte, 0, len(s)), s, true)
	return unsafeText(b) // b is not kept, nor changed
}

// appendUnquoted appends s, the text of a JSON string whose escapes
// scanString checked, with its escapes decoded. A lone surrogate or a byte
// that is not UTF-8 becomes U+FFFD when mend is set, as encoding/json
// makes it; otherwise appendUnquoted reports false.
func appendUnquoted(dst []byte, s string, mend bool) ([]byte, bool) {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\' && s[i+1] == 'u':
			r, _ := unitEscape(s[i:])
			i += 6
			if utf16.IsSurrogate(r) {
				low, ok := unitEscape(s[i:])
				switch d := utf16.DecodeRune(r, low); {
				case ok && d != unicode.ReplacementChar:
					r = d
					i += 6
				case !mend:
					return nil, false
				default:
					r = unicode.ReplacementChar
				}
			}
			dst = utf8.AppendRune(dst, r)
		case c == '\\':
			dst = append(dst, unescaped[s[i+1]])
			i += 2
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size <= 1 && !mend {
				return nil, false
			}
			dst = utf8.AppendRune(dst, r) // U+FFFD for a byte that is not UTF-8
			i += size
		}
	}
	return dst, true
}

// unescaped maps the letter of a one-letter escape to its byte.
var unescaped = [256]byte{
	'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t',
}

// number passes over a number and returns its text.
func (r *jsonReader) number() (string, bool) {
	s, i := r.s, r.i
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		i = digits(s, i)
	default:
		return "", false
	}
	if i < len(s) && s[i] == '.' {
		if i = digits(s, i+1); s[i-1] == '.' {
			return "", false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		start := i
		if i = digits(s, i); i == start {
			return "", false
		}
	}
	n := s[r.i:i]
	r.i = i
	return n, true
}

// digits returns the index of the first byte from i on that is not a digit.
func digits(s string, i int) int {
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	return i
}

// literal consumes the literal lit: true, false or null.
func (r *jsonReader) literal(lit string) bool {
	if !strings.HasPrefix(r.s[r.i:], lit) {
		return false
	}
	r.i += len(lit)
	return true
}
