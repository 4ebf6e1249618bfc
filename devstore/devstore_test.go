package devstore

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

func TestStartServesClients(t *testing.T) {
	s := startStore(t, t.TempDir(), defaultIndexing)
	db := testDatabase(t, connect(t, s.URI()))

	if !strings.HasPrefix(s.URI(), "mongodb://127.0.0.1:") {
		t.Errorf("URI() = %q, want mongodb://127.0.0.1:PORT/", s.URI())
	}

	want := bson.M{"_id": "a1", "title": "milk", "done": false}
	if _, err := db.Collection("todos").InsertOne(t.Context(), want); err != nil {
		t.Fatalf("InsertOne(%v): %v", want, err)
	}

	var got bson.M
	err := db.Collection("todos").FindOne(t.Context(), bson.M{"_id": "a1"}).Decode(&got)
	if err != nil {
		t.Fatalf("FindOne(_id a1): %v", err)
	}

	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FindOne(_id a1) mismatch (-want +got):\n%s", diff)
	}
}

func TestCloseStopsStore(t *testing.T) {
	s := startStore(t, t.TempDir(), defaultIndexing)

	if err := s.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}

	if err := s.Close(); err != nil {
		t.Errorf("second Close() = %v, want nil", err)
	}

	if err := s.EnsureIndexes(t.Context()); !errors.Is(err, ErrClosed) {
		t.Errorf("EnsureIndexes() after Close = %v, want ErrClosed", err)
	}

	client := connectWithTimeout(t, s.URI(), 500*time.Millisecond)
	if err := client.Ping(t.Context(), nil); err == nil {
		t.Errorf("Ping(%s) after Close succeeded, want an error", s.URI())
	}
}

func TestRestartKeepsData(t *testing.T) {
	dir := t.TempDir()
	doc := bson.M{"_id": "kept", "n": int32(7)}

	first := startStore(t, dir, defaultIndexing)
	insertAndDisconnect(t, first.URI(), doc)

	if err := first.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}

	second := startStore(t, dir, defaultIndexing)
	db := testDatabase(t, connect(t, second.URI()))

	var got bson.M
	if err := db.Collection("items").FindOne(t.Context(), bson.M{"_id": "kept"}).Decode(&got); err != nil {
		t.Fatalf("FindOne(_id kept) after restart: %v", err)
	}

	if diff := cmp.Diff(doc, got); diff != "" {
		t.Errorf("FindOne(_id kept) after restart mismatch (-want +got):\n%s", diff)
	}
}

func TestStartConcurrently(t *testing.T) {
	const stores = 3

	uris := make(chan string, stores)
	for range stores {
		go func() {
			s, err := start(t.Context(), t.TempDir(), 0, testLogger(t), defaultIndexing)
			if err != nil {
				t.Errorf("starting store: %v", err)
				uris <- ""
				return
			}
			t.Cleanup(func() { _ = s.Close() })
			uris <- s.URI()
		}()
	}

	seen := map[string]bool{}
	for range stores {
		uri := <-uris
		if uri == "" {
			continue
		}

		if seen[uri] {
			t.Errorf("two stores share URI %s", uri)
		}
		seen[uri] = true

		client := connect(t, uri)
		if err := client.Ping(t.Context(), nil); err != nil {
			t.Errorf("Ping(%s) = %v", uri, err)
		}
	}
}

func TestStartTemp(t *testing.T) {
	s, cleanup, err := StartTemp(t.Context(), testLogger(t))
	if err != nil {
		t.Fatalf("StartTemp() = %v", err)
	}

	dir := s.indexer.dir
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("data directory while running: %v", err)
	}

	client := connectWithTimeout(t, s.URI(), 5*time.Second)
	if err := client.Ping(t.Context(), nil); err != nil {
		t.Errorf("Ping(%s) = %v", s.URI(), err)
	}

	if err := client.Disconnect(t.Context()); err != nil {
		t.Errorf("Disconnect() = %v", err)
	}

	cleanup()

	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("data directory after cleanup: Stat() = %v, want not exist", err)
	}
}

