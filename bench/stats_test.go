package bench

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"none", nil, 50, 0},
		{"one", []time.Duration{7}, 99, 7},
		{"median of two is the lower", []time.Duration{1, 2}, 50, 1},
		{"p50 of 100", hundred, 50, 50 * time.Millisecond},
		{"p95 of 100", hundred, 95, 95 * time.Millisecond},
		{"p99 of 100", hundred, 99, 99 * time.Millisecond},
		{"max", hundred, 100, 100 * time.Millisecond},
		{"p99 of 10 is the max", hundred[:10], 99, 10 * time.Millisecond},
		{"p95 of 40 rounds up", hundred[:40], 95, 38 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := percentile(tt.sorted, tt.p); got != tt.want {
			t.Errorf("%s: percentile(%v, %v) = %v, want %v", tt.name, len(tt.sorted), tt.p, got, tt.want)
		}
	}
}

func TestPhase(t *testing.T) {
	tallies := make([]tally, 2)
	tallies[0].add(result{ops: 100, took: 30 * time.Millisecond})
	tallies[0].add(result{took: 50 * time.Millisecond, err: errors.New("status 503")})
	tallies[1].add(result{ops: 98, rejected: 2, took: 10 * time.Millisecond})
	tallies[1].add(result{ops: 100, took: 20 * time.Millisecond})

	got := phase(tallies, 2*time.Second)
	want := Phase{
		Ops: 298, Rejected: 2, Requests: 3, Failed: 1, Seconds: 2, OpsPerSec: 149, RequestsPerSec: 1.5,
		Latency:    Latency{P50: 20, P95: 50, P99: 50, Max: 50},
		FirstError: "status 503",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("phase mismatch (-want +got):\n%s", diff)
	}
}
