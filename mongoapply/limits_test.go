package mongoapply

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
)

// nested returns a JSON object nested depth levels deep: {"a":{"a":...{}}}.
func nested(depth int) string {
	return strings.Repeat(`{"a":`, depth-1) + `{}` + strings.Repeat(`}`, depth-1)
}

// TestLimitsAtAndPast applies each op limit at the limit, where the op is
// written, and one past it, where the op is refused with its code and kept
// in the dead-letter collection.
func TestLimitsAtAndPast(t *testing.T) {
	limits := Limits{MaxDepth: 5, MaxIDBytes: 40, MaxFieldBytes: 30}
	tx := 0
	put := func(id, v string) string { // each op its own unit
		tx++
		return fmt.Sprintf(`{"op":"PUT","table":"t","id":%q,"tx_id":%d,"data":{"v":%s}}`, id, tx, v)
	}
	quoted := func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }
	tests := []struct {
		name     string
		at, past string // the ops at and one past the limit
		fields   map[string]FieldType
		code     string
		message  string
	}{
		{
			name: "depth of objects", at: put("at", nested(4)), past: put("past", nested(5)),
			code: CodeDocumentTooDeep, message: "nests deeper than the limit of 5 levels",
		},
		{
			// FerretDB holds no arrays in arrays.
			name: "depth of arrays", at: put("at", `[{"a":[{}]}]`), past: put("past", `[{"a":[{"a":[]}]}]`),
			code: CodeDocumentTooDeep, message: "limit of 5 levels",
		},
		{
			name: "depth of JSON text in an object field", fields: map[string]FieldType{"v": FieldObject},
			at: put("at", quoted(nested(4))), past: put("past", quoted(nested(5))),
			code: CodeDocumentTooDeep, message: "limit of 5 levels",
		},
		{
			name: "field name", at: put("at", `{"`+strings.Repeat("f", 30)+`":1}`),
			past: put("past", `{"`+strings.Repeat("f", 31)+`":1}`),
			code: CodeInvalidField, message: "is 31 bytes, longer than the limit of 30",
		},
		{
			name: "field name in two-byte runes", at: put("at", `{"`+strings.Repeat("é", 15)+`":1}`),
			past: put("past", `{"`+strings.Repeat("é", 15)+`x":1}`),
			code: CodeInvalidField, message: "is 31 bytes",
		},
		{
			name: "field name in JSON text", fields: map[string]FieldType{"v": FieldArray},
			at:   put("at", quoted(`[{"`+strings.Repeat("f", 30)+`":1}]`)),
			past: put("past", quoted(`[{"`+strings.Repeat("f", 31)+`":1}]`)),
			code: CodeInvalidField, message: "longer than the limit of 30",
		},
		{
			name: "id", at: put(strings.Repeat("i", 40), "1"), past: put(strings.Repeat("i", 41), "1"),
			code: CodeInvalidID, message: "id is 41 bytes, longer than the limit of 40",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Config{Limits: limits, Collections: map[string]Collection{"t": {Fields: tt.fields}}})
			res := f.apply("u", `{"batch":[`+tt.at+`,`+tt.past+`]}`)
			if res.Applied != 1 || len(res.Rejected) != 1 {
				t.Fatalf("result = %+v, want the op at the limit applied and the one past it rejected", res)
			}
			rej := res.Rejected[0]
			if rej.Index != 1 || rej.Code != tt.code || !strings.Contains(rej.Message, tt.message) {
				t.Errorf("rejection = %+v, want op 1 with %s and %q", rej, tt.code, tt.message)
			}
			if n := f.count("t"); n != 1 {
				t.Errorf("documents = %d, want the one at the limit", n)
			}
			if dl := f.deadLetters(); len(dl) != 1 || dl[0]["code"] != tt.code {
				t.Errorf("dead letters = %v, want one with %s", dl, tt.code)
			}
		})
	}
}

