// Package bench drives a running psmongo server over HTTP and measures it:
// uploads of generated todo documents, or token requests. It can write the
// same ops straight to MongoDB through the driver, to tell psmongo's cost
// from the database's, and it reads the server's CPU time and resident
// memory from its /metrics.
//
// It is meant for servers on the loopback interface that the caller runs;
// other hosts are refused unless Options.AllowRemote is set.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/psmongo/psmongo/internal/cputime"
)

// Targets: what a run drives.
const (
	TargetUpload = "upload" // POST /upload with batches of ops
	TargetToken  = "token"  // GET /token
)

// Shapes of an upload's ops.
const (
	// ShapeConnector is the demo connectors' op: table, op, id, data.
	ShapeConnector = "connector"
	// ShapeSDK is the SDK's CrudEntry.toJSON(): op_id, op, type, id, tx_id, data.
	ShapeSDK = "sdk"
)

// DefaultSample is how often the server's resident memory is read during
// a run. Each reading costs the server about 1.5 ms of CPU time, which
// counts in its CPU per op: every 5 s, about 0.3 µs per op at 1,000 ops/s.
const DefaultSample = 5 * time.Second

// Options say what a run does. Run checks them.
type Options struct {
	URL         string // the server's base URL
	Token       string // bearer token for uploads; "" gets one from GET /token
	UserID      string // the user to get that token for, and tokens in a token run
	Target      string // TargetUpload or TargetToken
	Ops         int    // ops to send; in a token run, tokens to request
	Batch       int    // ops per upload
	Concurrency int    // requests in flight
	Mix         Mix
	Shape       string // ShapeConnector or ShapeSDK
	Collection  string

	// Direct, when set, is a MongoDB URI to write the same ops to after
	// the run, one ordered bulk write per batch, into Database ("" for the
	// one the URI names, else psmongo's default, powersync).
	Direct   string
	Database string

	AllowRemote bool          // allow URLs and URIs that are not loopback
	Sample      time.Duration // how often the server's memory is read; 0 for DefaultSample
	Progress    io.Writer     // where a progress bar is drawn; nil for none
}

// Run drives the server as opts say and reports what it measured. A run in
// which no request succeeded is an error. When a run fails after requests
// were sent, as when ctx ends, Run returns what it measured with the error.
// Options that cannot work return an error wrapping ErrRemote when a host
// is not loopback.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	opts.URL = strings.TrimRight(opts.URL, "/")
	client := newHTTPClient(opts.Concurrency)
	defer client.CloseIdleConnections()

	r := &Report{Target: opts.Target, URL: opts.URL, Concurrency: opts.Concurrency}
	var err error
	if opts.Target == TargetToken {
		err = runTokens(ctx, client, opts, r)
	} else {
		err = runUploads(ctx, client, opts, r)
	}
	switch {
	case err != nil && r.Psmongo.Requests+r.Psmongo.Failed == 0:
		return nil, err
	case err != nil:
		return r, err
	case r.Psmongo.Requests == 0:
		return r, fmt.Errorf("no request succeeded; the first error: %s", r.Psmongo.FirstError)
	}
	return r, nil
}

func (o *Options) check() error {
	switch {
	case o.Ops < 1 || o.Batch < 1 || o.Concurrency < 1:
		return errors.New("ops, batch and concurrency must be at least 1")
	case o.Target != TargetUpload && o.Target != TargetToken:
		return fmt.Errorf("unknown target %q (want upload or token)", o.Target)
	case o.Shape != ShapeConnector && o.Shape != ShapeSDK:
		return fmt.Errorf("unknown shape %q (want connector or sdk)", o.Shape)
	case o.Collection == "":
		return errors.New("the collection name is empty")
	case o.Mix.total() == 0:
		return errors.New("the mix weighs nothing")
	case o.Direct != "" && o.Target != TargetUpload:
		return errors.New("a direct run goes with the upload target only")
	case o.Sample < 0:
		return errors.New("the sampling interval is negative")
	}
	if o.Sample == 0 {
		o.Sample = DefaultSample
	}

	if err := checkLoopbackURL(o.URL); err != nil {
		if !errors.Is(err, ErrRemote) || !o.AllowRemote {
			return fmt.Errorf("server URL: %w", err)
		}
	}
	if o.Direct != "" && !o.AllowRemote {
		if err := checkLoopbackMongo(o.Direct); err != nil {
			return fmt.Errorf("direct MongoDB URI: %w", err)
		}
	}
	return nil
}

// newHTTPClient returns a client that keeps a connection per worker, plus
// one for /metrics, and never goes through a proxy.
func newHTTPClient(workers int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.MaxIdleConnsPerHost = workers + 1
	t.DisableCompression = true
	return &http.Client{Transport: t, Timeout: time.Minute, CheckRedirect: refuseRedirect}
}

// refuseRedirect keeps bench on the server it was pointed at: psmongo
// never redirects, and a redirect could lead past the loopback check.
func refuseRedirect(req *http.Request, _ []*http.Request) error {
	return fmt.Errorf("the server redirected to %s; psmongo does not redirect", req.URL.Redacted())
}

