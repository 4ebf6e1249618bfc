package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/psmongo/psmongo/app"
)

// doctorReport is what doctor --json prints.
type doctorReport struct {
	OK       bool        `json:"ok"` // no check failed
	Failed   int         `json:"failed"`
	Warnings int         `json:"warnings"`
	Checks   []app.Check `json:"checks"`
}

func newDoctorCommand() *cobra.Command {
	var asJSON bool
	var opts app.DoctorOptions
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check, item by item, that MongoDB and the keys are ready for PowerSync",
		Long: "Check, item by item, that MongoDB, the keys and the settings are ready for PowerSync. " +
			"Each line is ok, WARN (development-only or missing optional things) or FAIL (sync breaks), " +
			"with the fix for it. The exit status is 1 when a check fails.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch opts.PostImages {
			case "", app.PostImagesOff, app.PostImagesAutoConfigure, app.PostImagesReadOnly:
			default:
				return fmt.Errorf("--post-images: %q is not off, auto_configure or read_only", opts.PostImages)
			}

			checks := app.DoctorFile(cmd.Context(), configFile(cmd), opts)
			r := newDoctorReport(checks)
			if err := r.write(cmd.OutOrStdout(), asJSON); err != nil {
				return err
			}
			if r.Failed > 0 {
				return fmt.Errorf("doctor: %d of %d checks failed", r.Failed, len(r.Checks))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the checks as one JSON object")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", app.DefaultDoctorTimeout,
		"longest wait for each call to MongoDB, connecting included")
	cmd.Flags().StringVar(&opts.PostImages, "post-images", "",
		"the PowerSync Service's post_images setting (off, auto_configure or read_only), to judge "+
			"changeStreamPreAndPostImages by")
	return cmd
}

func newDoctorReport(checks []app.Check) doctorReport {
	r := doctorReport{Checks: checks}
	for _, c := range checks {
		switch c.Level {
		case app.CheckFail:
			r.Failed++
		case app.CheckWarn:
			r.Warnings++
		}
	}
	r.OK = r.Failed == 0
	return r
}

// write prints the report as JSON, or one line per check.
func (r doctorReport) write(w io.Writer, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}

	var b strings.Builder
	for _, c := range r.Checks {
		if c.Level == app.CheckOK {
			fmt.Fprintf(&b, "ok    %s: %s\n", c.ID, c.Message)
			continue
		}
		// Upper case makes the lines that need work stand out.
		fmt.Fprintf(&b, "%-4s  %s: %s; fix: %s\n", strings.ToUpper(string(c.Level)), c.ID, c.Message, c.Fix)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
