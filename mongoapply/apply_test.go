package mongoapply

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/psmongo/psmongo/devstore/devstoretest"
	"github.com/psmongo/psmongo/hooks"
)

// fixture is an Applier on a database of the test's own.
type fixture struct {
	t  *testing.T
	db *mongo.Database
	a  *Applier
}

func newFixture(t *testing.T, cfg Config) *fixture {
	t.Helper()
	db := devstoretest.Database(t)
	if cfg.Transactions == "" {
		cfg.Transactions = TxAuto
	}
	a, err := New(t.Context(), db, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &fixture{t: t, db: db, a: a}
}

// apply applies a batch written as JSON and fails the test on an error.
func (f *fixture) apply(user, body string) *Result {
	f.t.Helper()
	ops, err := ParseBatch([]byte(body))
	if err != nil {
		f.t.Fatalf("ParseBatch(%s): %v", body, err)
	}
	res, err := f.a.Apply(f.t.Context(), user, ops)
	if err != nil {
		f.t.Fatalf("Apply(%s): %v", body, err)
	}
	return res
}

// doc returns the document with the given _id, or nil.
func (f *fixture) doc(coll string, id any) bson.M {
	f.t.Helper()
	var m bson.M
	err := f.db.Collection(coll).FindOne(context.Background(), bson.D{{Key: "_id", Value: id}}).Decode(&m)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil
	}
	if err != nil {
		f.t.Fatalf("finding %v in %s: %v", id, coll, err)
	}
	return m
}

func (f *fixture) count(coll string) int64 {
	f.t.Helper()
	n, err := f.db.Collection(coll).CountDocuments(context.Background(), bson.D{})
	if err != nil {
		f.t.Fatalf("counting %s: %v", coll, err)
	}
	return n
}

func (f *fixture) deadLetters() []bson.M {
	f.t.Helper()
	cur, err := f.db.Collection(DefaultDeadLetter).Find(context.Background(), bson.D{})
	if err != nil {
		f.t.Fatalf("reading dead letters: %v", err)
	}
	var docs []bson.M
	if err := cur.All(context.Background(), &docs); err != nil {
		f.t.Fatalf("reading dead letters: %v", err)
	}
	return docs
}

func TestPutReplacesDocument(t *testing.T) {
	f := newFixture(t, Config{})
	f.apply("", `{"batch":[{"op":"PUT","table":"todos","id":"a","data":{"title":"x","done":1}}]}`)
	res := f.apply("", `{"batch":[{"op":"PUT","table":"todos","id":"a","data":{"title":"y"}}]}`)

	want := bson.M{"_id": "a", "title": "y"}
	if diff := cmp.Diff(want, f.doc("todos", "a")); diff != "" {
		t.Errorf("after two PUTs (-want +got):\n%s", diff)
	}
	if res.Applied != 1 || len(res.Rejected) != 0 {
		t.Errorf("result = %+v, want 1 applied", res)
	}
}

func TestPutTwiceIsIdempotent(t *testing.T) {
	f := newFixture(t, Config{})
	body := `{"batch":[{"op":"PUT","table":"todos","id":"a","data":{"title":"x"}}]}`
	f.apply("", body)
	f.apply("", body)

	if n := f.count("todos"); n != 1 {
		t.Errorf("documents after the same PUT twice = %d, want 1", n)
	}
	if diff := cmp.Diff(bson.M{"_id": "a", "title": "x"}, f.doc("todos", "a")); diff != "" {
		t.Errorf("document (-want +got):\n%s", diff)
	}
}

