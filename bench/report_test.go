package bench

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var sampleReport = Report{
	Target: TargetUpload, URL: "http://127.0.0.1:6060", Shape: ShapeConnector, Mix: DefaultMix.String(),
	Collection: "bench_todos", Batch: 100, Concurrency: 8,
	Psmongo: Phase{Ops: 1000, Requests: 10, Seconds: 2, OpsPerSec: 500, RequestsPerSec: 5,
		Latency: Latency{P50: 1, P95: 2, P99: 3, Max: 4}},
	Server: &Server{CPUSeconds: 0.01, CPUMicrosPerOp: 10, PeakRSSMiB: 30, RSSSamples: 4},
	Direct: &Phase{Ops: 1000, Requests: 10, Seconds: 1, OpsPerSec: 1000, RequestsPerSec: 10, ClientCPUMicrosPerOp: 7},
	Ratio:  0.5,
}

// TestReportJSON pins the names that scripts read from psmongo bench --json.
func TestReportJSON(t *testing.T) {
	b, err := json.Marshal(sampleReport)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}

	want := map[string]any{
		"target": "upload", "url": "http://127.0.0.1:6060", "shape": "connector",
		"mix": "put=60,patch=30,delete=10", "collection": "bench_todos", "batch": 100.0, "concurrency": 8.0,
		"psmongo": map[string]any{
			"ops": 1000.0, "rejected": 0.0, "requests": 10.0, "failed": 0.0, "seconds": 2.0,
			"ops_per_sec": 500.0, "requests_per_sec": 5.0,
			"latency": map[string]any{"p50_ms": 1.0, "p95_ms": 2.0, "p99_ms": 3.0, "max_ms": 4.0},
		},
		"server": map[string]any{"cpu_seconds": 0.01, "cpu_us_per_op": 10.0, "peak_rss_mib": 30.0, "rss_samples": 4.0},
		"direct": map[string]any{
			"ops": 1000.0, "rejected": 0.0, "requests": 10.0, "failed": 0.0, "seconds": 1.0,
			"ops_per_sec": 1000.0, "requests_per_sec": 10.0, "client_cpu_us_per_op": 7.0,
			"latency": map[string]any{"p50_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0},
		},
		"ratio": 0.5,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("JSON report mismatch (-want +got):\n%s", diff)
	}
}

func TestReportText(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"mix put=60,patch=30,delete=10, batches of 100, concurrency 8",
		"psmongo   1000 ops in 10 requests, 0 failed, 2.00 s: 500 ops/s, 5.0 requests/s",
		"p50 1.00 ms, p95 2.00 ms, p99 3.00 ms, max 4.00 ms",
		"10.0 µs CPU per op", "peak resident memory 30.0 MiB",
		"ratio     0.50", "client    7.0 µs CPU per op in this process",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
}
