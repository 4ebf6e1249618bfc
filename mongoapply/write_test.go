package mongoapply

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"

	"github.com/psmongo/psmongo/devstore/devstoretest"
)

func TestTransactionsAlwaysNeedsReplicaSet(t *testing.T) {
	if !devstoretest.Embedded() {
		t.Skip("only the embedded store is known not to be a replica set")
	}
	_, err := New(t.Context(), devstoretest.Database(t), Config{Transactions: TxAlways})
	if err == nil || !strings.Contains(err.Error(), "not a replica set") {
		t.Errorf("New with transactions always = %v, want a replica-set error", err)
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

// TestConcurrentUpdatesDoNotHang sends batches that update existing
// documents from many requests at once: on FerretDB 1.24 their matched
// statements together would take every connection of its pool.
func TestConcurrentUpdatesDoNotHang(t *testing.T) {
	f := newFixture(t, Config{})
	batch := func(kind string, worker int) []Op {
		var b strings.Builder
		b.WriteString(`{"batch":[`)
		for i := range 100 {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"op":"%s","table":"c","id":"%d-%d","data":{"n":%d}}`, kind, worker, i, i)
		}
		b.WriteString(`]}`)
		ops, err := ParseBatch([]byte(b.String()))
		if err != nil {
			t.Fatal(err)
		}
		return ops
	}

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for _, kind := range []string{"PUT", "PATCH", "PUT"} {
		errs := make(chan error, 8)
		for w := range 8 {
			go func() {
				res, err := f.a.Apply(ctx, "", batch(kind, w))
				if err == nil && res.Applied != 100 {
					err = fmt.Errorf("%+v", res)
				}
				errs <- err
			}()
		}
		for range 8 {
			if err := <-errs; err != nil {
				t.Fatalf("%s of 100 documents from 8 requests at once: %v", kind, err)
			}
		}
	}
}

// TestRefusedRunNamesTheOp has the store refuse an op in the middle of a
// run: the ops before it are applied and counted, and the refusal names
// it, though FerretDB reports every failed update as the first statement.
func TestRefusedRunNamesTheOp(t *testing.T) {
	f := newFixture(t, Config{})
	if f.a.UsesTransactions() {
		t.Skip("with transactions nothing of the unit is written")
	}
	f.uniqueEmail("u")
	res := f.apply("alice", `{"batch":[
		{"op":"PUT","table":"u","id":"1","data":{"email":"a@x"}},
		{"op":"PUT","table":"u","id":"2","data":{"email":"b@x"}},
		{"op":"PATCH","table":"u","id":"1","data":{"name":"A"}},
		{"op":"PUT","table":"u","id":"3","data":{"email":"a@x"}},
		{"op":"PUT","table":"u","id":"4","data":{"email":"c@x"}}]}`)

	if res.Applied != 3 || len(res.Rejected) != 2 || res.Rejected[0].Index != 3 || res.Rejected[0].Code != CodeDuplicateKey {
		t.Fatalf("result = %+v, want ops 0-2 applied, op 3 DUPLICATE_KEY, op 4 not applied", res)
	}
	if n, err := f.db.Collection("u").CountDocuments(t.Context(), bson.D{{Key: "name", Value: "A"}}); err != nil || n != 1 {
		t.Errorf("%d documents with the PATCHed name (%v), want 1", n, err)
	}
	dl := f.deadLetters()
	if len(dl) != 1 || dl[0]["applied"] != int32(3) || dl[0]["failed_index"] != int32(3) {
		t.Errorf("dead letter = %v, want partial with 3 applied and failed_index 3", dl)
	}
}

// TestPatchBreakingUniqueIndexIsRejected has a PATCH set a value that a
// unique index already holds: a DUPLICATE_KEY rejection, kept as a dead
// letter, where FerretDB answers an InternalError rather than code 11000.
func TestPatchBreakingUniqueIndexIsRejected(t *testing.T) {
	f := newFixture(t, Config{})
	f.uniqueEmail("u")
	res := f.apply("alice", `{"batch":[
		{"op":"PUT","table":"u","id":"1","tx_id":1,"data":{"email":"a@x"}},
		{"op":"PUT","table":"u","id":"2","tx_id":2,"data":{"email":"b@x"}},
		{"op":"PATCH","table":"u","id":"2","tx_id":3,"data":{"email":"a@x"}}]}`)

	if res.Applied != 2 || len(res.Rejected) != 1 || res.Rejected[0].Index != 2 || res.Rejected[0].Code != CodeDuplicateKey {
		t.Fatalf("result = %+v, want ops 0-1 applied and op 2 DUPLICATE_KEY", res)
	}
	if d := f.doc("u", "2"); d["email"] != "b@x" {
		t.Errorf("document 2 = %v, want its email unchanged", d)
	}
	if n := len(f.deadLetters()); n != 1 {
		t.Errorf("dead letters = %d, want 1", n)
	}
}
