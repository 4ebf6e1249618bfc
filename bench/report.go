package bench

import (
	"fmt"
	"io"
	"strings"
)

// Report is what a run measured. Its JSON form is what psmongo bench
// --json prints.
type Report struct {
	Target      string `json:"target"`
	URL         string `json:"url"`
	Shape       string `json:"shape,omitempty"`
	Mix         string `json:"mix,omitempty"`
	Collection  string `json:"collection,omitempty"`
	Batch       int    `json:"batch,omitempty"`
	Concurrency int    `json:"concurrency"`

	Psmongo    Phase   `json:"psmongo"`
	Server     *Server `json:"server,omitempty"`      // nil when /metrics could not be read
	ServerNote string  `json:"server_note,omitempty"` // why Server is nil

	Direct *Phase  `json:"direct,omitempty"`
	Ratio  float64 `json:"ratio,omitempty"` // psmongo's ops/s over the direct writes'
}

// WriteText writes the report for people.
func (r *Report) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	if r.Target == TargetToken {
		ew.printf("target    GET %s/token, concurrency %d\n", r.URL, r.Concurrency)
		ew.phase("tokens", "tokens", "requests", r.Psmongo)
	} else {
		ew.printf("target    POST %s/upload, %s shape, collection %s\n", r.URL, r.Shape, r.Collection)
		ew.printf("load      mix %s, batches of %d, concurrency %d\n", r.Mix, r.Batch, r.Concurrency)
		ew.phase("psmongo", "ops", "requests", r.Psmongo)
	}

	switch {
	case r.Server != nil:
		unit := "op"
		if r.Target == TargetToken {
			unit = "token"
		}
		ew.printf("server    %.1f µs CPU per %s (%.2f s in all), peak resident memory %.1f MiB (%d samples)\n",
			r.Server.CPUMicrosPerOp, unit, r.Server.CPUSeconds, r.Server.PeakRSSMiB, r.Server.RSSSamples)
	case r.ServerNote != "":
		ew.printf("server    not measured: %s\n", r.ServerNote)
	}

	if r.Direct != nil {
		ew.phase("direct", "ops", "bulk writes", *r.Direct)
		ew.printf("ratio     %.2f (psmongo ops/s over direct ops/s)\n", r.Ratio)
	}
	return ew.err
}

// errWriter keeps the first write error, so that the lines can be written
// one after another.
type errWriter struct {
	w   io.Writer
	err error
}

func (ew *errWriter) printf(format string, args ...any) {
	if ew.err == nil {
		_, ew.err = fmt.Fprintf(ew.w, format, args...)
	}
}

func (ew *errWriter) phase(label, unit, requests string, p Phase) {
	ew.printf("%-9s %d %s", label, p.Ops, unit)
	if p.Rejected > 0 {
		ew.printf(" (and %d rejected)", p.Rejected)
	}
	ew.printf(" in %d %s, %d failed, %.2f s: %.0f %s/s, %.1f %s/s\n",
		p.Requests, requests, p.Failed, p.Seconds, p.OpsPerSec, unit, p.RequestsPerSec, requests)
	ew.printf("latency   p50 %.2f ms, p95 %.2f ms, p99 %.2f ms, max %.2f ms\n",
		p.Latency.P50, p.Latency.P95, p.Latency.P99, p.Latency.Max)
	if p.ClientCPUMicrosPerOp > 0 {
		ew.printf("client    %.1f µs CPU per %s in this process\n", p.ClientCPUMicrosPerOp, strings.TrimSuffix(unit, "s"))
	}
	if p.FirstError != "" {
		ew.printf("error     first of %d: %s\n", p.Failed, p.FirstError)
	}
}
