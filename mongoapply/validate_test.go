package mongoapply

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"

	"github.com/psmongo/psmongo/devstore/devstoretest"
	"github.com/psmongo/psmongo/hooks"
)

func TestIDTypes(t *testing.T) {
	oid, _ := primitive.ObjectIDFromHex("65a1f0c2e4b0a1b2c3d4e5f6")
	uuid, _ := hex.DecodeString("11111111111141118111111111111111")
	tests := []struct {
		name   string
		idType IDType
		id     string
		want   any
	}{
		{"string", IDString, "65a1f0c2e4b0a1b2c3d4e5f6", "65a1f0c2e4b0a1b2c3d4e5f6"},
		{"objectid", IDObjectID, "65a1f0c2e4b0a1b2c3d4e5f6", oid},
		{"uuid", IDUUID, "11111111-1111-4111-8111-111111111111", primitive.Binary{Subtype: 4, Data: uuid}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Config{Collections: map[string]Collection{"lists": {IDType: tt.idType}}})
			for _, kind := range []string{"PUT", "PATCH"} {
				f.apply("", `{"batch":[{"op":"`+kind+`","table":"lists","id":"`+tt.id+`","data":{"id":"`+tt.id+`","name":"`+kind+`"}}]}`)
			}
			want := bson.M{"_id": tt.want, "name": "PATCH"}
			if diff := cmp.Diff(want, f.doc("lists", tt.want)); diff != "" {
				t.Errorf("after PUT and PATCH (-want +got):\n%s", diff)
			}

			f.apply("", `{"batch":[{"op":"DELETE","table":"lists","id":"`+tt.id+`"}]}`)
			if n := f.count("lists"); n != 0 {
				t.Errorf("documents after DELETE = %d, want 0", n)
			}
		})
	}
}

func TestInvalidIDIsRejected(t *testing.T) {
	f := newFixture(t, Config{Collections: map[string]Collection{
		"o": {IDType: IDObjectID}, "u": {IDType: IDUUID}}})
	res := f.apply("", `{"batch":[{"op":"PUT","table":"o","id":"nope","tx_id":1},{"op":"PUT","table":"u","id":"nope","tx_id":2}]}`)

	for i, r := range res.Rejected {
		if r.Code != CodeInvalidID {
			t.Errorf("rejection %d = %+v, want %s", i, r, CodeInvalidID)
		}
	}
	if len(res.Rejected) != 2 {
		t.Errorf("rejected %d ops, want 2", len(res.Rejected))
	}
}

func TestIDFieldsNeverStored(t *testing.T) {
	f := newFixture(t, Config{})
	f.apply("", `{"batch":[{"op":"PUT","table":"todos","id":"a","data":{"id":"a","_id":"evil","title":"x"}},
		{"op":"PATCH","table":"todos","id":"a","data":{"_id":"evil2","id":"b"}}]}`)

	if diff := cmp.Diff(bson.M{"_id": "a", "title": "x"}, f.doc("todos", "a")); diff != "" {
		t.Errorf("document (-want +got):\n%s", diff)
	}
}

func TestUnsafeFieldNamesAreRejected(t *testing.T) {
	tests := []struct {
		name  string
		field string // as JSON
		want  string
	}{
		{"operator", `"$where"`, "starts with $"},
		{"path", `"a.b"`, "contains a dot"},
		{"NUL byte", `"a\u0000b"`, "NUL byte"},
		{"nested operator", `"meta"`, "starts with $"},
		{"empty", `""`, "empty field name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Config{})
			value := `1`
			if tt.name == "nested operator" {
				value = `{"$gt":1}`
			}
			res := f.apply("u1", `{"batch":[{"op":"PUT","table":"todos","id":"a","data":{`+tt.field+`:`+value+`}}]}`)

			if len(res.Rejected) != 1 || !strings.Contains(res.Rejected[0].Message, tt.want) {
				t.Fatalf("result = %+v, want one rejection with %q", res, tt.want)
			}
			if code := res.Rejected[0].Code; code != CodeInvalidField {
				t.Errorf("code = %s, want %s", code, CodeInvalidField)
			}
			if n := f.count("todos"); n != 0 {
				t.Errorf("documents = %d, want 0", n)
			}
			if n := len(f.deadLetters()); n != 1 {
				t.Errorf("dead letters = %d, want 1", n)
			}
		})
	}
}

