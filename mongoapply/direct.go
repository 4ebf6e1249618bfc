package mongoapply

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/bsontype"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/x/bsonx/bsoncore"

	"github.com/psmongo/psmongo/hooks"
)

// planDirect plans the write of an op straight from the JSON text of its
// data to the BSON of its statement, restoring types as restore does, with
// no map or boxed value on the way. It takes the ops of collections
// without a hook whose every value it can restore, which is nearly all of
// them, and reports false for any other op and for anything plan would
// refuse or must measure. plan then takes its longer route through maps,
// which builds the same statement or says what is wrong; the differential
// tests hold the two routes to the same bytes.
//
// The statement is appended to *arena, which the statements of a unit
// share so that they cost one allocation rather than one each; the
// statements before it are never written again.
func (a *Applier) planDirect(userID string, op *Op, rules Collection, arena *[]byte) (write, bool) {
	if op.tooManyValues || len(op.Raw) >= 1<<20 || rules.OwnerField != "" && userID == "" {
		return write{}, false // refused, or measured by checkSize
	}
	if _, ok := a.cfg.Hooks.Lookup(op.Table); ok {
		return write{}, false
	}

	e := directEncoder{limits: a.cfg.Limits, rules: rules}
	dst := *arena
	if cap(dst)-len(dst) < statementSize(op, rules, userID) {
		dst = make([]byte, 0, max(statementSize(op, rules, userID), 2*cap(dst)))
	}
	w, dst, ok := a.appendStatement(dst, &e, userID, op, rules)
	if ok {
		*arena = dst
	}
	return w, ok
}

// statementSize is room enough for the statement of most ops.
func statementSize(op *Op, rules Collection, userID string) int {
	return 2*len(op.Data) + 2*len(op.ID) + len(rules.OwnerField) + len(userID) + 96
}

// appendStatement appends the statement of op to dst, whose bytes before
// len(dst) it leaves as they are, and returns the write, whose statement
// and id are in the new dst.
func (a *Applier) appendStatement(dst []byte, e *directEncoder, userID string, op *Op, rules Collection) (write, []byte, bool) {
	stmtStart := len(dst)
	start, dst := bsoncore.AppendDocumentStart(dst)

	// q: the filter, whose _id element the document repeats
	q, dst := bsoncore.AppendDocumentElementStart(dst, "q")
	dst, ok := appendID(dst, "_id", op.ID, rules.IDType)
	if !ok {
		return write{}, nil, false
	}
	idElem, idEnd := int(q)+4, len(dst) // the _id element: type, "_id", NUL, value
	if rules.OwnerField != "" && !a.ferretDB {
		dst = bsoncore.AppendStringElement(dst, rules.OwnerField, userID)
	}
	dst, _ = bsoncore.AppendDocumentEnd(dst, q)

	switch {
	case op.Kind == hooks.Delete:
		dst = bsoncore.AppendInt32Element(dst, "limit", 1)
	case op.Kind == hooks.Patch || rules.Put == PutMerge:
		u, d := bsoncore.AppendDocumentElementStart(dst, "u")
		set, d := bsoncore.AppendDocumentElementStart(d, "$set")
		fields := len(d)
		if d, ok = e.fields(d, op, userID); !ok {
			return write{}, nil, false
		}
		switch {
		case len(d) > fields:
			d, _ = bsoncore.AppendDocumentEnd(d, set)
		case op.Kind == hooks.Patch:
			// PowerSync sends empty PATCHes for no-op updates; the
			// filter stays in dst for the id to point into.
			return write{op: op, collection: op.Table, id: idOf(d, idElem, idEnd)}, d[:idEnd], true
		default: // a merging PUT with nothing to set
			d = d[:int(set)-len("$set")-2]
			only, d2 := bsoncore.AppendDocumentElementStart(d, "$setOnInsert")
			d2 = append(d2, d2[idElem:idEnd]...)
			d, _ = bsoncore.AppendDocumentEnd(d2, only)
		}
		dst, _ = bsoncore.AppendDocumentEnd(d, u)
	default:
		u, d := bsoncore.AppendDocumentElementStart(dst, "u")
		d = append(d, d[idElem:idEnd]...)
		if d, ok = e.fields(d, op, userID); !ok {
			return write{}, nil, false
		}
		dst, _ = bsoncore.AppendDocumentEnd(d, u)
	}
	if op.Kind == hooks.Put {
		dst = bsoncore.AppendBooleanElement(dst, "upsert", true)
	}
	dst, _ = bsoncore.AppendDocumentEnd(dst, start)
	stmt := dst[stmtStart:len(dst):len(dst)]
	return write{op: op, collection: op.Table, id: idOf(dst, idElem, idEnd), stmt: stmt}, dst, true
}

// idOf returns the value of the _id element at stmt[elem:end].
func idOf(stmt []byte, elem, end int) bson.RawValue {
	return bson.RawValue{Type: bsontype.Type(stmt[elem]), Value: stmt[elem+len("_id")+2 : end : end]}
}

