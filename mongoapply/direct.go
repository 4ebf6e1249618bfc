package mongoapply

import (
	"slices"
	"strings"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/bsontype"
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
	if op.tooManyValues || len(op.Raw) >= measuredOpBytes || rules.OwnerField != "" && userID == "" {
		return write{}, false // refused, or measured by checkSize
	}
	if _, ok := a.cfg.Hooks.Lookup(op.Table); ok {
		return write{}, false
	}

	dst := *arena
	if size := statementSize(op, rules, userID); cap(dst)-len(dst) < size {
		dst = make([]byte, 0, max(size, 2*cap(dst)))
	}
	w, dst, ok := a.appendStatement(dst, userID, op, rules)
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
func (a *Applier) appendStatement(dst []byte, userID string, op *Op, rules Collection) (write, []byte, bool) {
	e := directEncoder{limits: a.cfg.Limits, rules: rules}
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
		default: // a merging PUT with nothing to set: $setOnInsert its _id
			d = d[:int(set)-len("$set")-2] // drop the empty $set's header
			var only int32
			only, d = bsoncore.AppendDocumentElementStart(d, "$setOnInsert")
			d = append(d, d[idElem:idEnd]...)
			d, _ = bsoncore.AppendDocumentEnd(d, only)
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
