package mongoapply

import (
	"fmt"
	"sync"
	"testing"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo/integration/mtest"
)

// duplicateKey is a bulk write's answer when an upsert lost a race.
var duplicateKey = bson.D{{Key: "ok", Value: 1}, {Key: "n", Value: 0}, {Key: "writeErrors", Value: bson.A{
	bson.D{{Key: "index", Value: 0}, {Key: "code", Value: 11000},
		{Key: "errmsg", Value: "E11000 duplicate key"}}}}}

// TestUpsertLosesRacesTwice has a PUT lose the race to create its document
// twice in a row, as when other clients PUT, DELETE and PUT the id at once:
// it is tried again until it wins, not rejected with DUPLICATE_KEY. The
// race cannot be staged on the embedded store, where psmongo serializes
// writes to a document, so the driver's mock deployment answers.
func TestUpsertLosesRacesTwice(t *testing.T) {
	mt := mtest.New(t, mtest.NewOptions().ClientType(mtest.Mock))
	mt.Run("two lost races", func(mt *mtest.T) {
		a := newMockApplier(mt)
		a.useTx = false
		mt.AddMockResponses(duplicateKey, duplicateKey,
			bson.D{{Key: "ok", Value: 1}, {Key: "n", Value: 1}, {Key: "nModified", Value: 1}})
		ops, _ := ParseBatch([]byte(`{"batch":[{"op":"PUT","type":"todos","id":"a","data":{"x":1}}]}`))
		res, err := a.Apply(mt.Context(), "u", ops)
		if err != nil || res.Applied != 1 || len(res.Rejected) != 0 {
			mt.Fatalf("Apply = %+v, %v; want the PUT applied on its third try", res, err)
		}
		if got := commandNames(mt); !equalStrings(got, []string{"update", "update", "update"}) {
			mt.Errorf("commands = %v, want three updates", got)
		}
	})

	mt.Run("races without end", func(mt *mtest.T) {
		a := newMockApplier(mt)
		a.useTx = false
		for range maxUpsertTries {
			mt.AddMockResponses(duplicateKey)
		}
		mt.AddMockResponses(bson.D{{Key: "ok", Value: 1}, {Key: "n", Value: 1}}) // dead-letter insert
		ops, _ := ParseBatch([]byte(`{"batch":[{"op":"PUT","type":"todos","id":"a","data":{"x":1}}]}`))
		res, err := a.Apply(mt.Context(), "u", ops)
		if err != nil || len(res.Rejected) != 1 || res.Rejected[0].Code != CodeDuplicateKey {
			mt.Fatalf("Apply = %+v, %v; want DUPLICATE_KEY after %d tries", res, err, maxUpsertTries)
		}
	})
}

// TestDocLocksSerializeOneDocument has many goroutines add to one counter
// under the lock of one document, as FerretDB's two-step updates need, and
// runs of several documents in any order lock them without deadlock.
func TestDocLocksSerializeOneDocument(t *testing.T) {
	l := newDocLocks()
	var counts [3]int // one per document
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			unlock := l.lockUnit([]write{{collection: "todos", id: rawValue(fmt.Sprint("doc", i%3))}})
			defer unlock()
			n := counts[i%3] // a read and a write, like FerretDB's update
			counts[i%3] = n + 1
		}()
	}
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run := []write{{collection: "todos", id: rawValue(fmt.Sprint("doc", i%3))},
				{collection: "todos", id: rawValue(fmt.Sprint("doc", (i+1)%3))}, {collection: "lists", id: rawValue("doc0")}}
			l.lockUnit(run)()
		}()
	}
	wg.Wait()
	if counts[0]+counts[1]+counts[2] != 200 {
		t.Errorf("counts = %v, want 200 in all: a write was lost", counts)
	}
	if n := len(l.locks); n != 0 {
		t.Errorf("%d locks kept after every unit ended, want 0", n)
	}
}

// TestDocKeysKeepIDTypesApart checks that ids of different types that print
// alike get locks of their own, and that the same id gets the same lock.
func TestDocKeysKeepIDTypesApart(t *testing.T) {
	oid := primitive.NewObjectID()
	keys := []string{
		docKey("t", rawValue("1")), docKey("t", rawValue(int32(1))), docKey("u", rawValue("1")),
		docKey("t", rawValue(oid)), docKey("t", rawValue(oid.Hex())),
		docKey("t", rawValue(primitive.Binary{Subtype: 4, Data: []byte("0123456789abcdef")})),
		docKey("t", rawValue(primitive.Binary{Subtype: 0, Data: []byte("0123456789abcdef")})),
	}
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k] {
			t.Errorf("key %q is given to two ids", k)
		}
		seen[k] = true
	}
	if docKey("t", rawValue(oid)) != docKey("t", rawValue(oid)) {
		t.Error("one ObjectId got two keys")
	}
}

// TestOwnerCheckHoldsUnderRaces has one user PUT new documents while
// another PATCHes and DELETEs them at the same moment. However the race
// goes, the other user's writes never change a document the first owns.
func TestOwnerCheckHoldsUnderRaces(t *testing.T) {
	f := newFixture(t, Config{Collections: map[string]Collection{"todos": {OwnerField: "created_by"}}})
	apply := func(user, body string) {
		ops, err := ParseBatch([]byte(body))
		if err != nil {
			t.Error(err)
			return
		}
		if _, err := f.a.Apply(t.Context(), user, ops); err != nil {
			t.Errorf("Apply as %s: %v", user, err)
		}
	}
	const rounds = 60
	var wg sync.WaitGroup
	for i := range rounds {
		id := fmt.Sprintf("race%d", i)
		start := make(chan struct{})
		for _, w := range []struct{ user, body string }{
			{"alice", `{"batch":[{"op":"PUT","type":"todos","id":"` + id + `","data":{"v":1}}]}`},
			{"bob", `{"batch":[{"op":"PATCH","type":"todos","id":"` + id + `","data":{"hacked":1}}]}`},
			{"bob", `{"batch":[{"op":"DELETE","type":"todos","id":"` + id + `"}]}`},
		} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				apply(w.user, w.body)
			}()
		}
		close(start)
	}
	wg.Wait()

	for i := range rounds {
		id := fmt.Sprintf("race%d", i)
		d := f.doc("todos", id)
		// Alice's PUT comes last or is followed by bob's refused writes:
		// the document is there, whatever the order.
		if d == nil || d["created_by"] != "alice" || d["hacked"] != nil {
			t.Errorf("document %s = %v, want alice's, untouched by bob", id, d)
		}
	}
}
