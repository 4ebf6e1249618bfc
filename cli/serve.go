package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/psmongo/psmongo/app"
)

func newServeCommand() *cobra.Command {
	var logFormat, pprofAddr string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the server",
		Long: "Run the server. With no mongodb.uri it starts the embedded development " +
			"store under the data directory. On SIGTERM or SIGINT it stops accepting " +
			"connections, lets the requests in flight finish for up to " +
			"server.shutdown_timeout, then closes MongoDB; a second signal ends it at once.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if logFormat != "" && logFormat != app.LogJSON && logFormat != app.LogText {
				return fmt.Errorf("--log-format: %q is not %s or %s", logFormat, app.LogJSON, app.LogText)
			}
			cfg, err := app.LoadConfig(configFile(cmd))
			if err != nil {
				return err
			}
			if logFormat != "" {
				cfg.Log.Format = logFormat
			}
			logger := app.NewLogger(cfg.Log, os.Stderr)
			if pprofAddr != "" {
				if err := servePprof(cmd.Context(), pprofAddr, logger); err != nil {
					return err
				}
			}
			return app.Run(cmd.Context(), cfg, logger)
		},
	}
	cmd.Flags().StringVar(&logFormat, "log-format", "", "log format, json or text (default log.format)")
	cmd.Flags().StringVar(&pprofAddr, "pprof", "",
		"serve Go's profiles (net/http/pprof) on this loopback host:port, for benchmarks; off by default")
	return cmd
}
