package mongoapply

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/bson/bsontype"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/x/bsonx/bsoncore"
)

// The direct route's restorers: each reads one JSON value, as the reader
// or readMembers found it, and appends it as BSON of the type restore
// would give it, or reports false where restore would refuse it or the
// value is one the direct route leaves to plan's long route.

// restored appends the element key: the value at the reader restored to
// the field type t, as restoreValue restores it.
func (e *directEncoder) restored(dst []byte, key string, r *jsonReader, tok token, t FieldType) ([]byte, bool) {
	if tok.kind == 'n' {
		return bsoncore.AppendNullElement(dst, key), true
	}

	switch t {
	case "":
		return e.plain(dst, key, r, tok, 2)
	case FieldBool:
		return appendBool(dst, key, tok)
	case FieldDate:
		return appendDate(dst, key, tok)
	case FieldInt, FieldLong:
		return appendInt(dst, key, tok, t)
	case FieldDouble:
		return appendDouble(dst, key, tok)
	case FieldObject, FieldArray:
		return e.jsonText(dst, key, r, tok, t)
	case FieldObjectID:
		if tok.kind != '"' || tok.escaped {
			return nil, false
		}
		id, err := primitive.ObjectIDFromHex(tok.text)
		if err != nil {
			return nil, false
		}
		return bsoncore.AppendObjectIDElement(dst, key, id), true
	case FieldString:
		switch tok.kind {
		case '"':
			return appendString(dst, key, tok)
		case '0':
			return bsoncore.AppendStringElement(dst, key, tok.text), true
		case 't', 'f':
			return bsoncore.AppendStringElement(dst, key, strconv.FormatBool(tok.kind == 't')), true
		}
	}
	return nil, false // decimals, and values restore refuses
}

// token is one JSON value as read: kind is '"' for a string, whose text is
// what lies between its quotes, '0' for a number, 't', 'f' or 'n' for the
// literals, and '{' or '[' for a container, which readToken leaves unread
// for its reader to read next.
type token struct {
	kind    byte
	text    string
	escaped bool
	ascii   bool
}

func readToken(r *jsonReader) (token, bool) {
	switch c := r.peek(); c {
	case '"':
		s, escaped, ascii, ok := r.scanString()
		return token{kind: '"', text: s, escaped: escaped, ascii: ascii}, ok
	case '{', '[':
		return token{kind: c}, true
	case 't':
		return token{kind: 't'}, r.literal("true")
	case 'f':
		return token{kind: 'f'}, r.literal("false")
	case 'n':
		return token{kind: 'n'}, r.literal("null")
	}
	n, ok := r.number()
	return token{kind: '0', text: n}, ok
}

// plain appends the value of tok keeping its JSON type, as plain does; a
// container holds level depth.
func (e *directEncoder) plain(dst []byte, key string, r *jsonReader, tok token, depth int) ([]byte, bool) {
	switch tok.kind {
	case '"':
		return appendString(dst, key, tok)
	case '0':
		return appendPlainNumber(dst, key, tok.text)
	case 't', 'f':
		return bsoncore.AppendBooleanElement(dst, key, tok.kind == 't'), true
	case 'n':
		return bsoncore.AppendNullElement(dst, key), true
	case '{':
		return e.object(dst, key, r, depth)
	case '[':
		return e.array(dst, key, r, depth)
	}
	return nil, false
}

// maxDirectObjectDepth is the deepest level at which the direct route
// writes an object. object reads an object's members before it writes
// them in key order, and so reads what an object holds once more for each
// object around it: at 60 levels, 1 MB of data took four to a hundred
// times as long as the long route, which reads it once. Rows nest far
// less.
const maxDirectObjectDepth = 8

