package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/psmongo/psmongo/app"
	"github.com/psmongo/psmongo/bench"
)

func newBenchCommand() *cobra.Command {
	var (
		opts       bench.Options
		mix        string
		asJSON     bool
		noProgress bool
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Drive a running server over HTTP and report throughput, latency and its CPU per op",
		Long: "Drive a running server with uploads of generated todo documents (or, with\n" +
			"--target token, with token requests) and print ops/s, requests/s, latency\n" +
			"percentiles, and the server's CPU time per op and peak resident memory from\n" +
			"its /metrics. With --direct it then writes the same ops straight to MongoDB,\n" +
			"one ordered bulk write per batch, and prints psmongo's ops/s over the\n" +
			"direct ones. Ids are new on every run. It refuses hosts other than this\n" +
			"machine's loopback unless --allow-remote is given.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if opts.Mix, err = bench.ParseMix(mix); err != nil {
				return err // it names the mix
			}
			if opts.URL == "" {
				cfg, err := app.LoadConfig(configFile(cmd))
				if err != nil {
					return err
				}
				opts.URL = fmt.Sprintf("http://127.0.0.1:%d", cfg.Server.Port)
			}
			if !noProgress && isTerminal(os.Stderr) {
				opts.Progress = os.Stderr
			}

			report, err := bench.Run(cmd.Context(), opts)
			if errors.Is(err, bench.ErrRemote) {
				err = fmt.Errorf("%w; bench is meant for servers on this machine (--allow-remote to drive another)", err)
			}
			if report != nil {
				if werr := printReport(cmd.OutOrStdout(), report, asJSON); werr != nil {
					return werr
				}
			}
			return err
		},
	}

	fl := cmd.Flags()
	fl.StringVar(&opts.URL, "url", "", "the server's base URL (default http://127.0.0.1:<server.port>)")
	fl.StringVar(&opts.Token, "token", "", "bearer token for uploads (default: one from GET /token for --user-id)")
	fl.StringVar(&opts.UserID, "user-id", "bench", "the user to get tokens for")
	fl.StringVar(&opts.Target, "target", bench.TargetUpload, "what to drive: upload (POST /upload) or token (GET /token)")
	fl.IntVar(&opts.Ops, "ops", 10000, "ops to send (with --target token, tokens to request)")
	fl.IntVar(&opts.Batch, "batch", 100, "ops per upload; 100 is the SDK's batch")
	fl.IntVar(&opts.Concurrency, "concurrency", 8, "requests in flight, each worker a client of its own")
	fl.StringVar(&mix, "mix", bench.DefaultMix.String(), "weights of the op kinds")
	fl.StringVar(&opts.Shape, "shape", bench.ShapeConnector,
		"op shape: connector (table, op, id, data) or sdk (CrudEntry.toJSON(), one tx_id per batch)")
	fl.StringVar(&opts.Collection, "collection", "bench_todos", "the collection to write")
	fl.StringVar(&opts.Direct, "direct", "", "a MongoDB URI to write the same ops to directly, for comparison")
	fl.StringVar(&opts.Database, "database", "", "the database of --direct (default the URI's, else powersync)")
	fl.DurationVar(&opts.Sample, "sample-every", bench.DefaultSample,
		"how often the server's resident memory is read; each reading costs the server CPU")
	fl.BoolVar(&opts.AllowRemote, "allow-remote", false, "allow a --url or --direct host other than loopback")
	fl.BoolVar(&asJSON, "json", false, "print the report as JSON")
	fl.BoolVar(&noProgress, "no-progress", false, "draw no progress bar")
	return cmd
}

// printReport writes the report for people, or as JSON.
func printReport(w io.Writer, report *bench.Report, asJSON bool) error {
	if !asJSON {
		return report.WriteText(w)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(report)
}

// isTerminal reports whether f is a terminal, where a progress bar can be
// redrawn in place.
func isTerminal(f *os.File) bool {
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
