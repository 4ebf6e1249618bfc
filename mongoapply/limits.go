package mongoapply

import (
	"bytes"
	"encoding/json"
	"fmt"
	"iter"
	"maps"
	"slices"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/bson"
)

// Default limits of an op, used where Limits leaves a field zero.
const (
	// DefaultMaxDepth is generous: the PowerSync Service itself refuses to
	// replicate documents nested deeper than 20 levels.
	DefaultMaxDepth = 64
	// DefaultMaxIDBytes keeps a string _id under the 1024-byte index key
	// limit of MongoDB before 4.2, with room for the key's own bytes.
	DefaultMaxIDBytes = 1000
	// DefaultMaxFieldBytes is far above any column name.
	DefaultMaxFieldBytes = 1024
)

// MaxDepthLimit is the most a depth limit may be: MongoDB stores no
// document nested deeper than 100 levels.
const MaxDepthLimit = 100

// Limits bound what one op may hold. An op over a limit is refused on its
// own, with its unit, and kept in the dead-letter collection: the request
// was read whole and the rest of the client's queue goes on. A zero field
// means its default.
type Limits struct {
	// MaxDepth is how deeply an op's data may nest. The data object is
	// level 1 and each object or array in it adds one, counted after types
	// are restored, so JSON text kept in an object or array field counts.
	MaxDepth int
	// MaxIDBytes is the longest row id, in bytes.
	MaxIDBytes int
	// MaxFieldBytes is the longest field name, in bytes, at any depth.
	MaxFieldBytes int
}

// withDefaults fills the zero fields of l with their defaults.
func (l Limits) withDefaults() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxIDBytes <= 0 {
		l.MaxIDBytes = DefaultMaxIDBytes
	}
	if l.MaxFieldBytes <= 0 {
		l.MaxFieldBytes = DefaultMaxFieldBytes
	}
	return l
}

// checkOp refuses an op whose id is too long or whose JSON holds a string
// that decoding would change: text that is not valid UTF-8, or a lone
// UTF-16 surrogate escape. encoding/json turns both into U+FFFD, which
// would store something the client never sent, under a name or id it never
// used. It runs first, before anything reads the decoded op.
func (l Limits) checkOp(op *Op) *refusal {
	if at, problem := textProblem(op.Raw); problem != "" {
		msg := fmt.Sprintf("the op's string at byte %d %s", at, problem)
		return &refusal{code: CodeInvalidUTF8, message: msg}
	}
	if l.MaxIDBytes > 0 && len(op.ID) > l.MaxIDBytes {
		msg := fmt.Sprintf("id is %d bytes, longer than the limit of %d", len(op.ID), l.MaxIDBytes)
		return &refusal{code: CodeInvalidID, message: msg}
	}
	return nil
}

// checkData refuses restored data that nests too deeply or has a field
// name that is too long, and JSON text of an object or array field that
// escapes a lone surrogate. data is what restoreData made of sent, the
// op's data as decoded.
func (l Limits) checkData(rules Collection, sent, data map[string]any) *refusal {
	// Map order is cheap; a refused op is walked again in key order, so
	// that its message does not change from one try to the next.
	if l.firstProblem(rules, sent, data, maps.Keys(data)) == nil {
		return nil
	}
	return l.firstProblem(rules, sent, data, slices.Values(sortedKeys(data)))
}

// firstProblem walks the fields of data in the order of keys and returns
// the first limit one breaks.
func (l Limits) firstProblem(
	rules Collection, sent, data map[string]any, keys iter.Seq[string],
) *refusal {
	w := limitWalk{limits: l}
	for k := range keys {
		if r := jsonTextProblem(k, sent[k], rules.Fields[k]); r != nil {
			return r
		}
		if !w.name(k) {
			break
		}
		if w.value(data[k], 2); w.refusal != nil {
			break
		}
	}
	return w.refusal
}

// jsonTextProblem refuses the JSON text of an object or array field that
// escapes a lone surrogate, which decoding the text would change.
func jsonTextProblem(field string, sent any, t FieldType) *refusal {
	text, ok := sent.(string)
	if !ok || (t != FieldObject && t != FieldArray) {
		return nil
	}
	if at, problem := textProblem([]byte(text)); problem != "" {
		msg := fmt.Sprintf("field %s: the JSON text's string at byte %d %s",
			quoteShort(field), at, problem)
		return &refusal{code: CodeInvalidUTF8, message: msg}
	}
	return nil
}

// limitWalk walks restored data and keeps the first limit it breaks.
type limitWalk struct {
	limits  Limits
	refusal *refusal
}

// value walks v, found at level depth - 1, and so holding level depth.
func (w *limitWalk) value(v any, depth int) {
	switch v := v.(type) {
	case map[string]any:
		w.object(v, depth)
	case bson.D:
		w.document(v, depth)
	case bson.A:
		w.array(v, depth)
	case []any:
		w.array(v, depth)
	}
}

func (w *limitWalk) object(m map[string]any, depth int) {
	if !w.enter(depth) {
		return
	}
	for _, k := range sortedKeys(m) {
		if !w.name(k) {
			return
		}
		w.value(m[k], depth+1)
	}
}

func (w *limitWalk) document(d bson.D, depth int) {
	if !w.enter(depth) {
		return
	}
	for _, e := range d {
		if !w.name(e.Key) {
			return
		}
		w.value(e.Value, depth+1)
	}
}

func (w *limitWalk) array(a []any, depth int) {
	if !w.enter(depth) {
		return
	}
	for _, e := range a {
		w.value(e, depth+1)
	}
}