// object appends the object at the reader as an embedded document, its
// keys in order as plainObject orders them.
func (e *directEncoder) object(dst []byte, key string, r *jsonReader, depth int) ([]byte, bool) {
	if !e.enter(depth) || depth > maxDirectObjectDepth {
		return nil, false
	}
	objStart := r.i
	if !r.skip(0) {
		return nil, false
	}
	text := r.s[objStart:r.i]

	var stack [maxStackMembers]member
	members, ok := readMembers(stack[:0], text)
	if !ok || !sortMembers(members) {
		return nil, false
	}
	start, dst := bsoncore.AppendDocumentElementStart(dst, key)
	for _, m := range members {
		if !e.name(m.key) {
			return nil, false
		}
		vr := jsonReader{s: text, i: m.value, stop: len(text)}
		if dst, ok = e.plain(dst, m.key, &vr, m.tok, depth+1); !ok {
			return nil, false
		}
	}
	dst, err := bsoncore.AppendDocumentEnd(dst, start)
	return dst, err == nil
}

// array appends the array at the reader.
func (e *directEncoder) array(dst []byte, key string, r *jsonReader, depth int) ([]byte, bool) {
	if !e.enter(depth) || !r.next('[') {
		return nil, false
	}
	start, dst := bsoncore.AppendArrayElementStart(dst, key)
	var index [20]byte
	if !r.next(']') {
		for i := 0; ; i++ {
			tok, ok := readToken(r)
			if !ok {
				return nil, false
			}
			k := strconv.AppendInt(index[:0], int64(i), 10)
			if dst, ok = e.plain(dst, unsafeText(k), r, tok, depth+1); !ok {
				return nil, false
			}
			if !r.next(',') {
				if !r.next(']') {
					return nil, false
				}
				break
			}
		}
	}
	dst, err := bsoncore.AppendArrayEnd(dst, start)
	return dst, err == nil
}

// jsonText appends an object or array that SQLite kept as JSON text, or
// that came as JSON, as toJSONKind restores it.
func (e *directEncoder) jsonText(dst []byte, key string, r *jsonReader, tok token, t FieldType) ([]byte, bool) {
	want := byte('{')
	if t == FieldArray {
		want = '['
	}
	if tok.kind == want {
		return e.plain(dst, key, r, tok, 2)
	}
	if tok.kind != '"' {
		return nil, false
	}

	text := tok.text
	if tok.escaped {
		var ok bool
		if text, ok = unescapeText(text); !ok {
			return nil, false
		}
	}
	tr := jsonReader{s: text, stop: len(text)}
	inner, ok := readToken(&tr)
	if !ok || inner.kind != want {
		return nil, false
	}
	if dst, ok = e.plain(dst, key, &tr, inner, 2); !ok {
		return nil, false
	}
	tr.ws()
	return dst, tr.i == len(text)
}

// unescapeText decodes the escapes of s, JSON text kept in a string; it
// gives up on a lone surrogate, which plan refuses.
func unescapeText(s string) (string, bool) {
	b, ok := appendUnquoted(make([]byte, 0, len(s)), s, false)
	return unsafeText(b), ok
}

// appendString appends the string tok; its text is valid UTF-8, which
// checkOp saw to for the op and appendUnquoted for JSON text.
func appendString(dst []byte, key string, tok token) ([]byte, bool) {
	if !tok.escaped {
		if !tok.ascii && !utf8.ValidString(tok.text) {
			return nil, false
		}
		return bsoncore.AppendStringElement(dst, key, tok.text), true
	}
	dst = bsoncore.AppendHeader(dst, bsontype.String, key)
	at := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst, ok := appendUnquoted(dst, tok.text, false)
	if !ok {
		return nil, false
	}
	dst = append(dst, 0)
	n := len(dst) - at - 4
	dst[at], dst[at+1], dst[at+2], dst[at+3] = byte(n), byte(n>>8), byte(n>>16), byte(n>>24)
	return dst, true
}

