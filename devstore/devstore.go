// Package devstore runs an embedded MongoDB-compatible store for development
// and tests: FerretDB with its SQLite backend, listening on the loopback
// interface and keeping its data in one directory.
//
// The store has no replica set, so it offers no change streams and no
// transactions; PowerSync cannot replicate from it. It is meant for trying
// psmongo out and for tests that need a real wire-protocol server.
//
// The store adds an index of its own to every collection, at start and then
// in the background, so that finds, updates and deletes by a string or
// ObjectId _id do not read the whole collection; see [Store.EnsureIndexes].
package devstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// defaultIndexing is how the store keeps indexing new collections.
var defaultIndexing = indexing{every: 250 * time.Millisecond, minAge: 10 * time.Second}

// ErrClosed is returned by [Store.EnsureIndexes] after [Store.Close].
var ErrClosed = errors.New("devstore: store closed")

// newServerMu serializes ferretdb.New, which writes a package-level variable
// of FerretDB's, so that stores can start concurrently.
var newServerMu sync.Mutex

// Store is a running embedded store. Its methods are safe for concurrent use.
type Store struct {
	uri     string
	indexer *indexer

	stopServer  context.CancelFunc
	serverDone  chan struct{} // closed when the server has stopped
	serverErr   error         // set before serverDone is closed
	stopIndexer context.CancelFunc
	indexerDone chan struct{} // closed when the indexing loop has stopped

	closeOnce sync.Once
	closed    chan struct{}
}

// Start starts a store on a free loopback port with its data in dir, which is
// created if it is missing, and returns once the store accepts connections.
// A nil logger discards the store's messages. The caller must call
// [Store.Close].
func Start(ctx context.Context, dir string, logger *slog.Logger) (*Store, error) {
	return StartOnPort(ctx, dir, 0, logger)
}

// StartOnPort is like [Start] but listens on the given port of 127.0.0.1;
// port 0 picks a free one.
func StartOnPort(ctx context.Context, dir string, port int, logger *slog.Logger) (*Store, error) {
	return start(ctx, dir, port, logger, defaultIndexing)
}

// StartTemp starts a store like [Start] in a new temporary directory, for
// tests, typically from TestMain. The returned cleanup function closes the
// store and removes the directory; it ignores errors, as there is nothing
// left to do about them. Call it before os.Exit, which skips deferred calls.
func StartTemp(ctx context.Context, logger *slog.Logger) (*Store, func(), error) {
	dir, err := os.MkdirTemp("", "psmongo-devstore-")
	if err != nil {
		return nil, nil, fmt.Errorf("creating temporary directory: %w", err)
	}

	s, err := Start(ctx, dir, logger)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, nil, err
	}

	cleanup := func() {
		_ = s.Close()
		_ = os.RemoveAll(dir)
	}

	return s, cleanup, nil
}

// indexing says how often the background loop runs (never if every is not
// positive) and how old a database must be before the loop touches it.
type indexing struct {
	every, minAge time.Duration
}

// start starts the store with the given indexing; with none, tests see the
// store as FerretDB alone leaves it.
func start(
	ctx context.Context, dir string, port int, logger *slog.Logger, ix indexing,
) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With(slog.String("component", "devstore"))

	dir, err := prepareDir(dir)
	if err != nil {
		return nil, err
	}

	s := &Store{
		indexer: newIndexer(dir, logger),
		closed:  make(chan struct{}),
	}

	fdb, err := newServer(dir, port, logger)
	if err != nil {
		return nil, err
	}
	s.uri = fdb.MongoDBURI()

	// Nobody is served yet, so nobody can drop a database while this pass
	// has it open: it may index databases of any age.
	if ix.every > 0 {
		if err := s.indexer.pass(ctx, 0); err != nil && ctx.Err() == nil {
			logger.WarnContext(ctx, "indexing _id lookups", slog.Any("error", err))
		}
	}

	s.runServer(ctx, fdb)
	s.startIndexer(ctx, ix)
	logger.DebugContext(ctx, "store started", slog.String("dir", dir), slog.String("uri", s.uri))

	return s, nil
}

