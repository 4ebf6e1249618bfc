package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/psmongo/psmongo/keys"
)

func newKeysCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Manage the keys that sign tokens",
	}
	cmd.AddCommand(newKeysGenerateCommand())
	return cmd
}

func newKeysGenerateCommand() *cobra.Command {
	var alg string
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Generate a key pair and print it as POWERSYNC_* environment lines",
		Long: "Generate a signing key pair. Prints POWERSYNC_PRIVATE_KEY and " +
			"POWERSYNC_PUBLIC_KEY lines for the environment (keep the private one " +
			"secret), then the public JWKS that /jwks will serve.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			key, err := keys.Generate(alg)
			if err != nil {
				return err
			}
			private, err := key.PrivateString()
			if err != nil {
				return err
			}
			public, err := key.PublicString()
			if err != nil {
				return err
			}
			set, err := keys.NewSet(key)
			if err != nil {
				return err
			}

			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "POWERSYNC_PRIVATE_KEY=%s\n", private)
			fmt.Fprintf(out, "POWERSYNC_PUBLIC_KEY=%s\n", public)
			fmt.Fprintf(out, "# kid %s, alg %s; the public JWKS:\n# %s\n", key.ID, key.Alg, set.JWKS())
			return nil
		},
	}
	cmd.Flags().StringVar(&alg, "alg", keys.DefaultAlg, "algorithm: RS256, ES256 or EdDSA")
	return cmd
}
