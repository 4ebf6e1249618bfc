package devstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Why the store adds an index of its own.
//
// FerretDB v1.24's SQLite backend keeps each collection in a table with one
// JSON column and creates the unique _id index on the expression
// _ferretdb_sjson->"_id" (indexesCreate in
// https://github.com/FerretDB/FerretDB/blob/v1.24.2/internal/backends/sqlite/metadata/registry.go),
// but filters by _id with the expression _ferretdb_sjson->'$._id' (IDColumn in
// https://github.com/FerretDB/FerretDB/blob/v1.24.2/internal/backends/sqlite/metadata/metadata.go,
// used by Query, UpdateAll, DeleteAll and Explain in
// https://github.com/FerretDB/FerretDB/blob/v1.24.2/internal/backends/sqlite/collection.go).
// SQLite uses an index on an expression only for that very expression, so
// every lookup, update, upsert and delete by _id scanned the whole table:
// about 0.1 s per upsert at 20,000 small documents, against about 1 ms with
// the index. The store therefore adds a plain index on the expression the
// queries use to every collection table, from its own short-lived SQLite
// connections.
//
// This can go once the store runs a FerretDB whose SQLite backend filters by
// the expression it indexes (or indexes the one it filters by); Explain on a
// find by _id then shows "USING INDEX <table>__id_" without this index.

// BUG(devstore): FerretDB deletes the file of a dropped database while other
// connections to it may be open. If the store's indexer has the file open at
// that moment and the database is created again under the same name at once,
// the new database is corrupt and the process may crash. So the start-up
// pass runs before any client is served, and the background loop leaves
// alone databases younger than ten seconds: only one that lived longer,
// dropped and recreated within a millisecond or so of a pass over it, is at
// risk. psmongo itself never drops databases. Do not drop databases while
// calling Store.EnsureIndexes.

// TODO(devstore): FerretDB v1.24 pushes an _id filter down to SQLite only when
// the _id is a string or an ObjectId (the type switch in Query in
// collection.go above). A filter on a binary _id, which collections with
// id_type uuid use, reaches the backend as a read of the whole table that the
// handler then filters in Go, and no index made from outside FerretDB can
// change that. So every PUT, PATCH and DELETE on such a collection costs time
// linear in its size: about 0.6 s per upsert at 20,000 small documents
// (some 30 µs per document), against about 1 ms for string ids. It matters
// once a uuid collection in the development store grows past a few hundred
// documents, and needs FerretDB to push down binary _id filters.

const (
	// idExpression is the expression FerretDB filters _id by.
	idExpression = `_ferretdb_sjson->'$._id'`

	// indexSuffix ends the name of the index the store adds to a table.
	indexSuffix = "_psmongo_id"

	// busyTimeout bounds how long one statement waits for a lock held by the
	// server; a pass that runs out of it tries again on the next tick.
	busyTimeout = time.Second
)

// indexer adds the _id expression index to the collection tables of every
// database file in a directory.
type indexer struct {
	dir    string
	logger *slog.Logger

	mu    sync.Mutex            // serializes passes
	files map[string]*fileState // database file -> what the indexer knows of it
}

// fileState is what the indexer knows of one database file.
type fileState struct {
	seen    os.FileInfo // the file when first seen, to notice a new one in its place
	born    int64       // its birth time, for the same purpose; see birthTime
	seenAt  time.Time
	indexed fileStamp // the file's stamp when it was last fully indexed
	done    bool      // whether indexed is set
}

// fileStamp identifies the state of a database file and its write-ahead log
// closely enough to tell that nothing has been written since.
type fileStamp struct {
	dbSize, walSize   int64
	dbMtime, walMtime int64 // in Unix nanoseconds
}

// newIndexer returns an indexer for the database files in dir.
func newIndexer(dir string, logger *slog.Logger) *indexer {
	return &indexer{dir: dir, logger: logger, files: map[string]*fileState{}}
}

