package mongoapply

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
	"go.mongodb.org/mongo-driver/mongo/writeconcern"

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

// uniqueEmail gives collection a unique index on email, so that the store
// refuses a write: a stand-in for any refusal by MongoDB.
func (f *fixture) uniqueEmail(collection string) {
	f.t.Helper()
	_, err := f.db.Collection(collection).Indexes().CreateOne(f.t.Context(), mongo.IndexModel{
		Keys: bson.D{{Key: "email", Value: 1}}, Options: options.Index().SetUnique(true)})
	if err != nil {
		f.t.Fatal(err)
	}
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

// TestPatchBeforePutMatchingNothingIsReported PATCHes missing documents
// that later PUTs of the same command create: the PATCHes matched nothing,
// though the documents are there once the command is written.
func TestPatchBeforePutMatchingNothingIsReported(t *testing.T) {
	f := newFixture(t, Config{Collections: map[string]Collection{"lists": {IDType: IDUUID}}})
	f.apply("", `{"batch":[{"op":"PUT","table":"todos","id":"old","data":{}}]}`)
	res := f.apply("", `{"batch":[
		{"op_id":1,"op":"PATCH","table":"todos","id":"a","data":{"done":1}},
		{"op_id":2,"op":"PUT","table":"todos","id":"b","data":{"title":"b"}},
		{"op_id":3,"op":"PATCH","table":"todos","id":"old","data":{"done":1}},
		{"op_id":4,"op":"PUT","table":"todos","id":"a","data":{"title":"a"}},
		{"op_id":5,"op":"PATCH","table":"todos","id":"b","data":{"done":1}},
		{"op_id":6,"op":"PATCH","table":"lists","id":"11111111-1111-4111-8111-111111111111","data":{"n":1}},
		{"op_id":7,"op":"PUT","table":"lists","id":"11111111111141118111111111111111","data":{"n":0}}]}`)

	want := &Result{Applied: 7, Rejected: []Rejection{}, Unmatched: []OpRef{
		{Index: 0, OpID: []byte("1"), Table: "todos", ID: "a"},
		{Index: 5, OpID: []byte("6"), Table: "lists", ID: "11111111-1111-4111-8111-111111111111"},
	}}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(bson.M{"_id": "a", "title": "a"}, f.doc("todos", "a")); diff != "" {
		t.Errorf("document a (-want +got):\n%s", diff)
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

// TestRejectionOfBadTextEchoesValidJSON sends an op_id holding a byte that
// is not UTF-8: the op is refused, and the op_id comes back as valid JSON
// text, the byte replaced as the id's is.
func TestRejectionOfBadTextEchoesValidJSON(t *testing.T) {
	f := newFixture(t, Config{})
	res := f.apply("u", "{\"batch\":[{\"op\":\"PUT\",\"type\":\"todos\",\"id\":\"r1\",\"op_id\":\"\xff\",\"data\":{\"v\":1}}]}")
	if len(res.Rejected) != 1 || res.Rejected[0].Code != CodeInvalidUTF8 {
		t.Fatalf("rejected = %+v, want the op refused as %s", res.Rejected, CodeInvalidUTF8)
	}
	out, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	if !utf8.Valid(out) || !strings.Contains(string(out), "\"op_id\":\"\uFFFD\"") {
		t.Errorf("answer %q, want valid UTF-8 with op_id \"\\ufffd\"", out)
	}
}

func TestParseOneNamesTheSyntaxError(t *testing.T) {
	_, err := ParseOne(hooks.Put, []byte(`{"table":"todos","id":"a"} trailing`))
	if err == nil || !strings.Contains(err.Error(), "invalid character 't' after top-level value") {
		t.Errorf("ParseOne: %v, want the JSON error named", err)
	}
}

// TestNewRefusesUnacknowledgedWrites checks that a URI asking for w=0,
// with which MongoDB answers before it writes, stops start-up.
func TestNewRefusesUnacknowledgedWrites(t *testing.T) {
	db := devstoretest.Client().Database(devstoretest.DatabaseName(t),
		options.Database().SetWriteConcern(writeconcern.Unacknowledged()))
	_, err := New(t.Context(), db, Config{})
	if err == nil || !strings.Contains(err.Error(), "w=0") {
		t.Errorf("New with w=0 = %v, want an error naming w=0", err)
	}
}
