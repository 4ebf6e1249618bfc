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
