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
	"time"

	"github.com/gofiber/fiber/v2"
	"go.mongodb.org/mongo-driver/bson"

	"github.com/psmongo/psmongo/app/apptest"
	"github.com/psmongo/psmongo/devstore/devstoretest"
	"github.com/psmongo/psmongo/hooks"
	"github.com/psmongo/psmongo/keys"
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

	url := apptest.Serve(t, s)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", logs)
		}
	})
	return &testServer{Server: s, url: url, logs: logs}
}

// do sends a request and returns its status, headers and body.
func (s *testServer) do(t *testing.T, method, path, body string, header map[string]string) (int, http.Header, string) {
	t.Helper()
	return apptest.Do(t, s.url, method, path, body, header)
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

// TestInstancesShareOnlyTheKey runs two instances on one database halfway
// through a key rotation, as during a rolling deploy: each signs with its
// own key and lists the other's public key. A client's token from either
// works on both, and its writes through either land in the same place.
func TestInstancesShareOnlyTheKey(t *testing.T) {
	oldKey, newKey := generateES256(t), generateES256(t)
	instance := func(signing, other *keys.Key) *testServer {
		private, err := signing.PrivateString()
		if err != nil {
			t.Fatal(err)
		}
		t.Setenv("POWERSYNC_PRIVATE_KEY", private)
		t.Setenv("PSMONGO_AUTH_PREVIOUS_PUBLIC_KEYS", other.Public().String())
		return newTestServer(t, metricsConfig, nil)
	}
	a, b := instance(oldKey, newKey), instance(newKey, oldKey)

	fromA, fromB := a.token(t, "alice"), b.token(t, "alice")
	b.upload(t, map[string]string{"Authorization": "Bearer " + fromA},
		`{"batch":[{"op":"PUT","type":"todos","id":"t1","data":{"n":1}}]}`)
	a.upload(t, map[string]string{"Authorization": "Bearer " + fromB},
		`{"batch":[{"op":"PATCH","type":"todos","id":"t1","data":{"n":2}}]}`)

	var doc struct{ N int }
	err := a.store.DB.Collection("todos").FindOne(t.Context(), bson.D{{Key: "_id", Value: "t1"}}).Decode(&doc)
	if err != nil || doc.N != 2 {
		t.Errorf("todos t1 = %+v, %v; want n 2, PUT through one instance, PATCHed through the other", doc, err)
	}
	for _, s := range []*testServer{a, b} {
		_, _, jwks := s.do(t, "GET", "/jwks", "", nil)
		if !strings.Contains(jwks, oldKey.ID) || !strings.Contains(jwks, newKey.ID) {
			t.Errorf("GET /jwks = %s, want both kids %s and %s", jwks, oldKey.ID, newKey.ID)
		}
	}
}

func generateES256(t *testing.T) *keys.Key {
	t.Helper()
	k, err := keys.Generate("ES256")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestServeListenerStopsWhenCanceledAtOnce ends the context before Fiber
// can have begun to serve: ServeListener must still return.
func TestServeListenerStopsWhenCanceledAtOnce(t *testing.T) {
	for range 20 {
		s := &Server{
			cfg:  &Config{Server: ServerConfig{ShutdownTimeout: time.Second}},
			log:  slog.New(slog.NewTextHandler(io.Discard, nil)),
			http: fiber.New(fiber.Config{DisableStartupMessage: true}),
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()

		done := make(chan error, 1)
		go func() { done <- s.ServeListener(ctx, ln) }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("ServeListener = %v, want nil", err)
			}
		case <-time.After(20 * time.Second): // a hang guard, not a measure
			t.Fatal("ServeListener still serves after its context ended")
		}
	}
}
