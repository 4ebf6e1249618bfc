package cli

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/psmongo/psmongo/app"
)

func newServeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the server",
		Long: "Run the server. With no mongodb.uri it starts the embedded development " +
			"store under the data directory.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := app.LoadConfig(configFile(cmd))
			if err != nil {
				return err
			}
			return app.Run(cmd.Context(), cfg, app.NewLogger(cfg.Log, os.Stderr))
		},
	}
}