// runUploads sends the generated batches to /upload, then, with
// opts.Direct, the same ops straight to MongoDB.
func runUploads(ctx context.Context, client *http.Client, opts Options, r *Report) error {
	r.Shape, r.Mix, r.Collection, r.Batch = opts.Shape, opts.Mix.String(), opts.Collection, opts.Batch
	token := opts.Token
	if token == "" {
		var err error
		if token, err = fetchToken(ctx, client, opts.URL, opts.UserID); err != nil {
			return fmt.Errorf("getting a token (or pass --token): %w", err)
		}
	}

	wl := newWorkload(rand.Uint32(), opts.Ops, opts.Batch, opts.Concurrency, opts.Mix)
	bodies := renderBodies(wl, opts.Shape, opts.Collection)
	u := &uploader{client: client, url: opts.URL + "/upload", auth: "Bearer " + token}
	warmUp(ctx, client, opts.URL, opts.Concurrency)
	r.Psmongo, r.Server, r.ServerNote = measure(ctx, client, opts, func() Phase {
		return drive(ctx, wl.requests(), "psmongo", wl.ops, opts.Progress, func(ctx context.Context, w, j int) result {
			return u.send(ctx, bodies[w][j])
		})
	})
	if err := ctx.Err(); err != nil {
		return err
	}
	if opts.Direct == "" {
		return nil
	}

	direct, err := runDirect(ctx, opts)
	if err != nil {
		return err
	}
	r.Direct = &direct
	if direct.OpsPerSec > 0 {
		r.Ratio = r.Psmongo.OpsPerSec / direct.OpsPerSec
	}
	return nil
}

// renderBodies returns each worker's upload bodies. The SDK shape gives
// each worker, a client, its own rising op ids and one transaction per
// batch.
func renderBodies(wl workload, shape, collection string) [][][]byte {
	out := make([][][]byte, len(wl.batches))
	for w, batches := range wl.batches {
		opID := int64(1)
		for j, ops := range batches {
			out[w] = append(out[w], body(ops, shape, collection, opID, int64(j+1)))
			opID += int64(len(ops))
		}
	}
	return out
}

// runTokens requests opts.Ops tokens, each for a user of its own, as many
// clients starting at once would.
func runTokens(ctx context.Context, client *http.Client, opts Options, r *Report) error {
	perWorker := make([]int, opts.Concurrency)
	for i := range opts.Ops {
		perWorker[i%opts.Concurrency]++
	}
	warmUp(ctx, client, opts.URL, opts.Concurrency)
	r.Psmongo, r.Server, r.ServerNote = measure(ctx, client, opts, func() Phase {
		return drive(ctx, perWorker, "tokens", opts.Ops, opts.Progress, func(ctx context.Context, w, j int) result {
			user := fmt.Sprintf("%s-%d-%d", opts.UserID, w, j)
			start := time.Now()
			_, err := fetchToken(ctx, client, opts.URL, user)
			if err != nil {
				return result{took: time.Since(start), err: err}
			}
			return result{ops: 1, took: time.Since(start)}
		})
	})
	return ctx.Err()
}

// measure runs a phase against the server and reads the server's process
// metrics around it. Without them it returns a nil *Server and says why.
func measure(ctx context.Context, client *http.Client, opts Options, run func() Phase) (Phase, *Server, string) {
	before, err := scrape(ctx, client, opts.URL)
	if err != nil {
		return run(), nil, err.Error()
	}
	s := startSampler(ctx, client, opts.URL, opts.Sample)
	p := run()
	peak, samples := s.finish()
	after, err := scrape(ctx, client, opts.URL)
	if err != nil {
		return p, nil, err.Error()
	}

	srv := &Server{
		CPUSeconds: after.cpuSeconds - before.cpuSeconds,
		PeakRSSMiB: max(peak, before.rssBytes, after.rssBytes) / (1 << 20),
		RSSSamples: samples + 2,
	}
	if n := p.Ops + p.Rejected; n > 0 {
		srv.CPUMicrosPerOp = srv.CPUSeconds * 1e6 / float64(n)
	}
	return p, srv, ""
}

// drive sends each worker's requests in order, all workers at once, and
// sums up what they saw. send sends request j of worker w.
func drive(ctx context.Context, requests []int, label string, total int, bar io.Writer,
	send func(ctx context.Context, w, j int) result) Phase {
	prog := startProgress(bar, label, total)
	tallies := make([]tally, len(requests))
	var wg sync.WaitGroup
	start, cpu := time.Now(), cputime.Process()
	for w, n := range requests {
		wg.Go(func() {
			for j := 0; j < n && ctx.Err() == nil; j++ {
				res := send(ctx, w, j)
				tallies[w].add(res)
				prog.add(res.ops + res.rejected)
			}
		})
	}
	wg.Wait()
	elapsed, cpu := time.Since(start), cputime.Process()-cpu
	prog.finish()

	p := phase(tallies, elapsed)
	if n := p.Ops + p.Rejected; n > 0 && cpu > 0 {
		p.ClientCPUMicrosPerOp = float64(cpu.Microseconds()) / float64(n)
	}
	return p
}

// warmUp opens a connection per worker before anything is timed.
func warmUp(ctx context.Context, client *http.Client, base string, workers int) {
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
			if err != nil {
				return
			}
			if resp, err := client.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
}
