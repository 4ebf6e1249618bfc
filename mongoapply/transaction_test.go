package mongoapply

import (
	"testing"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo/integration/mtest"
)

// The embedded store has no transactions, so these tests run the
// transaction path against the driver's mock deployment, which plays a
// replica-set primary and answers each command with the next queued
// response. They check the commands psmongo sends.

func newMockApplier(mt *mtest.T) *Applier {
	cfg := Config{DeadLetter: DefaultDeadLetter, Transactions: TxAuto}
	a := &Applier{db: mt.Client.Database("app"), cfg: cfg, useTx: true}
	a.log = discardLogger()
	return a
}

func commandNames(mt *mtest.T) []string {
	var names []string
	for _, e := range mt.GetAllStartedEvents() {
		names = append(names, e.CommandName)
	}
	return names
}

func TestTransactionWrapsUnit(t *testing.T) {
	mt := mtest.New(t, mtest.NewOptions().ClientType(mtest.Mock))
	mt.Run("commit", func(mt *mtest.T) {
		a := newMockApplier(mt)
		mt.AddMockResponses(
			bson.D{{Key: "ok", Value: 1}, {Key: "n", Value: 1}, {Key: "nModified", Value: 0},
				{Key: "upserted", Value: bson.A{bson.D{{Key: "index", Value: 0}, {Key: "_id", Value: "a"}}}}},
			bson.D{{Key: "ok", Value: 1}, {Key: "n", Value: 1}},
			bson.D{{Key: "ok", Value: 1}}, // commitTransaction
		)
		ops, _ := ParseBatch([]byte(`{"batch":[
			{"op":"PUT","type":"todos","id":"a","tx_id":1,"data":{"x":1}},
			{"op":"DELETE","type":"todos","id":"b","tx_id":1}]}`))
		res, err := a.Apply(mt.Context(), "u", ops)
		if err != nil || res.Applied != 2 {
			mt.Fatalf("Apply = %+v, %v; want 2 applied", res, err)
		}

		events := mt.GetAllStartedEvents()
		want := []string{"update", "delete", "commitTransaction"}
		if got := commandNames(mt); !equalStrings(got, want) {
			mt.Fatalf("commands = %v, want %v", got, want)
		}
		first := events[0].Command
		if st, err := first.LookupErr("startTransaction"); err != nil || !st.Boolean() {
			mt.Errorf("update: startTransaction missing in %v", first)
		}
		if ac, err := first.LookupErr("autocommit"); err != nil || ac.Boolean() {
			mt.Errorf("update: autocommit is not false in %v", first)
		}
		txn := first.Lookup("txnNumber").Int64()
		for _, e := range events[1:] {
			if got := e.Command.Lookup("txnNumber").Int64(); got != txn {
				mt.Errorf("%s: txnNumber %d, want %d (one transaction)", e.CommandName, got, txn)
			}
		}
	})

	mt.Run("document validation aborts", func(mt *mtest.T) {
		a := newMockApplier(mt)
		mt.AddMockResponses(
			bson.D{{Key: "ok", Value: 1}, {Key: "n", Value: 0}, {Key: "writeErrors", Value: bson.A{
				bson.D{{Key: "index", Value: 0}, {Key: "code", Value: 121}, {Key: "errmsg", Value: "Document failed validation"}}}}},
			bson.D{{Key: "ok", Value: 1}},                       // abortTransaction
			bson.D{{Key: "ok", Value: 1}, {Key: "n", Value: 1}}, // dead-letter insert
		)
		ops, _ := ParseBatch([]byte(`{"batch":[{"op":"PUT","type":"todos","id":"a","data":{"x":1}}]}`))
		res, err := a.Apply(mt.Context(), "u", ops)
		if err != nil || res.Applied != 0 || len(res.Rejected) != 1 || res.Rejected[0].Code != CodeDocumentValidation {
			mt.Fatalf("Apply = %+v, %v; want one DOCUMENT_VALIDATION rejection", res, err)
		}
		want := []string{"update", "abortTransaction", "insert"}
		if got := commandNames(mt); !equalStrings(got, want) {
			mt.Errorf("commands = %v, want %v", got, want)
		}
	})

	mt.Run("transient error retries the unit", func(mt *mtest.T) {
		a := newMockApplier(mt)
		mt.AddMockResponses(
			bson.D{{Key: "ok", Value: 0}, {Key: "code", Value: 112}, {Key: "codeName", Value: "WriteConflict"},
				{Key: "errmsg", Value: "write conflict"}, {Key: "errorLabels", Value: bson.A{"TransientTransactionError"}}},
			bson.D{{Key: "ok", Value: 1}}, // abortTransaction
			bson.D{{Key: "ok", Value: 1}, {Key: "n", Value: 1}, {Key: "nModified", Value: 1}},
			bson.D{{Key: "ok", Value: 1}}, // commitTransaction
		)
		ops, _ := ParseBatch([]byte(`{"batch":[{"op":"PATCH","type":"todos","id":"a","data":{"x":1}}]}`))
		res, err := a.Apply(mt.Context(), "u", ops)
		if err != nil || res.Applied != 1 {
			mt.Fatalf("Apply = %+v, %v; want the unit applied on the second try", res, err)
		}
		want := []string{"update", "abortTransaction", "update", "commitTransaction"}
		if got := commandNames(mt); !equalStrings(got, want) {
			mt.Errorf("commands = %v, want %v", got, want)
		}
	})
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