// URI returns the connection string of the store, mongodb://127.0.0.1:PORT/.
func (s *Store) URI() string {
	return s.uri
}

// EnsureIndexes indexes _id lookups in every collection of the store that
// lacks the index, once and synchronously. The store does this on its own at
// start and a few times a second for databases older than ten seconds;
// tests and benchmarks call it to be sure the indexes exist before they
// measure. No client may drop a database while it runs (see the BUG note).
// It returns [ErrClosed] after [Store.Close].
func (s *Store) EnsureIndexes(ctx context.Context) error {
	select {
	case <-s.closed:
		return ErrClosed
	default:
	}

	return s.indexer.pass(ctx, 0)
}

// Close stops the store: the indexing loop, the listener, client connections
// and the backend. It waits for all of them to stop. Connections that clients
// keep open delay it by up to a few seconds, so disconnect clients first.
// Calling Close again does nothing and returns nil.
func (s *Store) Close() error {
	var err error

	s.closeOnce.Do(func() {
		close(s.closed)

		// The indexer goes first so that none of its connections to a
		// database file is open when the server closes its own, and the
		// server's close leaves each file checkpointed and tidy.
		if s.stopIndexer != nil {
			s.stopIndexer()
			<-s.indexerDone
		}

		s.stopServer()
		<-s.serverDone

		if s.serverErr != nil {
			err = fmt.Errorf("stopping server: %w", s.serverErr)
		}
	})

	return err
}

// newServer creates a FerretDB server on dir and port. Its listening socket
// is bound on return, so clients can connect at once, but nobody is served
// before it runs.
func newServer(dir string, port int, logger *slog.Logger) (*ferretdb.FerretDB, error) {
	newServerMu.Lock()
	defer newServerMu.Unlock()

	fdb, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))},
		Logger:    slog.New(newServerHandler(logger.Handler())),
		Handler:   "sqlite",
		SQLiteURL: sqliteURL(dir),
	})
	if err != nil {
		return nil, fmt.Errorf("starting ferretdb: %w", err)
	}

	return fdb, nil
}

// runServer runs fdb until Close. The server outlives Start's context.
func (s *Store) runServer(ctx context.Context, fdb *ferretdb.FerretDB) {
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stopServer = stop
	s.serverDone = make(chan struct{})

	go func() {
		defer close(s.serverDone)
		s.serverErr = fdb.Run(runCtx)
	}()
}

// startIndexer keeps indexing new collections until Close, if ix says so.
func (s *Store) startIndexer(ctx context.Context, ix indexing) {
	if ix.every <= 0 {
		return
	}

	loopCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stopIndexer = stop
	s.indexerDone = make(chan struct{})

	go func() {
		defer close(s.indexerDone)
		s.indexer.run(loopCtx, ix.every, ix.minAge)
	}()
}

// prepareDir creates dir if needed and returns its absolute form.
func prepareDir(dir string) (string, error) {
	if dir == "" {
		return "", errors.New("data directory is empty")
	}

	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("resolving data directory: %w", err)
	}

	// FerretDB pastes the path into SQLite URIs without escaping it.
	if strings.ContainsAny(abs, "?#%") {
		return "", fmt.Errorf("data directory %q: must not contain '?', '#' or '%%'", abs)
	}

	if err := os.MkdirAll(abs, 0o750); err != nil {
		return "", fmt.Errorf("creating data directory: %w", err)
	}

	return abs, nil
}

// sqliteURL returns the SQLite URI FerretDB expects for the directory dir:
// the file scheme, no host, and a path that ends with a slash.
func sqliteURL(dir string) string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(dir) + "/", OmitHost: true}
	return u.String()
}