func TestPrepareDir(t *testing.T) {
	base := t.TempDir()

	tests := []struct {
		name    string
		dir     string
		wantErr bool
	}{
		{name: "existing", dir: base},
		{name: "missing nested", dir: filepath.Join(base, "a", "b")},
		{name: "with space", dir: filepath.Join(base, "with space")},
		{name: "empty", dir: "", wantErr: true},
		{name: "question mark", dir: filepath.Join(base, "what?"), wantErr: true},
		{name: "percent", dir: filepath.Join(base, "100%"), wantErr: true},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := prepareDir(tt.dir)
			if tt.wantErr {
				if err == nil {
					t.Errorf("prepareDir(%q) = %q, nil; want an error", tt.dir, got)
				}
				return
			}

			if err != nil {
				t.Fatalf("prepareDir(%q) = %v", tt.dir, err)
			}

			if fi, err := os.Stat(got); err != nil || !fi.IsDir() {
				t.Errorf("prepareDir(%q) = %q, which is not a directory (%v)", tt.dir, got, err)
			}
		})
	}
}

func TestSQLiteURL(t *testing.T) {
	tests := []struct {
		name string
		dir  string
		want string
	}{
		{name: "plain", dir: "/var/lib/psmongo", want: "file:/var/lib/psmongo/"},
		{name: "space", dir: "/srv/my data", want: "file:/srv/my%20data/"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sqliteURL(tt.dir); got != tt.want {
				t.Errorf("sqliteURL(%q) = %q, want %q", tt.dir, got, tt.want)
			}
		})
	}
}

// startStore starts a store on dir that indexes as ix says and closes it when
// the test ends.
func startStore(t testing.TB, dir string, ix indexing) *Store {
	t.Helper()

	s, err := start(t.Context(), dir, 0, testLogger(t), ix)
	if err != nil {
		t.Fatalf("starting store in %s: %v", dir, err)
	}

	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
	})

	return s
}

// testLogger returns a logger that writes everything to the test's output.
func testLogger(t testing.TB) *slog.Logger {
	t.Helper()

	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// connect returns a client of the server at uri, disconnected when the test
// ends (before the store closes, if the store was started first).
func connect(t testing.TB, uri string) *mongo.Client {
	t.Helper()

	client := connectWithTimeout(t, uri, 5*time.Second)
	t.Cleanup(func() {
		// t.Context is already canceled here.
		if err := client.Disconnect(context.Background()); err != nil {
			t.Errorf("Disconnect() = %v", err)
		}
	})

	return client
}

// connectWithTimeout returns a client of the server at uri that gives up
// selecting a server after timeout. The caller disconnects it.
func connectWithTimeout(t testing.TB, uri string, timeout time.Duration) *mongo.Client {
	t.Helper()

	opts := options.Client().ApplyURI(uri).SetServerSelectionTimeout(timeout)

	client, err := mongo.Connect(t.Context(), opts)
	if err != nil {
		t.Fatalf("mongo.Connect(%s) = %v", uri, err)
	}

	return client
}

// testDatabase returns the test's own database, named from t.Name() and
// dropped when the test ends.
func testDatabase(t testing.TB, client *mongo.Client) *mongo.Database {
	t.Helper()

	db := client.Database(databaseName(t))
	t.Cleanup(func() {
		if err := db.Drop(context.Background()); err != nil {
			t.Errorf("dropping database %s: %v", db.Name(), err)
		}
	})

	return db
}

// databaseName turns the test's name into a valid database name.
func databaseName(t testing.TB) string {
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-':
			return r
		default:
			return '_'
		}
	}, t.Name())

	return name[:min(len(name), 63)]
}

// insertAndDisconnect inserts doc into the test database's items collection
// through a client of its own.
func insertAndDisconnect(t testing.TB, uri string, doc bson.M) {
	t.Helper()

	client := connectWithTimeout(t, uri, 5*time.Second)
	coll := client.Database(databaseName(t)).Collection("items")

	if _, err := coll.InsertOne(t.Context(), doc); err != nil {
		t.Fatalf("InsertOne(%v): %v", doc, err)
	}

	if err := client.Disconnect(t.Context()); err != nil {
		t.Fatalf("Disconnect() = %v", err)
	}
}