// appendPlainNumber appends a JSON number as plainNumber restores it:
// int32, int64 or double. Integers beyond int64, which become decimals,
// are left to plan.
func appendPlainNumber(dst []byte, key, n string) ([]byte, bool) {
	if !strings.ContainsAny(n, ".eE") {
		i, err := strconv.ParseInt(n, 10, 64)
		if err != nil {
			return nil, false
		}
		if i >= math.MinInt32 && i <= math.MaxInt32 {
			return bsoncore.AppendInt32Element(dst, key, int32(i)), true
		}
		return bsoncore.AppendInt64Element(dst, key, i), true
	}
	return appendFloat(dst, key, n)
}

// appendFloat appends the number text n, which matches numberText, as a
// double, as finiteFloat reads it.
func appendFloat(dst []byte, key, n string) ([]byte, bool) {
	f, err := strconv.ParseFloat(n, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, false
	}
	return bsoncore.AppendDoubleElement(dst, key, f), true
}

// plainText returns the text of a string token without escapes, with the
// white space around it trimmed, as the restorers read text.
func plainText(tok token) (string, bool) {
	if tok.kind != '"' || tok.escaped {
		return "", false
	}
	return strings.TrimSpace(tok.text), true
}

func appendBool(dst []byte, key string, tok token) ([]byte, bool) {
	var s string
	switch tok.kind {
	case 't', 'f':
		return bsoncore.AppendBooleanElement(dst, key, tok.kind == 't'), true
	case '0':
		s = tok.text
	case '"':
		var ok bool
		if s, ok = plainText(tok); !ok || !isASCII(s) {
			return nil, false
		}
	default:
		return nil, false
	}
	switch {
	case s == "1" || s == "1.0" || strings.EqualFold(s, "true"):
		return bsoncore.AppendBooleanElement(dst, key, true), true
	case s == "0" || s == "0.0" || strings.EqualFold(s, "false"):
		return bsoncore.AppendBooleanElement(dst, key, false), true
	}
	return nil, false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func appendDate(dst []byte, key string, tok token) ([]byte, bool) {
	var t time.Time
	switch tok.kind {
	case '"':
		s, ok := plainText(tok)
		if !ok {
			return nil, false
		}
		if t, ok = sqliteTime(s); ok {
			t = t.Truncate(time.Millisecond)
			break
		}
		if !numberText.MatchString(s) {
			d, err := parseDate(s)
			if err != nil {
				return nil, false
			}
			t = d
			break
		}
		ms, err := exactInt(s, 64)
		if err != nil {
			return nil, false
		}
		t = time.UnixMilli(ms).UTC()
	case '0':
		ms, err := exactInt(tok.text, 64)
		if err != nil {
			return nil, false
		}
		t = time.UnixMilli(ms).UTC()
	default:
		return nil, false
	}
	return bsoncore.AppendDateTimeElement(dst, key, int64(primitive.NewDateTimeFromTime(t))), true
}

func appendInt(dst []byte, key string, tok token, t FieldType) ([]byte, bool) {
	var s string
	switch tok.kind {
	case '0':
		s = tok.text
	case '"':
		var ok bool
		if s, ok = plainText(tok); !ok {
			return nil, false
		}
	case 't':
		s = "1"
	case 'f':
		s = "0"
	default:
		return nil, false
	}
	if t == FieldInt {
		i, err := exactInt(s, 32)
		if err != nil {
			return nil, false
		}
		return bsoncore.AppendInt32Element(dst, key, int32(i)), true
	}
	i, err := exactInt(s, 64)
	if err != nil {
		return nil, false
	}
	return bsoncore.AppendInt64Element(dst, key, i), true
}

func appendDouble(dst []byte, key string, tok token) ([]byte, bool) {
	switch tok.kind {
	case '0':
		return appendFloat(dst, key, tok.text)
	case '"':
		s, ok := plainText(tok)
		if !ok || !numberText.MatchString(s) {
			return nil, false
		}
		return appendFloat(dst, key, s)
	}
	return nil, false
}
