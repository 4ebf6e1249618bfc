package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/psmongo/psmongo/app"
)

func newDoctorCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "doctor",
		Short: "Check, item by item, that MongoDB and the keys are ready for PowerSync",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := app.LoadConfig(configFile(cmd))
			if err != nil {
				return err
			}

			failed := 0
			for _, c := range app.Doctor(cmd.Context(), cfg) {
				fmt.Fprintf(cmd.OutOrStdout(), "%-4s  %s: %s\n", c.Level, c.Item, c.Detail)
				if c.Level == app.CheckFail {
					failed++
				}
			}
			if failed > 0 {
				return fmt.Errorf("%d check(s) failed", failed)
			}
			return nil
		},
	}
}
