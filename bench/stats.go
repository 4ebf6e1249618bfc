package bench

import (
	"math"
	"slices"
	"time"
)

// Phase is what one side of a run did: psmongo over HTTP, or the same ops
// written straight to MongoDB.
type Phase struct {
	Ops            int     `json:"ops"`      // applied (psmongo) or written (direct)
	Rejected       int     `json:"rejected"` // ops psmongo answered as rejected
	Requests       int     `json:"requests"` // that succeeded
	Failed         int     `json:"failed"`   // transport errors, statuses other than 200, failed bulk writes
	Seconds        float64 `json:"seconds"`
	OpsPerSec      float64 `json:"ops_per_sec"`
	RequestsPerSec float64 `json:"requests_per_sec"`
	Latency        Latency `json:"latency"`
	FirstError     string  `json:"first_error,omitempty"`

	// ClientCPUMicrosPerOp is the CPU time per op of this process, which
	// sends the requests: for the direct writes, what the driver costs.
	// It is 0 where it cannot be read.
	ClientCPUMicrosPerOp float64 `json:"client_cpu_us_per_op,omitempty"`
}

// Latency sums up how long requests took, in milliseconds, failed ones
// included.
type Latency struct {
	P50 float64 `json:"p50_ms"`
	P95 float64 `json:"p95_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

// result is the outcome of one request.
type result struct {
	ops, rejected int
	took          time.Duration
	err           error
}

// tally collects the results of one worker.
type tally struct {
	ops, rejected, requests, failed int
	latencies                       []time.Duration
	firstErr                        error
}

func (t *tally) add(r result) {
	t.latencies = append(t.latencies, r.took)
	if r.err != nil {
		t.failed++
		if t.firstErr == nil {
			t.firstErr = r.err
		}
		return
	}
	t.requests++
	t.ops += r.ops
	t.rejected += r.rejected
}

// phase merges the workers' tallies of a phase that took elapsed.
func phase(tallies []tally, elapsed time.Duration) Phase {
	var p Phase
	var latencies []time.Duration
	for _, t := range tallies {
		p.Ops += t.ops
		p.Rejected += t.rejected
		p.Requests += t.requests
		p.Failed += t.failed
		latencies = append(latencies, t.latencies...)
		if t.firstErr != nil && p.FirstError == "" {
			p.FirstError = t.firstErr.Error()
		}
	}
	p.Seconds = elapsed.Seconds()
	if p.Seconds > 0 {
		p.OpsPerSec = float64(p.Ops) / p.Seconds
		p.RequestsPerSec = float64(p.Requests) / p.Seconds
	}
	p.Latency = summarize(latencies)
	return p
}

// summarize returns the percentiles of latencies, which it sorts.
func summarize(latencies []time.Duration) Latency {
	slices.Sort(latencies)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return Latency{
		P50: ms(percentile(latencies, 50)),
		P95: ms(percentile(latencies, 95)),
		P99: ms(percentile(latencies, 99)),
		Max: ms(percentile(latencies, 100)),
	}
}

// percentile returns the p-th percentile (0 < p <= 100) of sorted values by
// the nearest-rank method: the smallest value that at least p percent of
// the values do not exceed. It is 0 when there are none.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}