// TestInvalidTextIsRefusedNotMangled sends strings that decoding would
// turn into U+FFFD: each op is refused, and the dead letter keeps its bytes.
func TestInvalidTextIsRefusedNotMangled(t *testing.T) {
	tests := []struct {
		name string
		op   string
		at   string // the message's offset
	}{
		{"invalid byte in a value", `{"op":"PUT","table":"t","id":"a","data":{"v":"x` + "\xff" + `"}}`, "byte 45"},
		{"invalid byte in the table", `{"op":"PUT","table":"t` + "\xfe" + `","id":"a","data":{}}`, "byte 20"},
		{"invalid byte in a key", `{"op":"PUT","table":"t","id":"a","data":{"k` + "\xc3" + `":1}}`, "byte 41"},
		{"lone high surrogate", `{"op":"PUT","table":"t","id":"a","data":{"v":"\ud800"}}`, "lone UTF-16 surrogate"},
		{"lone low surrogate in the id", `{"op":"DELETE","table":"t","id":"\udc00x"}`, "lone UTF-16 surrogate"},
		{"high surrogate then a letter", `{"op":"PUT","table":"t","id":"a","data":{"v":"\ud83dx"}}`, "lone"},
		{"overlong encoding", `{"op":"PUT","table":"t","id":"a","data":{"v":"` + "\xc0\xaf" + `"}}`, "not valid UTF-8"},
		{"surrogate encoded as UTF-8", `{"op":"PUT","table":"t","id":"a","data":{"v":"` + "\xed\xa0\x80" + `"}}`, "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Config{})
			res := f.apply("u", `{"batch":[`+tt.op+`]}`)
			if res.Applied != 0 || len(res.Rejected) != 1 || res.Rejected[0].Code != CodeInvalidUTF8 ||
				!strings.Contains(res.Rejected[0].Message, tt.at) {
				t.Fatalf("result = %+v, want one %s rejection with %q", res, CodeInvalidUTF8, tt.at)
			}
			if n := f.count("t") + f.count("t\ufffd"); n != 0 {
				t.Errorf("documents = %d, want none", n)
			}
			dl := f.deadLetters()
			if len(dl) != 1 {
				t.Fatalf("dead letters = %d, want 1", len(dl))
			}
			var kept []byte
			switch v := dl[0]["ops"].(bson.A)[0].(type) {
			case string:
				kept = []byte(v)
			case primitive.Binary:
				kept = v.Data
			}
			if string(kept) != tt.op {
				t.Errorf("dead letter op = %q, want the op as sent, %q", kept, tt.op)
			}
		})
	}
}

func TestValidTextIsAccepted(t *testing.T) {
	f := newFixture(t, Config{})
	res := f.apply("u", `{"batch":[{"op":"PUT","table":"t","id":"a","data":{
		"pair":"\ud83d\ude00","emoji":"😀","escaped":"\\ud800 is text","bmp":"\u00e9\uffff"}}]}`)
	if res.Applied != 1 {
		t.Fatalf("result = %+v, want applied", res)
	}
	want := bson.M{"_id": "a", "pair": "😀", "emoji": "😀", "escaped": `\ud800 is text`, "bmp": "é\uffff"}
	if got := f.doc("t", "a"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("document = %v, want %v", got, want)
	}
}

func TestTextProblem(t *testing.T) {
	tests := []struct {
		in   string
		at   int
		want string
	}{
		{`{"a":"b"}`, 0, ""},
		{`{"a":"\u0041\ud83d\ude00"}`, 0, ""},
		{`{"a":"\\ud800"}`, 0, ""},
		{`{"a":"\ud800"}`, 5, "escapes a lone UTF-16 surrogate"},
		{`{"a":"\ud800\u0041"}`, 5, "escapes a lone UTF-16 surrogate"},
		{`{"a":"\ude00\ud83d"}`, 5, "escapes a lone UTF-16 surrogate"},
		{`{"a":"\ud83d"}`, 5, "escapes a lone UTF-16 surrogate"},
		{`{"a":"x` + "\x80" + `"}`, 5, "is not valid UTF-8"},
		{`{"` + "\xff" + `":1}`, 1, "is not valid UTF-8"},
		{`"\u`, 0, ""}, // cut short: not JSON, nothing to find
	}
	for _, tt := range tests {
		at, got := textProblem([]byte(tt.in))
		if got != tt.want || (got != "" && at != tt.at) {
			t.Errorf("textProblem(%q) = %d, %q; want %d, %q", tt.in, at, got, tt.at, tt.want)
		}
	}
}

