package mongoapply

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"go.mongodb.org/mongo-driver/mongo"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool // ErrUnavailable
	}{
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), true},
		{"retryable write label", mongo.CommandError{Code: 91, Labels: []string{"RetryableWriteError"}}, true},
		{"transient transaction label", mongo.CommandError{Code: 112, Labels: []string{"TransientTransactionError"}}, true},
		{"not primary", mongo.CommandError{Code: 10107}, true},
		{"client disconnected", mongo.ErrClientDisconnected, true},
		{"document validation", mongo.CommandError{Code: 121}, false},
		{"write concern timed out", mongo.WriteException{WriteConcernError: &mongo.WriteConcernError{
			Code: 64, Name: "WriteConcernFailed", Message: "waiting for replication timed out"}}, true},
		{"write refused", mongo.WriteException{WriteErrors: mongo.WriteErrors{{Code: 11000}}}, false},
		{"plain", errors.New("boom"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := classify(tt.err)
			if got := errors.Is(err, ErrUnavailable); got != tt.want {
				t.Errorf("classify(%v) is ErrUnavailable: %v, want %v", tt.err, got, tt.want)
			}
			var labeled mongo.LabeledError
			if errors.As(tt.err, &labeled) && !errors.As(err, &labeled) {
				t.Errorf("classify(%v) hides the error labels", tt.err)
			}
		})
	}
}

// TestRunErrorWriteConcern checks that a write concern error, such as a
// replication time-out, reaches the client as unavailable, a 503 it
// retries, not as a refused op or a 500.
func TestRunErrorWriteConcern(t *testing.T) {
	ops, err := ParseBatch([]byte(`{"batch":[{"op":"PUT","table":"t","id":"a"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	writes := []write{{op: &ops[0], collection: "t", stmt: []byte{5, 0, 0, 0, 0}}}
	wce := mongo.WriteException{WriteConcernError: &mongo.WriteConcernError{Code: 64, Message: "timed out"}}
	if err := runError(wce, writes, 0, 0); !errors.Is(err, ErrUnavailable) {
		t.Errorf("runError(write concern error) = %v, want ErrUnavailable", err)
	}
}
