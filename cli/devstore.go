package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/psmongo/psmongo/app"
	"github.com/psmongo/psmongo/devstore"
)

// newDevstoreCommand runs the embedded store on its own, so that benchmarks
// and end-to-end tests can measure psmongo apart from its database, or stop
// the database under a running server.
func newDevstoreCommand() *cobra.Command {
	var port int
	var dir string
	cmd := &cobra.Command{
		Use:   "devstore",
		Short: "Run only the embedded development store",
		Long: "Run only the embedded development store (FerretDB on SQLite) on 127.0.0.1, " +
			"print its mongodb:// URI on one line once it accepts connections, and " +
			"stop it on SIGINT or SIGTERM. It has no change streams and no transactions.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := app.LoadConfig(configFile(cmd))
			if err != nil {
				return err
			}
			if dir == "" {
				dir = filepath.Join(cfg.DataDir, "mongo")
			}
			logger := app.NewLogger(cfg.Log, os.Stderr)

			store, err := devstore.StartOnPort(cmd.Context(), dir, port, logger)
			if err != nil {
				return err
			}
			if _, err := fmt.Fprintln(cmd.OutOrStdout(), store.URI()); err != nil {
				_ = store.Close()
				return err
			}
			<-cmd.Context().Done()
			return store.Close()
		},
	}
	cmd.Flags().IntVar(&port, "port", 0, "port on 127.0.0.1 (default a free one)")
	cmd.Flags().StringVar(&dir, "data-dir", "", "directory of the store's files (default DATA_DIR/mongo)")
	return cmd
}