func TestCheckOpCount(t *testing.T) {
	ops := func(n int) string {
		ops := strings.Repeat(`{"op":"DELETE","table":"t","id":"1"},`, n)
		return `{"batch":[` + strings.TrimSuffix(ops, ",") + `]}`
	}
	tests := []struct {
		name  string
		body  string
		limit int
		ok    bool
	}{
		{"at the limit", ops(3), 3, true},
		{"one past the limit", ops(4), 3, false},
		{"empty batch", `{"batch":[]}`, 1, true},
		{"scalars count", `{"batch":[1,"a,b",[2,3],4]}`, 3, false},
		{"strings count", `{"batch":["a","b"]}`, 2, true},
		{"commas in strings do not count", `{"batch":[{"op":"a,b,c,d"}]}`, 1, true},
		{"nested arrays do not count", `{"batch":[{"data":{"x":[1,2,3,4,5]}}]}`, 1, true},
		{"other keys do not count", `{"other":[1,2,3,4],"batch":[1]}`, 1, true},
		{"escaped key", `{"b\u0061tch":[1,2]}`, 1, false},
		{"key with an escaped quote is not batch", `{"batch\"":[1,2]}`, 1, true},
		{"value \"batch\" is no key", `{"x":"batch","y":[1,2]}`, 1, true},
		{"largest of two batches", `{"batch":[1,2,3],"batch":[1]}`, 2, false},
		{"no limit", ops(5), 0, true},
		{"not JSON", `{"batch":[1,2,3`, 2, false},
		{"not JSON at all", `]]]}}},,,`, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckOpCount([]byte(tt.body), tt.limit)
			if tt.ok != (err == nil) {
				t.Fatalf("CheckOpCount(%s, %d) = %v, want ok %v", tt.body, tt.limit, err, tt.ok)
			}
			want := fmt.Sprintf("op %d: the batch holds more than %d ops", tt.limit, tt.limit)
			if err != nil && (!errors.Is(err, ErrInvalidRequest) || !strings.Contains(err.Error(), want)) {
				t.Errorf("CheckOpCount(%s) = %v, want ErrInvalidRequest with %q", tt.body, err, want)
			}
		})
	}
}

// TestLimitsFitTheStore writes an op at each default limit, and data at the
// highest depth limit allowed: the deployment must hold what the limits let
// through, or a client's write would fail there instead.
func TestLimitsFitTheStore(t *testing.T) {
	f := newFixture(t, Config{Limits: Limits{MaxDepth: MaxDepthLimit}})
	id := strings.Repeat("i", DefaultMaxIDBytes)
	field := strings.Repeat("f", DefaultMaxFieldBytes)
	body := fmt.Sprintf(`{"batch":[
		{"op":"PUT","table":"t","id":%q,"tx_id":1,"data":{%q:1}},
		{"op":"PUT","table":"t","id":"deep","tx_id":2,"data":{"v":%s}}]}`, id, field, nested(MaxDepthLimit-1))
	res := f.apply("u", body)
	if res.Applied != 2 {
		t.Fatalf("result = %+v, want both applied", res)
	}
	if doc := f.doc("t", id); doc[field] != int32(1) {
		t.Errorf("document with the longest id = %v, want its longest field", doc)
	}
	if doc := f.doc("t", "deep"); doc == nil {
		t.Errorf("document nested %d levels is missing", MaxDepthLimit)
	}
}

// BenchmarkLimitChecks measures what the limits add to a 100-op batch:
// checking each op's text and id. The op count adds nothing apart, since
// ParseBatchAtMost counts the ops as it decodes them; CheckOpCount, which
// counts a body the decoder gives up on, is measured as count-first.
func BenchmarkLimitChecks(b *testing.B) {
	body := todoBatch("sdk", 100, 0)
	ops, err := ParseBatch(body)
	if err != nil {
		b.Fatal(err)
	}
	l := Limits{}.withDefaults()
	b.Run("count-first", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if err := CheckOpCount(body, 10_000); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ops", func(b *testing.B) {
		for b.Loop() {
			for i := range ops {
				if r := l.checkOp(&ops[i]); r != nil {
					b.Fatal(r.message)
				}
			}
		}
	})
}
