// Package cli holds psmongo's commands, one per file.
package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X github.com/psmongo/psmongo/cli.version=...".
var version = "dev"

// Main runs the command line and returns the process's exit code. An error
// is printed once, on one line.
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first signal asks for a graceful shutdown; a second one ends the
	// process at once, as the signal's default does.
	context.AfterFunc(ctx, stop)

	if err := newRootCommand().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "psmongo:", err)
		return 1
	}
	return 0
}

// newRootCommand returns psmongo and its subcommands.
func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "psmongo",
		Short:         "A self-hosted backend for PowerSync apps on MongoDB",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// --version prints what psmongo version prints.
	root.SetVersionTemplate("psmongo {{.Version}}\n")
	root.PersistentFlags().String("config", "", "config file (default config.yaml in the working directory, if present)")

	root.AddCommand(
		newServeCommand(),
		newKeysCommand(),
		newTokenCommand(),
		newScaffoldCommand(),
		newDoctorCommand(),
		newBenchCommand(),
		newDevstoreCommand(),
		newHealthcheckCommand(),
		newVersionCommand(),
	)
	return root
}

// configFile returns the --config flag.
func configFile(cmd *cobra.Command) string {
	f, _ := cmd.Flags().GetString("config")
	return f
}
