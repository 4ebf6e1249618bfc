package mongoapply

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/x/mongo/driver/topology"
)

// recorder is an Observer that keeps what it is told.
type recorder struct {
	mu     sync.Mutex
	units  []string // outcome, applied, and the code of each op
	errors []string
}

func (r *recorder) Unit(u UnitOutcome) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := fmt.Sprintf("%s applied=%d", u.Outcome(), u.Applied)
	for i := range u.Ops {
		s += fmt.Sprintf(" %s:%q", u.Ops[i].ID, u.OpCode(i))
	}
	r.units = append(r.units, s)
}

func (r *recorder) MongoError(class string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, class)
}

// TestObserverSeesUnits applies a batch of three units, one written, one
// refused by validation and one refused by MongoDB part-way, and checks
// what the observer was told.
func TestObserverSeesUnits(t *testing.T) {
	rec := &recorder{}
	f := newFixture(t, Config{Observer: rec})
	f.uniqueEmail("u")

	f.apply("alice", `{"batch":[
		{"op":"PUT","table":"u","id":"1","tx_id":1,"data":{"email":"a@x"}},
		{"op":"PATCH","table":"u","id":"1","tx_id":1,"data":{"n":1}},
		{"op":"PUT","table":"u","id":"2","tx_id":2,"data":{"$bad":1}},
		{"op":"DELETE","table":"u","id":"1","tx_id":2},
		{"op":"PUT","table":"u","id":"3","tx_id":3,"data":{"email":"c@x"}},
		{"op":"PUT","table":"u","id":"4","tx_id":3,"data":{"email":"a@x"}},
		{"op":"PUT","table":"u","id":"5","tx_id":3,"data":{"email":"e@x"}}]}`)

	third := `partial applied=1 3:"" 4:"DUPLICATE_KEY" 5:"UNIT_REJECTED"`
	if f.a.UsesTransactions() {
		third = `rejected applied=0 3:"UNIT_REJECTED" 4:"DUPLICATE_KEY" 5:"UNIT_REJECTED"`
	}
	want := []string{
		`applied applied=2 1:"" 1:""`,
		`rejected applied=0 2:"INVALID_FIELD" 1:"UNIT_REJECTED"`,
		third,
	}
	if diff := cmp.Diff(want, rec.units); diff != "" {
		t.Errorf("units (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{ClassDuplicateKey}, rec.errors); diff != "" {
		t.Errorf("MongoDB errors (-want +got):\n%s", diff)
	}
}

func TestUnitOutcomeOpCode(t *testing.T) {
	ops := make([]Op, 4)
	tests := []struct {
		name        string
		u           UnitOutcome
		wantOutcome string
		wantCodes   []string
	}{
		{"applied", UnitOutcome{Ops: ops, Applied: 4, Refused: -1},
			"applied", []string{"", "", "", ""}},
		{"refused by validation", UnitOutcome{Ops: ops, Refused: 2, Code: CodeForbidden},
			"rejected", []string{CodeUnitRejected, CodeUnitRejected, CodeForbidden, CodeUnitRejected}},
		{"refused part-way", UnitOutcome{Ops: ops, Applied: 1, Refused: 1, Code: CodeDuplicateKey},
			"partial", []string{"", CodeDuplicateKey, CodeUnitRejected, CodeUnitRejected}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.u.Outcome(); got != tt.wantOutcome {
				t.Errorf("%+v: Outcome() = %q, want %q", tt.u, got, tt.wantOutcome)
			}
			got := make([]string, len(ops))
			for i := range ops {
				got[i] = tt.u.OpCode(i)
			}
			if diff := cmp.Diff(tt.wantCodes, got); diff != "" {
				t.Errorf("%+v: OpCode (-want +got):\n%s", tt.u, diff)
			}
		})
	}
}

func TestErrorClass(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"server selection", fmt.Errorf("bulk write: %w", topology.ServerSelectionError{Wrapped: errors.New("no server")}), ClassServerSelection},
		{"deadline", classify(fmt.Errorf("bulk write: %w", context.DeadlineExceeded)), ClassTimeout},
		{"client disconnected", mongo.ErrClientDisconnected, ClassNetwork},
		{"network label", mongo.CommandError{Code: 6, Labels: []string{"NetworkError"}}, ClassNetwork},
		{"not primary", mongo.CommandError{Code: 10107}, ClassTransient},
		{"transient transaction", mongo.CommandError{Code: 112, Labels: []string{"TransientTransactionError"}}, ClassTransient},
		{"duplicate key", mongo.WriteException{WriteErrors: mongo.WriteErrors{{Code: 11000}}}, ClassDuplicateKey},
		{"document validation", mongo.CommandError{Code: 121}, ClassDocumentValidation},
		{"unauthorized", mongo.CommandError{Code: 13}, ClassOther},
		{"plain", errors.New("boom"), ClassOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ErrorClass(tt.err); got != tt.want {
				t.Errorf("ErrorClass(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}