func TestPutMergeKeepsUnknownFields(t *testing.T) {
	f := newFixture(t, Config{Collections: map[string]Collection{"todos": {Put: PutMerge}}})
	if _, err := f.db.Collection("todos").InsertOne(t.Context(), bson.M{"_id": "a", "server_only": 1, "title": "old"}); err != nil {
		t.Fatal(err)
	}
	f.apply("", `{"batch":[{"op":"PUT","table":"todos","id":"a","data":{"title":"new"}}]}`)
	f.apply("", `{"batch":[{"op":"PUT","table":"todos","id":"b","data":{"title":"fresh"}}]}`)

	if diff := cmp.Diff(bson.M{"_id": "a", "server_only": int32(1), "title": "new"}, f.doc("todos", "a")); diff != "" {
		t.Errorf("merged document (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(bson.M{"_id": "b", "title": "fresh"}, f.doc("todos", "b")); diff != "" {
		t.Errorf("inserted document (-want +got):\n%s", diff)
	}
}

func TestPatchSetsFields(t *testing.T) {
	f := newFixture(t, Config{})
	f.apply("", `{"batch":[{"op":"PUT","table":"todos","id":"a","data":{"title":"x","done":0,"note":"n"}}]}`)
	res := f.apply("", `{"batch":[{"op":"PATCH","table":"todos","id":"a","data":{"done":1,"note":null}}]}`)

	want := bson.M{"_id": "a", "title": "x", "done": int32(1), "note": nil}
	if diff := cmp.Diff(want, f.doc("todos", "a")); diff != "" {
		t.Errorf("after PATCH (-want +got):\n%s", diff)
	}
	if res.Applied != 1 || len(res.Unmatched) != 0 {
		t.Errorf("result = %+v, want 1 applied, none unmatched", res)
	}
}

func TestPatchMatchingNothingIsReported(t *testing.T) {
	f := newFixture(t, Config{})
	res := f.apply("", `{"batch":[{"op_id":7,"op":"PATCH","type":"todos","id":"ghost","data":{"done":1}}]}`)

	want := &Result{Applied: 1, Rejected: []Rejection{},
		Unmatched: []OpRef{{Index: 0, OpID: []byte("7"), Table: "todos", ID: "ghost"}}}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	if n := f.count("todos"); n != 0 {
		t.Errorf("documents = %d, want 0: a PATCH must not upsert", n)
	}
}

func TestPatchAfterDeleteStaysDeleted(t *testing.T) {
	f := newFixture(t, Config{})
	f.apply("", `{"batch":[
		{"op":"PUT","table":"todos","id":"a","data":{"title":"x"}},
		{"op":"DELETE","table":"todos","id":"a"},
		{"op":"PATCH","table":"todos","id":"a","data":{"title":"y"}}]}`)

	if d := f.doc("todos", "a"); d != nil {
		t.Errorf("document after PUT, DELETE, PATCH = %v, want none", d)
	}
}

func TestDelete(t *testing.T) {
	f := newFixture(t, Config{})
	f.apply("", `{"batch":[{"op":"PUT","table":"todos","id":"a","data":{}}]}`)
	res := f.apply("", `{"batch":[{"op":"DELETE","table":"todos","id":"a"},{"op":"DELETE","table":"todos","id":"missing"}]}`)

	if d := f.doc("todos", "a"); d != nil {
		t.Errorf("document after DELETE = %v, want none", d)
	}
	if res.Applied != 2 || len(res.Rejected) != 0 {
		t.Errorf("result = %+v, want both DELETEs applied (a missing document is fine)", res)
	}
}

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

func TestUnitWithInvalidThirdOpWritesNothing(t *testing.T) {
	f := newFixture(t, Config{Collections: map[string]Collection{"todos": {Fields: map[string]FieldType{"done": FieldBool}}}})
	res := f.apply("user-1", `{"batch":[
		{"op_id":1,"op":"PUT","type":"todos","id":"a","tx_id":5,"data":{"done":1}},
		{"op_id":2,"op":"PUT","type":"lists","id":"l","tx_id":5,"data":{"name":"x"}},
		{"op_id":3,"op":"PATCH","type":"todos","id":"a","tx_id":5,"data":{"done":"maybe"}},
		{"op_id":4,"op":"DELETE","type":"todos","id":"z","tx_id":5}]}`)

	if f.count("todos") != 0 || f.count("lists") != 0 {
		t.Errorf("a unit with a rejected op was written in part")
	}
	codes := []string{}
	for _, r := range res.Rejected {
		codes = append(codes, r.Code)
	}
	wantCodes := []string{CodeUnitRejected, CodeUnitRejected, CodeTypeMismatch, CodeUnitRejected}
	if diff := cmp.Diff(wantCodes, codes); diff != "" || res.Applied != 0 {
		t.Errorf("applied %d, codes (-want +got):\n%s", res.Applied, diff)
	}
	if !strings.Contains(res.Rejected[2].Message, `field "done"`) {
		t.Errorf("message %q does not name the field", res.Rejected[2].Message)
	}

	dl := f.deadLetters()
	if len(dl) != 1 {
		t.Fatalf("dead letters = %d, want 1", len(dl))
	}
	d := dl[0]
	if d["user_id"] != "user-1" || d["failed_index"] != int32(2) || d["code"] != CodeTypeMismatch ||
		len(d["ops"].(bson.A)) != 4 || d["received_at"] == nil {
		t.Errorf("dead letter = %v", d)
	}
	if op := d["ops"].(bson.A)[2].(string); !strings.Contains(op, `"maybe"`) {
		t.Errorf("dead letter op 2 = %s, want the op as received", op)
	}
}

func TestTwoUnitsOnlySecondInvalid(t *testing.T) {
	f := newFixture(t, Config{})
	res := f.apply("", `{"batch":[
		{"op":"PUT","type":"todos","id":"a","tx_id":1,"data":{"title":"ok"}},
		{"op":"PUT","type":"todos","id":"b","tx_id":2,"data":{"title":"ok"}},
		{"op":"PUT","type":"todos","id":"c","tx_id":2,"data":{"a.b":1}}]}`)

	if res.Applied != 1 || len(res.Rejected) != 2 || res.Rejected[0].Index != 1 || res.Rejected[1].Index != 2 {
		t.Errorf("result = %+v, want op 0 applied and ops 1-2 rejected", res)
	}
	if f.doc("todos", "a") == nil || f.doc("todos", "b") != nil {
		t.Errorf("want the first unit written and the second not")
	}
	if n := len(f.deadLetters()); n != 1 {
		t.Errorf("dead letters = %d, want 1", n)
	}
}

func TestRetriedRejectionIsStoredOnce(t *testing.T) {
	f := newFixture(t, Config{})
	body := `{"batch":[{"op":"PUT","type":"todos","id":"a","data":{"$x":1}}]}`
	f.apply("u", body)
	f.apply("u", body)

	if n := len(f.deadLetters()); n != 1 {
		t.Errorf("dead letters after a retried batch = %d, want 1", n)
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

func TestTransactionsAlwaysNeedsReplicaSet(t *testing.T) {
	if !devstoretest.Embedded() {
		t.Skip("only the embedded store is known not to be a replica set")
	}
	_, err := New(t.Context(), devstoretest.Database(t), Config{Transactions: TxAlways})
	if err == nil || !strings.Contains(err.Error(), "not a replica set") {
		t.Errorf("New with transactions always = %v, want a replica-set error", err)
	}
}

func TestDeadLetterWithInvalidUTF8(t *testing.T) {
	f := newFixture(t, Config{})
	body := []byte("{\"batch\":[{\"op\":\"PUT\",\"table\":\"t\",\"id\":\"a\",\"data\":{\"$x\":\"\xff\xfe\"}}]}")
	ops, err := ParseBatch(body)
	if err != nil {
		t.Fatalf("ParseBatch: %v", err)
	}
	res, err := f.a.Apply(t.Context(), "u", ops)
	if err != nil || len(res.Rejected) != 1 {
		t.Fatalf("Apply = %+v, %v; want one rejection and no error", res, err)
	}
	dl := f.deadLetters()
	if len(dl) != 1 {
		t.Fatalf("dead letters = %d, want 1", len(dl))
	}
	if got, ok := dl[0]["ops"].(bson.A)[0].(primitive.Binary); !ok || !bytes.Equal(got.Data, ops[0].Raw) {
		t.Errorf("dead letter op = %v, want the op's bytes as received", dl[0]["ops"])
	}
}

// TestManyUpdatesInOneRun updates more than 100 existing documents in one
// run, which hangs FerretDB 1.24 when sent as one update command.
func TestManyUpdatesInOneRun(t *testing.T) {
	f := newFixture(t, Config{})
	batch := func(kind string) string {
		var b strings.Builder
		b.WriteString(`{"batch":[`)
		for i := range 150 {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"op":"%s","table":"c","id":"%d","data":{"n":%d}}`, kind, i, i)
		}
		b.WriteString(`]}`)
		return b.String()
	}

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for _, kind := range []string{"PUT", "PUT", "PATCH"} {
		ops, err := ParseBatch([]byte(batch(kind)))
		if err != nil {
			t.Fatal(err)
		}
		res, err := f.a.Apply(ctx, "", ops)
		if err != nil || res.Applied != 150 {
			t.Fatalf("%s of 150 existing documents: %+v, %v", kind, res, err)
		}
	}
}

// TestPartialWriteIsCounted has the store refuse the second op of a unit
// after the first was written: without a transaction the first stays, is
// counted, and the dead letter says the unit was applied in part.
func TestPartialWriteIsCounted(t *testing.T) {
	f := newFixture(t, Config{})
	if f.a.UsesTransactions() {
		t.Skip("with transactions nothing of the unit is written")
	}
	// A duplicate key stands in for any refusal by the store: the unique
	// index makes the second PUT fail after the first is written.
	_, err := f.db.Collection("u").Indexes().CreateOne(t.Context(), mongo.IndexModel{
		Keys: bson.D{{Key: "email", Value: 1}}, Options: options.Index().SetUnique(true)})
	if err != nil {
		t.Fatal(err)
	}
	res := f.apply("alice", `{"batch":[
		{"op":"PUT","table":"u","id":"1","tx_id":1,"data":{"email":"a@x"}},
		{"op":"PUT","table":"u","id":"2","tx_id":1,"data":{"email":"a@x"}},
		{"op":"PUT","table":"u","id":"3","tx_id":1,"data":{"email":"c@x"}}]}`)

	if res.Applied != 1 || len(res.Rejected) != 2 || res.Rejected[0].Index != 1 || res.Rejected[0].Code != CodeDuplicateKey {
		t.Fatalf("result = %+v, want op 0 applied, op 1 DUPLICATE_KEY, op 2 not applied", res)
	}
	dl := f.deadLetters()
	if len(dl) != 1 || dl[0]["partial"] != true || dl[0]["applied"] != int32(1) || dl[0]["failed_index"] != int32(1) {
		t.Errorf("dead letter = %v, want partial with 1 applied and failed_index 1", dl)
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
		names = append(names, "_ferretdb_x", "_FerretDB_database_metadata")
	}
	for _, name := range names {
		res := f.apply("u", `{"batch":[{"op":"PUT","table":"`+name+`","id":"a","data":{}}]}`)
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

// TestLargeDeadLetterIsStoredInParts refuses a unit larger than one dead
// letter holds: its parts, joined, are the ops exactly as received.
func TestLargeDeadLetterIsStoredInParts(t *testing.T) {
	defer func(b int) { deadLetterBudget = b }(deadLetterBudget)
	deadLetterBudget = 1000

	f := newFixture(t, Config{})
	var ops []string
	for i := range 40 {
		ops = append(ops, fmt.Sprintf(`{"op":"PUT","table":"t","id":"%d","data":{"n":%d}}`, i, i))
	}
	ops = append(ops, `{"op":"PUT","table":"system.x","id":"z"}`)
	res := f.apply("u", `{"batch":[`+strings.Join(ops, ",")+`]}`)
	if len(res.Rejected) != 41 {
		t.Fatalf("rejected %d, want 41", len(res.Rejected))
	}

	cur, err := f.db.Collection(DefaultDeadLetter).Find(t.Context(), bson.D{},
		options.Find().SetSort(bson.D{{Key: "part", Value: 1}}))
	if err != nil {
		t.Fatal(err)
	}
	var parts []struct {
		Part    int              `bson:"part"`
		Parts   int              `bson:"parts"`
		OpsJSON primitive.Binary `bson:"ops_json"`
		Code    string           `bson:"code"`
	}
	if err := cur.All(t.Context(), &parts); err != nil {
		t.Fatal(err)
	}
	var joined []byte
	for i, p := range parts {
		if p.Part != i || p.Parts != len(parts) || p.Code != CodeInvalidCollection {
			t.Errorf("part %d = %d of %d, code %s", i, p.Part, p.Parts, p.Code)
		}
		joined = append(joined, p.OpsJSON.Data...)
	}
	if want := "[" + strings.Join(ops, ",") + "]"; len(parts) < 2 || string(joined) != want {
		t.Errorf("%d parts joined = %.200s, want %.200s", len(parts), joined, want)
	}
}

func TestLongMessagesAreCut(t *testing.T) {
	if got := shorten(strings.Repeat("é", 400), 501); len(got) > 504 || !utf8.ValidString(got) {
		t.Errorf("shorten: %d bytes, valid UTF-8 %v", len(got), utf8.ValidString(got))
	}
}

// TestConcurrentResendsAreApplied sends one batch many times at once, as a
// client resending after a timeout does: upserts of one new _id race, and
// none of them may be reported as refused.
func TestConcurrentResendsAreApplied(t *testing.T) {
	f := newFixture(t, Config{})
	for round := range 5 {
		body := fmt.Sprintf(`{"batch":[{"op":"PUT","table":"t","id":"r%d","tx_id":1,"data":{"n":%d}}]}`, round, round)
		ops, err := ParseBatch([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		errs := make(chan string, 10)
		for range 10 {
			go func() {
				res, err := f.a.Apply(t.Context(), "u", ops)
				switch {
				case err != nil:
					errs <- err.Error()
				case res.Applied != 1:
					errs <- fmt.Sprintf("%+v", res.Rejected)
				default:
					errs <- ""
				}
			}()
		}
		for range 10 {
			if e := <-errs; e != "" {
				t.Errorf("round %d: a resend was not applied: %s", round, e)
			}
		}
	}
	if n := len(f.deadLetters()); n != 0 {
		t.Errorf("dead letters = %d, want none", n)
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