// run makes a pass every interval until ctx is done, over the databases
// first seen at least minAge ago. It logs a failed pass at Warn the first
// time and at Debug while the same failure repeats or while the server only
// holds a lock.
func (ix *indexer) run(ctx context.Context, every, minAge time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()

	var last string

	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}

		err := ix.pass(ctx, minAge)
		if ctx.Err() != nil {
			return
		}

		last = ix.report(ctx, err, last)
	}
}

// report logs err from a pass, given the text of the previous pass's error,
// and returns the text to compare the next error with.
func (ix *indexer) report(ctx context.Context, err error, last string) string {
	if err == nil {
		return ""
	}

	level := slog.LevelWarn
	if onlyBusy(err) || err.Error() == last {
		level = slog.LevelDebug
	}

	ix.logger.Log(ctx, level, "indexing _id lookups", slog.Any("error", err))

	return err.Error()
}

// pass indexes every database file in the directory that was first seen at
// least minAge ago and changed since it was last fully indexed. Files that
// disappear meanwhile, with dropped databases, are skipped; any other
// failure is returned after the remaining files are done.
func (ix *indexer) pass(ctx context.Context, minAge time.Duration) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()

	files, err := filepath.Glob(filepath.Join(ix.dir, "*.sqlite"))
	if err != nil {
		return fmt.Errorf("listing database files: %w", err)
	}

	var errs []error
	for _, f := range files {
		if err := ix.indexFile(ctx, f, minAge); err != nil {
			errs = append(errs, err)
		}
	}

	ix.forgetOthers(files)

	return errors.Join(errs...)
}

// indexFile indexes the database file path if it is old enough and changed
// since it was last fully indexed.
func (ix *indexer) indexFile(ctx context.Context, path string, minAge time.Duration) error {
	// The stamp is taken first: a collection created during the pass then
	// changes the file after it, and the next pass looks again.
	fi, stamp, err := stampFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}

	st := ix.state(path, fi)
	if time.Since(st.seenAt) < minAge || (st.done && st.indexed == stamp) {
		return nil
	}

	err = indexDatabase(ctx, path)
	switch {
	case isGone(err):
		ix.logger.DebugContext(ctx, "database file gone", slog.String("file", path))
		return nil
	case err != nil:
		return fmt.Errorf("indexing %s: %w", filepath.Base(path), err)
	}

	st.indexed, st.done = stamp, true

	return nil
}

// state returns what the indexer knows of the database file path, now fi,
// starting afresh when the file is new or was replaced, as when a database
// is dropped and created again.
func (ix *indexer) state(path string, fi os.FileInfo) *fileState {
	born := birthTime(path)

	st, ok := ix.files[path]
	if !ok || !os.SameFile(st.seen, fi) || st.born != born {
		st = &fileState{seen: fi, born: born, seenAt: time.Now()}
		ix.files[path] = st
	}

	return st
}

// forgetOthers forgets the database files not in files.
func (ix *indexer) forgetOthers(files []string) {
	present := make(map[string]bool, len(files))
	for _, f := range files {
		present[f] = true
	}

	for f := range ix.files {
		if !present[f] {
			delete(ix.files, f)
		}
	}
}

// stampFile returns the database file path and the stamp of it and its log.
func stampFile(path string) (os.FileInfo, fileStamp, error) {
	db, err := os.Stat(path)
	if err != nil {
		return nil, fileStamp{}, fmt.Errorf("checking database file: %w", err)
	}

	stamp := fileStamp{dbSize: db.Size(), dbMtime: db.ModTime().UnixNano()}

	wal, err := os.Stat(path + "-wal")
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// no log yet, or it was checkpointed and removed
	case err != nil:
		return nil, fileStamp{}, fmt.Errorf("checking database log: %w", err)
	default:
		stamp.walSize, stamp.walMtime = wal.Size(), wal.ModTime().UnixNano()
	}

	return db, stamp, nil
}

