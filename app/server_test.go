package app

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/psmongo/psmongo/devstore/devstoretest"
	"github.com/psmongo/psmongo/hooks"
)

// testServer is a Server on a database of the test's own, serving on a
// loopback listener until the test ends.
type testServer struct {
	*Server
	url  string
	logs *syncBuffer // what the server logged, as JSON lines
}

// newTestServer builds the server from configYAML plus the environment the
// test set, with reg as its hooks (nil for none).
func newTestServer(t *testing.T, configYAML string, reg *hooks.Registry) *testServer {
	t.Helper()
	devstoretest.Database(t) // dropped when the test ends
	t.Setenv("PSMONGO_MONGODB_URI", devstoretest.URI())
	t.Setenv("PSMONGO_MONGODB_DATABASE", devstoretest.DatabaseName(t))
	t.Setenv("PSMONGO_DATA_DIR", t.TempDir())

	cfg, err := LoadConfig(writeConfig(t, configYAML))
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	if reg == nil {
		reg = &hooks.Registry{}
	}
	cfg.Hooks = reg

	logs := &syncBuffer{}
	s, err := New(t.Context(), cfg, NewLogger(LogConfig{Level: slog.LevelDebug, Format: LogJSON}, logs))
	if err != nil {
		t.Fatalf("New: %v", err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ServeListener(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeListener: %v", err)
		}
		s.Close(context.Background())
		if t.Failed() {
			t.Logf("server log:\n%s", logs)
		}
	})
	return &testServer{Server: s, url: "http://" + ln.Addr().String(), logs: logs}
}

// do sends a request and returns its status, headers and body.
func (s *testServer) do(t *testing.T, method, path, body string, header map[string]string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, s.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// syncBuffer is a bytes.Buffer that a logger and a test share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
