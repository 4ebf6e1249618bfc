package mongoapply

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

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
