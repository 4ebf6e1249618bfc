package cli

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/psmongo/psmongo/app"
)

func newTokenCommand() *cobra.Command {
	var (
		userID string
		ttl    time.Duration
	)
	cmd := &cobra.Command{
		Use:   "token --user-id U",
		Short: "Print a token for a user, signed with the configured key",
		Long: "Print a token for a user, signed with the configured key (or the " +
			"development key under the data directory), as GET /token would.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := app.LoadConfig(configFile(cmd))
			if err != nil {
				return err
			}
			logger := slog.New(slog.NewTextHandler(io.Discard, nil))
			if cfg.Auth.PrivateKey == "" {
				logger = app.NewLogger(cfg.Log, os.Stderr)
			}
			set, err := app.LoadKeys(cfg, logger)
			if err != nil {
				return err
			}
			signer, err := app.NewSigner(cfg, set, ttl)
			if err != nil {
				return fmt.Errorf("--ttl: %w", err)
			}

			token, _, err := signer.Issue(userID, time.Now())
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), token)
			return err
		},
	}
	cmd.Flags().StringVar(&userID, "user-id", "", "the user the token is for (its sub claim)")
	cmd.Flags().DurationVar(&ttl, "ttl", 0, "lifetime, 1m to 24h (default auth.token_ttl)")
	_ = cmd.MarkFlagRequired("user-id")
	return cmd
}
