package cli

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/psmongo/psmongo/app"
)

// newHealthcheckCommand asks a running server whether it is up. It is the
// container's HEALTHCHECK, which runs without a shell or curl in the image.
func newHealthcheckCommand() *cobra.Command {
	var url string
	var ready bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "healthcheck",
		Short: "Check that a running server answers",
		Long: "GET the server's /healthz, or /readyz with --ready (MongoDB answers too), " +
			"and exit 0 on 200 and 1 otherwise. The server is " +
			"http://127.0.0.1:<server.port> unless --url names another.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if url == "" {
				cfg, err := app.LoadConfig(configFile(cmd))
				if err != nil {
					return err
				}
				url = localURL(cfg.Server)
			}
			path := "/healthz"
			if ready {
				path = "/readyz"
			}

			target := strings.TrimSuffix(url, "/") + path
			if err := check(cmd, target, timeout); err != nil {
				return err
			}
			_, err := fmt.Fprintln(cmd.OutOrStdout(), "ok:", target)
			return err
		},
	}
	cmd.Flags().StringVar(&url, "url", "", "the server's base URL (default http://127.0.0.1:<server.port>)")
	cmd.Flags().BoolVar(&ready, "ready", false, "check /readyz, which needs MongoDB to answer, instead of /healthz")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Second, "how long to wait for the answer")
	return cmd
}

// localURL returns the URL of the server that cfg describes, on this
// machine: the loopback address when it listens on every interface.
func localURL(cfg app.ServerConfig) string {
	host := cfg.Host
	if host == "" || net.ParseIP(host) != nil && net.ParseIP(host).IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(cfg.Port))
}

// check gets target and fails unless it answers 200 within timeout.
func check(cmd *cobra.Command, target string, timeout time.Duration) error {
	// No proxy: the server is asked directly, whatever HTTP_PROXY says.
	client := &http.Client{Timeout: timeout, Transport: &http.Transport{Proxy: nil}}
	req, err := http.NewRequestWithContext(cmd.Context(), http.MethodGet, target, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %v", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %v", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: GET %s: %s", target, resp.Status)
	}
	return nil
}