func TestCollectionRules(t *testing.T) {
	tests := []struct {
		name   string
		table  string
		reject bool // unlisted_collections: reject
		want   string
	}{
		{"unlisted allowed", "notes", false, ""},
		{"unlisted rejected", "notes", true, CodeUnknownCollection},
		{"listed under reject", "todos", true, ""},
		{"dead-letter collection", DefaultDeadLetter, false, CodeInvalidCollection},
		{"system collection", "system.users", false, CodeInvalidCollection},
		{"PowerSync collection", "_powersync_checkpoints", false, CodeInvalidCollection},
		{"dollar in name", "a$b", false, CodeInvalidCollection},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Config{RejectUnlisted: tt.reject, Collections: map[string]Collection{"todos": {}}})
			res := f.apply("", `{"batch":[{"op":"PUT","type":"`+tt.table+`","id":"a","data":{"x":1}}]}`)

			got := ""
			if len(res.Rejected) > 0 {
				got = res.Rejected[0].Code
			}
			if got != tt.want {
				t.Errorf("PUT on %q: code %q, want %q (%+v)", tt.table, got, tt.want, res)
			}
		})
	}
}

func TestTypesAreRestoredInMongo(t *testing.T) {
	f := newFixture(t, Config{Collections: map[string]Collection{"todos": {Fields: map[string]FieldType{
		"done": FieldBool, "at": FieldDate, "n": FieldLong, "tags": FieldArray, "meta": FieldObject,
	}}}})
	f.apply("", `{"batch":[{"op":"PUT","table":"todos","id":"a","data":{
		"done":1,"at":"2026-12-04 15:55:11","n":9007199254740993,"tags":"[\"x\"]","meta":"{\"k\":2}","raw":9007199254740993}}]}`)

	d := f.doc("todos", "a")
	want := bson.M{"_id": "a", "done": true, "at": primitive.DateTime(1796399711000),
		"n": int64(9007199254740993), "raw": int64(9007199254740993),
		"tags": bson.A{"x"}, "meta": bson.M{"k": int32(2)}}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Errorf("stored document (-want +got):\n%s", diff)
	}
}

func TestDecimal(t *testing.T) {
	cfg := Config{Collections: map[string]Collection{"todos": {Fields: map[string]FieldType{"price": FieldDecimal}}}}
	if devstoretest.Embedded() {
		f := newFixture(t, cfg)
		res := f.apply("", `{"batch":[{"op":"PUT","table":"todos","id":"a","data":{"price":"0.10"}}]}`)
		if len(res.Rejected) != 1 || res.Rejected[0].Code != CodeUnsupportedType {
			t.Errorf("decimal on the embedded store: %+v, want %s", res, CodeUnsupportedType)
		}
		t.Skip("the embedded store cannot hold Decimal128; set " + devstoretest.EnvURI + " to test the write")
	}

	f := newFixture(t, cfg)
	f.apply("", `{"batch":[{"op":"PUT","table":"todos","id":"a","data":{"price":"12345678901234567890.123456789"}}]}`)
	got := f.doc("todos", "a")["price"]
	if d, ok := got.(primitive.Decimal128); !ok || d.String() != "12345678901234567890.123456789" {
		t.Errorf("price = %v (%T), want the exact Decimal128", got, got)
	}
}