// indexDatabase opens the database file path for a moment and adds the index
// to each collection table that lacks it.
//
// The connection lives only for the pass, and passes skip unchanged files,
// for the reason in the BUG note above.
func indexDatabase(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", databaseDSN(path))
	if err != nil {
		return fmt.Errorf("opening database: %w", err)
	}
	defer db.Close()

	tables, err := unindexedTables(ctx, db)
	if err != nil {
		return err
	}

	for _, t := range tables {
		if err := createIndex(ctx, db, t); err != nil {
			return err
		}
	}

	return nil
}

// databaseDSN returns the data source name that opens the existing database
// file path for reading and writing. It never creates the file: an empty
// file left where a database was dropped would stop the server from starting
// again.
func databaseDSN(path string) string {
	q := url.Values{}
	q.Set("mode", "rw")
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))

	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), OmitHost: true, RawQuery: q.Encode()}

	return u.String()
}

// unindexedTables lists the collection tables of db that lack the index:
// the tables with FerretDB's document column, which its metadata table and
// SQLite's own tables lack. (A collection may be called _FerretDB_x, so its
// table's name alone does not tell.)
func unindexedTables(ctx context.Context, db *sql.DB) ([]string, error) {
	const q = `
		SELECT t.name FROM sqlite_schema AS t
		WHERE t.type = 'table'
			AND t.name != '_ferretdb_collections'
			AND EXISTS (
				SELECT 1 FROM pragma_table_info(t.name) WHERE name = '_ferretdb_sjson'
			)
			AND NOT EXISTS (
				SELECT 1 FROM sqlite_schema AS i
				WHERE i.type = 'index' AND i.tbl_name = t.name AND i.name = t.name || ?
			)
		ORDER BY t.name`

	rows, err := db.QueryContext(ctx, q, indexSuffix)
	if err != nil {
		return nil, fmt.Errorf("listing tables: %w", err)
	}
	defer rows.Close()

	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, fmt.Errorf("listing tables: %w", err)
		}
		tables = append(tables, t)
	}

	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing tables: %w", err)
	}

	return tables, nil
}

// createIndex adds the index to table. A table dropped meanwhile is not an
// error.
func createIndex(ctx context.Context, db *sql.DB, table string) error {
	q := fmt.Sprintf(
		"CREATE INDEX IF NOT EXISTS %s ON %s (%s)",
		quoteIdent(table+indexSuffix), quoteIdent(table), idExpression,
	)

	_, err := db.ExecContext(ctx, q)
	if err == nil {
		return nil
	}

	exists, existsErr := tableExists(ctx, db, table)
	if existsErr == nil && !exists {
		return nil
	}

	return fmt.Errorf("creating index on %s: %w", table, err)
}

// tableExists reports whether db has a table named table.
func tableExists(ctx context.Context, db *sql.DB, table string) (bool, error) {
	const q = `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?`

	var n int
	if err := db.QueryRowContext(ctx, q, table).Scan(&n); err != nil {
		return false, fmt.Errorf("looking up table: %w", err)
	}

	return n > 0, nil
}

// quoteIdent quotes name as an SQL identifier.
func quoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// isGone reports whether err says that a database file no longer exists.
func isGone(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()&0xff == sqlite3.SQLITE_CANTOPEN
	}

	return errors.Is(err, fs.ErrNotExist)
}

// isBusy reports whether err says that the server held a lock for longer
// than the busy timeout.
func isBusy(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}

	code := se.Code() & 0xff

	return code == sqlite3.SQLITE_BUSY || code == sqlite3.SQLITE_LOCKED
}

// onlyBusy reports whether err and every error joined in it is a busy error.
func onlyBusy(err error) bool {
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return isBusy(err)
	}

	for _, e := range joined.Unwrap() {
		if !onlyBusy(e) {
			return false
		}
	}

	return true
}
