package bench_test

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"go.mongodb.org/mongo-driver/bson"

	"github.com/psmongo/psmongo/app"
	"github.com/psmongo/psmongo/app/apptest"
	"github.com/psmongo/psmongo/bench"
	"github.com/psmongo/psmongo/devstore/devstoretest"
	"github.com/psmongo/psmongo/hooks"
)

func TestMain(m *testing.M) {
	os.Exit(devstoretest.Main(m))
}

const benchConfig = `
collections:
  bench_todos:
    fields:
      completed: bool
      created_at: date
      tags: array
`

// serve runs psmongo on a loopback listener, on a database of the test's
// own, until the test ends, and returns its base URL.
func serve(t *testing.T) string {
	t.Helper()
	devstoretest.Database(t)
	t.Setenv("PSMONGO_MONGODB_URI", devstoretest.URI())
	t.Setenv("PSMONGO_MONGODB_DATABASE", devstoretest.DatabaseName(t))
	t.Setenv("PSMONGO_DATA_DIR", t.TempDir())
	file := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(file, []byte(benchConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := app.LoadConfig(file)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Hooks = &hooks.Registry{}

	s, err := app.New(t.Context(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return apptest.Serve(t, s)
}

// TestRun drives a real server with a handful of ops, then writes them
// directly, and checks the counts; it asserts nothing about speed.
func TestRun(t *testing.T) {
	for _, shape := range []string{bench.ShapeConnector, bench.ShapeSDK} {
		t.Run(shape, func(t *testing.T) {
			url := serve(t)
			report, err := bench.Run(t.Context(), bench.Options{
				URL: url, UserID: "bench", Target: bench.TargetUpload, Ops: 25, Batch: 10, Concurrency: 2,
				Mix: bench.Mix{Put: 1}, Shape: shape, Collection: "bench_todos",
				Direct: devstoretest.URI(), Database: devstoretest.DatabaseName(t),
			})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}

			// 25 ops over 2 workers in batches of 10: 13 in 2 requests, 12 in 2.
			p := report.Psmongo
			if p.Ops != 25 || p.Rejected != 0 || p.Requests != 4 || p.Failed != 0 || p.FirstError != "" {
				t.Errorf("psmongo phase %+v, want 25 ops in 4 requests", p)
			}
			if d := report.Direct; d == nil || d.Ops != 25 || d.Requests != 4 || d.Failed != 0 {
				t.Errorf("direct phase %+v, want 25 ops in 4 bulk writes", d)
			}
			if report.Server == nil || report.Server.RSSSamples < 2 || report.Server.PeakRSSMiB <= 0 {
				t.Errorf("server %+v (%s), want readings from /metrics", report.Server, report.ServerNote)
			}

			coll := devstoretest.Client().Database(devstoretest.DatabaseName(t)).Collection("bench_todos")
			n, err := coll.CountDocuments(t.Context(), bson.D{{Key: "completed", Value: bson.D{{Key: "$type", Value: "bool"}}}})
			if err != nil || n != 50 {
				t.Errorf("%d todos with a bool completed (%v), want 25 from psmongo and 25 direct", n, err)
			}
		})
	}
}

func TestRunTokens(t *testing.T) {
	url := serve(t)
	report, err := bench.Run(t.Context(), bench.Options{
		URL: url, UserID: "bench", Target: bench.TargetToken, Ops: 5, Batch: 1, Concurrency: 2,
		Mix: bench.DefaultMix, Shape: bench.ShapeConnector, Collection: "bench_todos",
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if p := report.Psmongo; p.Ops != 5 || p.Requests != 5 || p.Failed != 0 {
		t.Errorf("token phase %+v, want 5 tokens in 5 requests", p)
	}
}

func TestRunRefuses(t *testing.T) {
	base := bench.Options{
		URL: "http://127.0.0.1:1", Target: bench.TargetUpload, Ops: 1, Batch: 1, Concurrency: 1,
		Mix: bench.DefaultMix, Shape: bench.ShapeConnector, Collection: "c",
	}
	tests := []struct {
		name   string
		change func(*bench.Options)
	}{
		{"remote URL", func(o *bench.Options) { o.URL = "http://192.0.2.1:6060" }},
		{"remote direct", func(o *bench.Options) { o.Direct = "mongodb://192.0.2.1:27017/" }},
		{"srv direct", func(o *bench.Options) { o.Direct = "mongodb+srv://cluster.example.com/" }},
		{"direct with tokens", func(o *bench.Options) { o.Target, o.Direct = bench.TargetToken, "mongodb://127.0.0.1:1/" }},
		{"no ops", func(o *bench.Options) { o.Ops = 0 }},
		{"unknown shape", func(o *bench.Options) { o.Shape = "rows" }},
		{"unknown target", func(o *bench.Options) { o.Target = "jwks" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := base
			tt.change(&opts)
			if report, err := bench.Run(t.Context(), opts); err == nil {
				t.Errorf("Run(%+v) = %+v, want an error", opts, report)
			}
		})
	}
}
