package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/psmongo/psmongo/app"
)

// benchFlags are the knobs of psmongo bench.
type benchFlags struct {
	url         string
	token       string
	userID      string
	table       string
	requests    int
	duration    time.Duration
	concurrency int
	batch       int
}

func newBenchCommand() *cobra.Command {
	var f benchFlags
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Drive uploads against a running server and report ops/s and latency",
		Long: "Drive uploads against a running server: each request is a batch of PUTs\n" +
			"and PATCHes on one table, with a transaction id per request. It stops after\n" +
			"--requests or --duration, whichever comes first, and prints throughput and\n" +
			"latency percentiles. Point it only at a server you run.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.url == "" {
				cfg, err := app.LoadConfig(configFile(cmd))
				if err != nil {
					return err
				}
				f.url = fmt.Sprintf("http://127.0.0.1:%d", cfg.Server.Port)
			}
			return runBench(cmd.Context(), cmd.OutOrStdout(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.url, "url", "", "the server's base URL (default http://127.0.0.1:<server.port>)")
	fl.StringVar(&f.token, "token", "", "bearer token for uploads (default: one from GET /token)")
	fl.StringVar(&f.userID, "user-id", "bench", "user id to request a token for")
	fl.StringVar(&f.table, "table", "bench_items", "collection to write")
	fl.IntVar(&f.requests, "requests", 2000, "stop after this many requests")
	fl.DurationVar(&f.duration, "duration", 30*time.Second, "stop after this long")
	fl.IntVar(&f.concurrency, "concurrency", 4, "requests in flight")
	fl.IntVar(&f.batch, "batch", 20, "ops per request")
	return cmd
}

func runBench(ctx context.Context, w io.Writer, f benchFlags) error {
	if f.requests < 1 || f.concurrency < 1 || f.batch < 1 || f.duration <= 0 {
		return fmt.Errorf("--requests, --concurrency, --batch and --duration must be positive")
	}
	base, err := url.Parse(strings.TrimRight(f.url, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") {
		return fmt.Errorf("--url %q is not an http or https URL", f.url)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	if f.token == "" {
		if f.token, err = benchToken(ctx, client, base.String(), f.userID); err != nil {
			return err
		}
	}

	ctx, cancel := context.WithTimeout(ctx, f.duration)
	defer cancel()
	start := time.Now()
	r := benchRun(ctx, client, base.String()+"/upload", f)
	r.print(w, f, time.Since(start))
	if r.ok == 0 {
		return fmt.Errorf("no upload succeeded")
	}
	return nil
}

// benchToken gets a token from the server's /token, for open mode.
func benchToken(ctx context.Context, client *http.Client, base, userID string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/token?user_id="+url.QueryEscape(userID), nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("getting a token: %w", err)
	}
	defer resp.Body.Close()
	var body struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 || body.Token == "" {
		return "", fmt.Errorf("getting a token: GET /token answered %d; pass --token", resp.StatusCode)
	}
	return body.Token, nil
}

// benchResult collects what the workers saw.
type benchResult struct {
	mu        sync.Mutex
	latencies []time.Duration
	statuses  map[int]int
	ok, ops   int
	errors    int
}

func benchRun(ctx context.Context, client *http.Client, target string, f benchFlags) *benchResult {
	r := &benchResult{statuses: make(map[int]int)}
	next := make(chan int)
	go func() {
		defer close(next)
		for i := 0; i < f.requests; i++ {
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()

	var wg sync.WaitGroup
	for range f.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				r.record(benchOne(ctx, client, target, f, i))
			}
		}()
	}
	wg.Wait()
	return r
}

type benchSample struct {
	status int
	ops    int
	took   time.Duration
	err    error
}

// benchOne posts request i: a batch of PUTs, every fourth op a PATCH of
// the document before it, on ids that recur so that updates hit documents.
func benchOne(ctx context.Context, client *http.Client, target string, f benchFlags, i int) benchSample {
	var b bytes.Buffer
	b.WriteString(`{"batch":[`)
	for j := 0; j < f.batch; j++ {
		if j > 0 {
			b.WriteByte(',')
		}
		id := (i*f.batch + j) % 10000
		op, data := "PUT", fmt.Sprintf(`{"title":"item %d","done":%d,"n":%d}`, id, j%2, i)
		if j%4 == 3 {
			id, op, data = id-1, "PATCH", `{"done":1}`
		}
		fmt.Fprintf(&b, `{"op_id":%d,"op":"%s","type":"%s","id":"b%d","tx_id":%d,"data":%s}`,
			i*f.batch+j, op, f.table, id, i, data)
	}
	b.WriteString(`]}`)

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, &b)
	if err != nil {
		return benchSample{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+f.token)
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return benchSample{err: err}
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return benchSample{status: resp.StatusCode, ops: f.batch, took: time.Since(start)}
}

func (r *benchResult) record(s benchSample) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s.err != nil {
		r.errors++ // includes requests cut off when --duration ends
		return
	}
	r.statuses[s.status]++
	r.latencies = append(r.latencies, s.took)
	if s.status == http.StatusOK {
		r.ok++
		r.ops += s.ops
	}
}

func (r *benchResult) print(w io.Writer, f benchFlags, elapsed time.Duration) {
	slices.Sort(r.latencies)
	pct := func(p float64) time.Duration {
		if len(r.latencies) == 0 {
			return 0
		}
		return r.latencies[int(p*float64(len(r.latencies)-1))]
	}
	fmt.Fprintf(w, "requests   %d ok of %d sent (%d ops each, concurrency %d), %d transport errors\n",
		r.ok, len(r.latencies), f.batch, f.concurrency, r.errors)
	fmt.Fprintf(w, "statuses   %v\n", r.statuses)
	fmt.Fprintf(w, "throughput %.0f ops/s, %.1f requests/s over %s\n",
		float64(r.ops)/elapsed.Seconds(), float64(r.ok)/elapsed.Seconds(), elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "latency    p50 %s  p90 %s  p99 %s  max %s\n",
		pct(0.50).Round(time.Microsecond), pct(0.90).Round(time.Microsecond),
		pct(0.99).Round(time.Microsecond), pct(1).Round(time.Microsecond))
}
