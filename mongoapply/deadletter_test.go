package mongoapply

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo/options"
)

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
	f.uniqueEmail("u")
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

func TestDeadLetterIndexIsCreated(t *testing.T) {
	f := newFixture(t, Config{})
	cur, err := f.db.Collection(DefaultDeadLetter).Indexes().List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var indexes []struct {
		Name string `bson:"name"`
		Key  bson.D `bson:"key"`
	}
	if err := cur.All(t.Context(), &indexes); err != nil {
		t.Fatal(err)
	}
	want := bson.D{{Key: "user_id", Value: int32(1)}, {Key: "received_at", Value: int32(-1)}}
	for _, ix := range indexes {
		if ix.Name == DeadLetterIndex {
			if diff := cmp.Diff(want, ix.Key); diff != "" {
				t.Errorf("index %s keys (-want +got):\n%s", DeadLetterIndex, diff)
			}
			return
		}
	}
	t.Errorf("no index %s among %+v", DeadLetterIndex, indexes)
}

// TestRejectionLogIsBounded checks that a table name, which only the body
// limit bounds, and a user id are cut in the log line of a refused unit.
func TestRejectionLogIsBounded(t *testing.T) {
	var log bytes.Buffer
	f := newFixture(t, Config{Logger: slog.New(slog.NewJSONHandler(&log, nil))})
	table := strings.Repeat("d", 100_000)
	user := strings.Repeat("u", 3000)
	f.apply(user, `{"batch":[{"op":"PUT","type":"`+table+`","id":"a","data":{"$x":1}}]}`)

	line := log.String()
	if !strings.Contains(line, "unit rejected") {
		t.Fatalf("no rejection logged: %q", shorten(line, 300))
	}
	if len(line) > 1000 {
		t.Errorf("log line is %d bytes, want the table and user id cut to %d", len(line), maxLoggedName)
	}
}
