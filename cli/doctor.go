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
			failed := 0
			for _, c := range app.DoctorFile(cmd.Context(), configFile(cmd), app.DoctorOptions{}) {
				fmt.Fprintf(cmd.OutOrStdout(), "%-4s  %s: %s", c.Level, c.ID, c.Message)
				if c.Fix != "" {
					fmt.Fprintf(cmd.OutOrStdout(), "; fix: %s", c.Fix)
				}
				fmt.Fprintln(cmd.OutOrStdout())
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
