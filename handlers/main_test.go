package handlers_test

import (
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/psmongo/psmongo/app"
	"github.com/psmongo/psmongo/app/apptest"
	"github.com/psmongo/psmongo/devstore/devstoretest"
	"github.com/psmongo/psmongo/hooks"
)

func TestMain(m *testing.M) {
	os.Exit(devstoretest.Main(m))
}

// testServer is psmongo built from a config, on a database of the test's own.
type testServer struct {
	*app.Server
	URL string // of a real listener on 127.0.0.1
}

// newServer builds the server from configYAML plus the environment the test
// set, against uri ("" for the shared test deployment), and serves it on a
// loopback listener until the test ends.
func newServer(t *testing.T, uri, configYAML string) *testServer {
	t.Helper()
	if uri == "" {
		uri = devstoretest.URI()
		devstoretest.Database(t) // dropped when the test ends
	}
	t.Setenv("PSMONGO_MONGODB_URI", uri)
	t.Setenv("PSMONGO_MONGODB_DATABASE", devstoretest.DatabaseName(t))
	setDefaultEnv(t, "PSMONGO_DATA_DIR", t.TempDir())
	setDefaultEnv(t, "PSMONGO_AUTH_UPLOAD_MODE", "none")

	file := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(file, []byte(configYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := app.LoadConfig(file)
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	cfg.Hooks = &hooks.Registry{} // the project's own hooks are not under test here

	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	s, err := app.New(t.Context(), cfg, logger)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	return serve(t, s)
}

func serve(t *testing.T, s *app.Server) *testServer {
	t.Helper()
	return &testServer{Server: s, URL: apptest.Serve(t, s)}
}

// do sends a request to the real listener and returns status and body.
func (s *testServer) do(t *testing.T, method, path, body string, header map[string]string) (int, http.Header, string) {
	t.Helper()
	return apptest.Do(t, s.URL, method, path, body, header)
}

// setDefaultEnv sets an environment variable for the test unless the test
// set it already.
func setDefaultEnv(t *testing.T, name, value string) {
	t.Helper()
	if os.Getenv(name) == "" {
		t.Setenv(name, value)
	}
}