func TestHooks(t *testing.T) {
	reg := &hooks.Registry{}
	reg.Register("todos", func(ctx context.Context, op *hooks.Op) error {
		switch {
		case op.Kind == hooks.Put && op.Data["title"] == "":
			return hooks.Reject("EMPTY_TITLE", "title is empty")
		case op.Kind == hooks.Put:
			op.Data["checked_by"] = "hook"
		case op.ID == "boom":
			panic("hook bug")
		case op.ID == "secret":
			return errors.New("dial 10.1.2.3: connection refused")
		case op.ID == "chan":
			op.Data = map[string]any{"c": make(chan int)}
		}
		return nil
	})
	f := newFixture(t, Config{Hooks: reg})

	res := f.apply("", `{"batch":[{"op":"PUT","table":"todos","id":"a","data":{"title":"x"}}]}`)
	if res.Applied != 1 || f.doc("todos", "a")["checked_by"] != "hook" {
		t.Errorf("hook did not change the data: %+v, %v", res, f.doc("todos", "a"))
	}
	res = f.apply("", `{"batch":[{"op":"PUT","table":"todos","id":"b","data":{"title":""}}]}`)
	if len(res.Rejected) != 1 || res.Rejected[0].Code != "EMPTY_TITLE" {
		t.Errorf("hook rejection = %+v, want EMPTY_TITLE", res)
	}
	res = f.apply("", `{"batch":[{"op":"DELETE","table":"todos","id":"boom"}]}`)
	if len(res.Rejected) != 1 || res.Rejected[0].Code != CodeHookFailed {
		t.Errorf("panicking hook = %+v, want %s", res, CodeHookFailed)
	}
	res = f.apply("", `{"batch":[{"op":"DELETE","table":"todos","id":"secret"}]}`)
	if len(res.Rejected) != 1 || res.Rejected[0].Code != CodeHookFailed || strings.Contains(res.Rejected[0].Message, "10.1.2.3") {
		t.Errorf("failing hook = %+v, want %s without the error's text", res, CodeHookFailed)
	}
	res = f.apply("", `{"batch":[{"op":"PATCH","table":"todos","id":"chan","data":{"x":1}}]}`)
	if len(res.Rejected) != 1 || res.Rejected[0].Code != CodeHookFailed {
		t.Errorf("hook setting a value BSON cannot hold = %+v, want %s", res, CodeHookFailed)
	}
}

func TestOwnership(t *testing.T) {
	f := newFixture(t, Config{Collections: map[string]Collection{"todos": {OwnerField: "created_by"}}})
	f.apply("alice", `{"batch":[{"op":"PUT","table":"todos","id":"a","data":{"title":"mine","created_by":"mallory"}}]}`)
	if got := f.doc("todos", "a")["created_by"]; got != "alice" {
		t.Fatalf("owner after PUT = %v, want alice", got)
	}

	for _, op := range []string{
		`{"op":"PATCH","table":"todos","id":"a","data":{"title":"stolen"}}`,
		`{"op":"DELETE","table":"todos","id":"a"}`,
		`{"op":"PUT","table":"todos","id":"a","data":{"title":"taken"}}`,
	} {
		res := f.apply("bob", `{"batch":[`+op+`]}`)
		if len(res.Rejected) != 1 || res.Rejected[0].Code != CodeForbidden {
			t.Errorf("%s by bob = %+v, want FORBIDDEN", op, res)
		}
	}
	want := bson.M{"_id": "a", "title": "mine", "created_by": "alice"}
	if diff := cmp.Diff(want, f.doc("todos", "a")); diff != "" {
		t.Errorf("document after bob's attempts (-want +got):\n%s", diff)
	}
	for _, d := range f.deadLetters() {
		if d["user_id"] != "bob" {
			t.Errorf("dead letter user = %v, want bob", d["user_id"])
		}
	}

	res := f.apply("alice", `{"batch":[{"op":"PATCH","table":"todos","id":"a","data":{"created_by":"bob"}}]}`)
	if len(res.Rejected) != 1 || res.Rejected[0].Code != CodeForbidden {
		t.Errorf("handing a document over = %+v, want FORBIDDEN", res)
	}
}

func TestDocumentTooLargeIsRejected(t *testing.T) {
	f := newFixture(t, Config{})
	// 2.5 million zeros: 5 MB of JSON, over 20 MB as BSON.
	body := `{"batch":[{"op":"PUT","table":"big","id":"a","data":{"v":[0` + strings.Repeat(",0", 2_500_000) + `]}}]}`
	res := f.apply("u", body)

	if len(res.Rejected) != 1 || res.Rejected[0].Code != CodeDocumentTooLarge {
		t.Fatalf("result = %.300v, want DOCUMENT_TOO_LARGE", res)
	}
	if n := len(f.deadLetters()); n != 1 {
		t.Errorf("dead letters = %d, want 1", n)
	}
}