// enter reports whether the walk goes on into a container at depth.
func (w *limitWalk) enter(depth int) bool {
	if w.refusal != nil {
		return false
	}
	if max := w.limits.MaxDepth; max > 0 && depth > max {
		msg := fmt.Sprintf("the data nests deeper than the limit of %d levels", max)
		w.refusal = &refusal{code: CodeDocumentTooDeep, message: msg}
		return false
	}
	return true
}

// name reports whether the walk goes on past the field name k.
func (w *limitWalk) name(k string) bool {
	if w.refusal != nil {
		return false
	}
	if max := w.limits.MaxFieldBytes; max > 0 && len(k) > max {
		msg := fmt.Sprintf("field name %s is %d bytes, longer than the limit of %d",
			quoteShort(k), len(k), max)
		w.refusal = &refusal{code: CodeInvalidField, message: msg}
		return false
	}
	return true
}

// textProblem finds the first JSON string in raw that decoding would
// change, and returns its offset and what is wrong with it, or "". raw is
// JSON that encoding/json accepted; outside strings, such JSON is ASCII.
func textProblem(raw []byte) (int, string) {
	// Almost every op is valid UTF-8 and escapes no surrogate.
	if utf8.Valid(raw) && !bytes.Contains(raw, []byte(`\u`)) {
		return 0, ""
	}

	start := -1 // of the string being read, or -1 outside strings
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case start < 0:
			if c == '"' {
				start = i
			}
		case c == '"':
			start = -1
		case c == '\\':
			n, ok := escapeLength(raw[i:])
			if !ok {
				return start, "escapes a lone UTF-16 surrogate"
			}
			i += n - 1
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError && size <= 1 {
				return start, "is not valid UTF-8"
			}
			i += size - 1
		}
	}
	return 0, ""
}

// escapeLength returns the length of the escape that b starts with, and
// false for a \u escape of a surrogate that is not half of a pair.
func escapeLength(b []byte) (int, bool) {
	if len(b) < 6 || b[1] != 'u' {
		return 2, true
	}
	r := hex4(b[2:6])
	switch {
	case r < 0xD800 || r > 0xDFFF:
		return 6, true
	case r >= 0xDC00: // a low surrogate with no high one before it
		return 6, false
	case len(b) >= 12 && b[6] == '\\' && b[7] == 'u':
		if low := hex4(b[8:12]); low >= 0xDC00 && low <= 0xDFFF {
			return 12, true
		}
	}
	return 6, false
}

// hex4 reads four hex digits, or returns -1.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		d, ok := hexDigit(c)
		if !ok {
			return -1
		}
		r = r<<4 | rune(d)
	}
	return r
}

// CheckOpCount refuses a body {"batch": [...]} whose batch holds more than
// limit ops, before anything of it is decoded: decoding is the work a
// limit on ops saves. Where the body is not such JSON it returns nil and
// leaves the complaint to ParseBatch. An error wraps ErrInvalidRequest and
// names the first op past the limit.
func CheckOpCount(body []byte, limit int) error {
	if limit <= 0 {
		return nil
	}
	if countOps(body, limit) > limit {
		return tooManyOps(limit)
	}
	return nil
}

// tooManyOps refuses a batch of more than limit ops.
func tooManyOps(limit int) error {
	return invalidf("op %d: the batch holds more than %d ops, the most one request may carry; "+
		"send the ops in smaller batches", limit, limit)
}

// countOps counts the elements of the "batch" array of the JSON object in
// body, and stops once the count passes limit. With several "batch" keys
// it counts the largest array (encoding/json would decode the last).
func countOps(body []byte, limit int) int {
	var (
		depth             int
		inString, escaped bool
		keyStart          = -1 // of the string being read, when at depth 1
		isBatch           bool // the value being read at depth 1 is a batch's
		counting          bool // inside a batch array
		n, most           int
	)
	for i := 0; i < len(body); i++ {
		c := body[i]
		if counting && depth == 2 && n == 0 && !inString && !isSpace(c) && c != ']' {
			n = 1 // the first element
		}
		switch {
		case escaped:
			escaped = false
		case inString:
			if c == '\\' {
				escaped = true
			} else if c == '"' {
				inString = false
				if keyStart >= 0 {
					isBatch = isBatchKey(body[keyStart : i+1])
				}
			} else {
				i += plainRun(body[i+1:]) // nothing in them changes the count
			}
		case c == '"':
			inString, keyStart = true, -1
			if depth == 1 {
				keyStart = i
			}
		case c == '{' || c == '[':
			depth++
			if depth == 2 && c == '[' && isBatch {
				counting, n = true, 0
			}
		case c == '}' || c == ']':
			if depth == 2 && counting {
				counting, most = false, max(most, n)
			}
			depth--
		case c == ',' && depth == 1:
			isBatch = false
		case c == ',' && depth == 2 && counting:
			if n++; n > limit {
				return n
			}
		}
	}
	return most
}

// plainRun returns how many bytes b starts with that are neither a quote
// nor a backslash: most of a string, passed over in two searches rather
// than byte by byte.
func plainRun(b []byte) int {
	end := bytes.IndexByte(b, '"')
	if end < 0 {
		end = len(b)
	}
	if esc := bytes.IndexByte(b[:end], '\\'); esc >= 0 {
		return esc
	}
	return end
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// isBatchKey reports whether the JSON string quoted is "batch", with its
// escapes decoded as encoding/json decodes them.
func isBatchKey(quoted []byte) bool {
	if !bytes.Contains(quoted, []byte{'\\'}) {
		return string(quoted) == `"batch"`
	}
	var s string
	return json.Unmarshal(quoted, &s) == nil && s == "batch"
}