// appendID appends the element key: the _id of the row id s under the
// collection's id type, as documentID gives it, or reports false.
func appendID(dst []byte, key, s string, t IDType) ([]byte, bool) {
	switch t {
	case IDObjectID:
		id, err := primitive.ObjectIDFromHex(s)
		if err != nil {
			return nil, false
		}
		return bsoncore.AppendObjectIDElement(dst, key, id), true
	case IDUUID:
		var b [16]byte
		if !uuidBytes(&b, s) {
			return nil, false
		}
		return bsoncore.AppendBinaryElement(dst, key, 4, b[:]), true
	}
	return bsoncore.AppendStringElement(dst, key, s), true
}

// uuidBytes reads a UUID as parseUUID does, into b.
func uuidBytes(b *[16]byte, s string) bool {
	if len(s) == 36 {
		if s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
			return false
		}
		s = s[:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	}
	if len(s) != 32 {
		return false
	}
	for i := range b {
		hi, ok1 := hexDigit(s[2*i])
		lo, ok2 := hexDigit(s[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		b[i] = hi<<4 | lo
	}
	return true
}

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

// directEncoder writes restored values as BSON straight from JSON text.
// Its methods report false where the op is to take plan's longer route.
type directEncoder struct {
	limits Limits
	rules  Collection
}

// member is a key of a JSON object and its value as first read.
type member struct {
	key   string
	value int   // offset of the value in the object's text; -1 for the owner a PUT sets
	tok   token // the value, read
}

// maxStackMembers is how many members of an object are sorted without a
// slice on the heap; a todo row has about ten columns.
const maxStackMembers = 24

// fields appends the fields of the op's data as the document's fields: in
// key order, without the row id, with their types restored, and with the
// owner that a PUT sets.
func (e *directEncoder) fields(dst []byte, op *Op, userID string) ([]byte, bool) {
	text := "{}"
	if op.Data != nil {
		text = unsafeText(op.Data)
	}
	var stack [maxStackMembers]member
	members, ok := readMembers(stack[:0], text)
	if !ok {
		return nil, false
	}
	owner := e.rules.OwnerField
	if owner != "" && op.Kind == hooks.Put && !slices.ContainsFunc(members, func(m member) bool { return m.key == owner }) {
		members = append(members, member{key: owner, value: -1})
	}
	if !sortMembers(members) {
		return nil, false // a key given twice
	}

	for _, m := range members {
		switch {
		case m.key == "id" || m.key == "_id":
			continue
		case m.value < 0:
			dst = bsoncore.AppendStringElement(dst, owner, userID)
			continue
		case m.key == owner && op.Kind == hooks.Patch:
			return nil, false // checkOwnerData decides
		case !e.name(m.key):
			return nil, false
		}
		r := jsonReader{s: text, i: m.value, stop: len(text)}
		mark := len(dst)
		if dst, ok = e.restored(dst, m.key, &r, m.tok, e.rules.Fields[m.key]); !ok {
			return nil, false
		}
		if m.key == owner {
			// A PUT's owner is the caller, whatever the client sent; what
			// it sent must still be a value the field can hold.
			dst = bsoncore.AppendStringElement(dst[:mark], owner, userID)
		}
	}
	return dst, true
}

// readMembers reads the keys of the JSON object text into members; it
// gives up on keys with escapes, which are rare enough to leave to plan.
func readMembers(members []member, text string) ([]member, bool) {
	r := jsonReader{s: text, stop: len(text)}
	if !r.next('{') {
		return nil, false
	}
	if r.next('}') {
		return members, true
	}
	for {
		r.ws()
		key, escaped, _, ok := r.scanString()
		if !ok || escaped || !r.next(':') {
			return nil, false
		}
		r.ws()
		m := member{key: key, value: r.i}
		if m.tok, ok = readToken(&r); !ok {
			return nil, false
		}
		if (m.tok.kind == '{' || m.tok.kind == '[') && !r.skip(0) {
			return nil, false
		}
		members = append(members, m)
		if !r.next(',') {
			return members, r.next('}')
		}
	}
}

// sortMembers sorts members by key, as sortedKeys orders a map's keys,
// and reports false if a key is given twice. It sorts in O(n log n): an
// object of a hundred thousand keys fits in an op's data, and insertion
// sort would take a minute of CPU time over it.
func sortMembers(members []member) bool {
	slices.SortFunc(members, func(a, b member) int { return strings.Compare(a.key, b.key) })
	for i := 1; i < len(members); i++ {
		if members[i].key == members[i-1].key {
			return false
		}
	}
	return true
}

// name reports whether a field name may be stored and is within the
// limit, as checkKey and the limit walk decide, in one pass over an ASCII
// name.
func (e *directEncoder) name(k string) bool {
	if k == "" || k[0] == '$' || e.limits.MaxFieldBytes > 0 && len(k) > e.limits.MaxFieldBytes {
		return false
	}
	for i := 0; i < len(k); i++ {
		switch c := k[i]; {
		case c == '.' || c == 0:
			return false
		case c >= utf8.RuneSelf:
			return checkKey(k) == nil
		}
	}
	return true
}

// enter reports whether a container at depth is within the limit.
func (e *directEncoder) enter(depth int) bool {
	return depth <= e.limits.MaxDepth || e.limits.MaxDepth <= 0 && depth <= MaxDepthLimit
}

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