func TestCollectionNamesTheStoreRefuses(t *testing.T) {
	f := newFixture(t, Config{})
	names := []string{}
	if f.a.ferretDB {
		names = append(names, "_ferretdb_x", "_FerretDB_database_metadata", `"q"`, `a"`)
	}
	for _, name := range names {
		quoted, _ := json.Marshal(name)
		res := f.apply("u", `{"batch":[{"op":"PUT","table":`+string(quoted)+`,"id":"a","data":{}}]}`)
		if len(res.Rejected) != 1 || res.Rejected[0].Code != CodeInvalidCollection {
			t.Errorf("PUT on %.40q: %+v, want INVALID_COLLECTION", name, res)
		}
	}

	// A database name of 60 bytes leaves 194 for the collection.
	db := devstoretest.Client().Database(strings.Repeat("d", 60))
	if !devstoretest.Embedded() {
		t.Cleanup(func() { _ = db.Drop(context.Background()) })
	}
	a, err := New(t.Context(), db, Config{})
	if err != nil {
		t.Fatal(err)
	}
	ops, _ := ParseBatch([]byte(`{"batch":[{"op":"PUT","table":"` + strings.Repeat("c", 195) + `","id":"a"}]}`))
	res, err := a.Apply(t.Context(), "u", ops)
	if err != nil || len(res.Rejected) != 1 || !strings.Contains(res.Rejected[0].Message, "more than 255") {
		t.Errorf("PUT on a 195-byte name in a 60-byte database: %+v, %v; want INVALID_COLLECTION", res, err)
	}
}

// TestFieldNamesFerretDBCannotStore writes top-level field names with a
// quote, a backslash or a control character, which FerretDB writes into
// its JSON unescaped: it must refuse them, where MongoDB stores them, and
// a document must take writes after either. Nested names are escaped by
// FerretDB, and stored on both.
func TestFieldNamesFerretDBCannotStore(t *testing.T) {
	f := newFixture(t, Config{Collections: map[string]Collection{"merged": {Put: PutMerge}}})
	for i, name := range []string{`a\"b`, `a\\b`, `\u0001`, `a\nb`, `\t`, `\u001f`} { // as JSON text
		for _, op := range []string{`"op":"PUT","table":"todos"`, `"op":"PATCH","table":"todos"`, `"op":"PUT","table":"merged"`} {
			id := fmt.Sprint(i)
			f.apply("", `{"batch":[{"op":"PUT","table":"todos","id":"`+id+`","data":{"v":0}}]}`)
			res := f.apply("", `{"batch":[{`+op+`,"id":"`+id+`","data":{"`+name+`":1}}]}`)
			switch {
			case f.a.ferretDB && (len(res.Rejected) != 1 || res.Rejected[0].Code != CodeInvalidField):
				t.Errorf("%s of field %s on FerretDB: %+v, want INVALID_FIELD", op, name, res)
			case !f.a.ferretDB && res.Applied != 1:
				t.Errorf("%s of field %s: %+v, want it applied", op, name, res)
			}
			res = f.apply("", `{"batch":[{"op":"PUT","table":"todos","id":"`+id+`","data":{"o":{"`+name+`":1}}},`+
				`{"op":"PATCH","table":"todos","id":"`+id+`","data":{"v":2}},{"op":"DELETE","table":"todos","id":"`+id+`"}]}`)
			if res.Applied != 3 {
				t.Errorf("PUT with field o.%s, PATCH, DELETE after %s: %+v, want all applied", name, op, res)
			}
		}
	}
}

func TestTooManyValuesAreRefusedUndecoded(t *testing.T) {
	f := newFixture(t, Config{})
	body := `{"batch":[{"op":"PUT","table":"big","id":"a","data":{"v":[0` + strings.Repeat(",0", maxValues+1) + `]}}]}`
	res := f.apply("u", body)
	if len(res.Rejected) != 1 || res.Rejected[0].Code != CodeDocumentTooLarge || !strings.Contains(res.Rejected[0].Message, "values") {
		t.Errorf("result = %.300v, want DOCUMENT_TOO_LARGE for too many values", res)
	}
	if countValues([]byte(`{"a":"x,y\",z","b":[1,2]}`)) != 2 {
		t.Errorf("countValues counts commas inside strings")
	}
}
