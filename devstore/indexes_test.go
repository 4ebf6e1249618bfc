package devstore

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

func TestEnsureIndexes(t *testing.T) {
	dir := t.TempDir()
	s := startStore(t, dir, indexing{})
	db := testDatabase(t, connect(t, s.URI()))

	tests := []struct {
		name   string
		coll   string
		capped bool
		id     any
	}{
		{name: "string ids", coll: "todos", id: "a1"},
		{name: "objectid ids", coll: "lists", id: primitive.NewObjectID()},
		{name: "capped", coll: "events", capped: true, id: "e1"},
		{name: "mixed case and dot", coll: "Shop.Orders", id: "o1"},
		{name: "sqlite prefix", coll: "sqlite_things", id: "s1"},
		{name: "space", coll: "with space", id: "w1"},
		{name: "ferretdb-like name", coll: "_FerretDB_notes", id: "f1"},
	}

	for _, tt := range tests {
		createCollection(t, db, tt.coll, tt.capped)
		if _, err := db.Collection(tt.coll).InsertOne(t.Context(), bson.M{"_id": tt.id}); err != nil {
			t.Fatalf("InsertOne(_id %v) into %s: %v", tt.id, tt.coll, err)
		}
	}

	file := databaseFile(t, dir, db.Name())
	sdb := openDatabaseFile(t, file)

	for _, tt := range tests {
		table := tableName(t, sdb, tt.coll)
		if plan := idQueryPlan(t, sdb, table); strings.Contains(plan, indexSuffix) {
			t.Fatalf("%s: plan before EnsureIndexes = %q, want no %s index", tt.name, plan, indexSuffix)
		}
	}

	if err := s.EnsureIndexes(t.Context()); err != nil {
		t.Fatalf("EnsureIndexes() = %v", err)
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table := tableName(t, sdb, tt.coll)

			if !indexExists(t, sdb, table+indexSuffix) {
				t.Errorf("index %s does not exist after EnsureIndexes", table+indexSuffix)
			}

			plan := idQueryPlan(t, sdb, table)
			want := fmt.Sprintf("USING INDEX %s (", table+indexSuffix)
			if !strings.Contains(plan, want) {
				t.Errorf("plan of a lookup by _id in %s = %q, want it to contain %q", table, plan, want)
			}

			// The server's own query, as it explains it, uses the index too.
			// EXPLAIN QUERY PLAN runs on the schema a connection last loaded,
			// while a real query reloads it first; the find refreshes the
			// pooled connection that the explain then reuses.
			if err := db.Collection(tt.coll).FindOne(t.Context(), bson.M{"_id": tt.id}).Err(); err != nil {
				t.Fatalf("FindOne(_id %v) in %s: %v", tt.id, tt.coll, err)
			}

			explained := explainFindByID(t, db, tt.coll, tt.id)
			if !strings.Contains(explained, indexSuffix) {
				t.Errorf("explain of find by _id %v = %s, want the %s index", tt.id, explained, indexSuffix)
			}

			// Clients do not see the index.
			if diff := cmp.Diff([]string{"_id_"}, indexNames(t, db.Collection(tt.coll))); diff != "" {
				t.Errorf("listIndexes of %s mismatch (-want +got):\n%s", tt.coll, diff)
			}
		})
	}
}

func TestDatabaseFileIsWAL(t *testing.T) {
	dir := t.TempDir()
	s := startStore(t, dir, indexing{})
	db := testDatabase(t, connect(t, s.URI()))

	if _, err := db.Collection("todos").InsertOne(t.Context(), bson.M{"_id": "a"}); err != nil {
		t.Fatalf("InsertOne: %v", err)
	}

	var mode string
	sdb := openDatabaseFile(t, databaseFile(t, dir, db.Name()))
	if err := sdb.QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatalf("PRAGMA journal_mode: %v", err)
	}

	if mode != "wal" {
		t.Errorf("journal_mode = %q, want wal", mode)
	}
}

func TestStoreIndexesNewCollections(t *testing.T) {
	dir := t.TempDir()
	s := startStore(t, dir, indexing{every: 20 * time.Millisecond, minAge: 100 * time.Millisecond})
	db := testDatabase(t, connect(t, s.URI()))

	for _, coll := range []string{"first", "second"} {
		if _, err := db.Collection(coll).InsertOne(t.Context(), bson.M{"_id": "x"}); err != nil {
			t.Fatalf("InsertOne into %s: %v", coll, err)
		}

		sdb := openDatabaseFile(t, databaseFile(t, dir, db.Name()))
		index := tableName(t, sdb, coll) + indexSuffix

		waitFor(t, 5*time.Second, "index "+index, func() bool {
			return indexExists(t, sdb, index)
		})
	}
}

func TestLoopWaitsForDatabasesToAge(t *testing.T) {
	const minAge = 100 * time.Millisecond

	dir := t.TempDir()
	s := startStore(t, dir, indexing{})
	db := testDatabase(t, connect(t, s.URI()))

	insert := func() {
		t.Helper()
		if _, err := db.Collection("todos").InsertOne(t.Context(), bson.M{"_id": "a"}); err != nil {
			t.Fatalf("InsertOne: %v", err)
		}
	}

	// indexed makes a pass as the loop does and reports whether the
	// collection has the index afterwards.
	indexed := func() bool {
		t.Helper()
		if err := s.indexer.pass(t.Context(), minAge); err != nil {
			t.Fatalf("pass() = %v", err)
		}
		sdb := openDatabaseFile(t, databaseFile(t, dir, db.Name()))
		defer sdb.Close()
		return indexExists(t, sdb, tableName(t, sdb, "todos")+indexSuffix)
	}

	insert()
	if indexed() {
		t.Fatalf("a pass indexed a database younger than %s", minAge)
	}

	// Once dropped and created again, the database is young again.
	time.Sleep(2 * minAge)
	if err := db.Drop(t.Context()); err != nil {
		t.Fatalf("dropping database: %v", err)
	}
	insert()
	if indexed() {
		t.Fatalf("a pass indexed a database recreated less than %s ago", minAge)
	}

	time.Sleep(2 * minAge)
	if !indexed() {
		t.Errorf("a pass did not index a database older than %s", minAge)
	}
}

// The background loop must not be holding a database file open when a client
// drops the database and creates it again: the new one would be corrupt.
func TestDropAndRecreateWhileIndexing(t *testing.T) {
	ix := defaultIndexing
	ix.every = time.Millisecond

	s := startStore(t, t.TempDir(), ix)
	db := connect(t, s.URI()).Database(databaseName(t))

	for round := range 200 {
		for i := range 3 {
			if _, err := db.Collection("c").InsertOne(t.Context(), bson.M{"_id": i}); err != nil {
				t.Fatalf("round %d: InsertOne(_id %d): %v", round, i, err)
			}
		}

		n, err := db.Collection("c").CountDocuments(t.Context(), bson.M{})
		if err != nil || n != 3 {
			t.Fatalf("round %d: CountDocuments() = %d, %v; want 3, nil", round, n, err)
		}

		if err := db.Drop(t.Context()); err != nil {
			t.Fatalf("round %d: dropping database: %v", round, err)
		}
	}
}

func TestEnsureIndexesSkipsDropped(t *testing.T) {
	dir := t.TempDir()
	s := startStore(t, dir, indexing{})
	client := connect(t, s.URI())
	db := testDatabase(t, client)

	for _, coll := range []string{"kept", "dropped"} {
		if _, err := db.Collection(coll).InsertOne(t.Context(), bson.M{"_id": "x"}); err != nil {
			t.Fatalf("InsertOne into %s: %v", coll, err)
		}
	}

	gone := client.Database(databaseName(t) + "_gone")
	if _, err := gone.Collection("c").InsertOne(t.Context(), bson.M{"_id": "x"}); err != nil {
		t.Fatalf("InsertOne into %s: %v", gone.Name(), err)
	}

	if err := db.Collection("dropped").Drop(t.Context()); err != nil {
		t.Fatalf("dropping collection: %v", err)
	}

	if err := gone.Drop(t.Context()); err != nil {
		t.Fatalf("dropping database: %v", err)
	}

	if err := s.EnsureIndexes(t.Context()); err != nil {
		t.Errorf("EnsureIndexes() after drops = %v, want nil", err)
	}

	goneFile := filepath.Join(dir, gone.Name()+".sqlite")
	if _, err := os.Stat(goneFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dropped database file after EnsureIndexes: Stat() = %v, want not exist", err)
	}
}

func TestIndexDatabaseMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing.sqlite")

	err := indexDatabase(t.Context(), path)
	if !isGone(err) {
		t.Errorf("indexDatabase(%s) = %v, want a missing-file error", path, err)
	}

	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("indexDatabase created %s: Stat() = %v", path, err)
	}
}

func TestEnsureIndexesBusy(t *testing.T) {
	dir := t.TempDir()
	s := startStore(t, dir, indexing{})
	db := testDatabase(t, connect(t, s.URI()))

	if _, err := db.Collection("todos").InsertOne(t.Context(), bson.M{"_id": "a"}); err != nil {
		t.Fatalf("InsertOne: %v", err)
	}

	// A write transaction on another connection holds the lock that
	// creating the index needs.
	sdb := openDatabaseFile(t, databaseFile(t, dir, db.Name()))
	conn, err := sdb.Conn(t.Context())
	if err != nil {
		t.Fatalf("taking a connection: %v", err)
	}
	defer conn.Close()

	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatalf("BEGIN IMMEDIATE: %v", err)
	}

	err = s.EnsureIndexes(t.Context())
	if !onlyBusy(err) {
		t.Errorf("EnsureIndexes() while locked = %v, want a busy error", err)
	}

	if _, err := conn.ExecContext(t.Context(), "ROLLBACK"); err != nil {
		t.Fatalf("ROLLBACK: %v", err)
	}

	if err := s.EnsureIndexes(t.Context()); err != nil {
		t.Errorf("EnsureIndexes() after the lock is gone = %v", err)
	}

	if index := tableName(t, sdb, "todos") + indexSuffix; !indexExists(t, sdb, index) {
		t.Errorf("index %s does not exist after EnsureIndexes", index)
	}
}

func TestOnlyBusy(t *testing.T) {
	busy := fmt.Errorf("indexing a.sqlite: %w", busyError(t))
	other := errors.New("disk on fire")

	tests := []struct {
		name string
		err  error
		want bool
	}{
		{name: "busy", err: busy, want: true},
		{name: "other", err: other, want: false},
		{name: "all busy", err: errors.Join(busy, busy), want: true},
		{name: "busy and other", err: errors.Join(busy, other), want: false},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := onlyBusy(tt.err); got != tt.want {
				t.Errorf("onlyBusy(%v) = %t, want %t", tt.err, got, tt.want)
			}
		})
	}
}

func TestQuoteIdent(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "plain", in: "todos_1a2b3c4d", want: `"todos_1a2b3c4d"`},
		{name: "dot and space", in: "a.b c", want: `"a.b c"`},
		{name: "quote", in: `say "hi"`, want: `"say ""hi"""`},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := quoteIdent(tt.in); got != tt.want {
				t.Errorf("quoteIdent(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

// busyError returns the error the driver gives for a write to a database
// whose write lock another connection holds.
func busyError(t *testing.T) error {
	t.Helper()

	ctx := t.Context()
	sdb, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "busy.sqlite"))
	if err != nil {
		t.Fatalf("opening scratch database: %v", err)
	}
	defer sdb.Close()

	holder, err := sdb.Conn(ctx)
	if err != nil {
		t.Fatalf("taking a connection: %v", err)
	}
	defer holder.Close()

	if _, err := holder.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatalf("BEGIN IMMEDIATE: %v", err)
	}

	other, err := sdb.Conn(ctx)
	if err != nil {
		t.Fatalf("taking a second connection: %v", err)
	}
	defer other.Close()

	_, err = other.ExecContext(ctx, "BEGIN IMMEDIATE")

	var se *sqlite.Error
	if !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY {
		t.Fatalf("BEGIN IMMEDIATE on a locked database = %v, want SQLITE_BUSY", err)
	}

	if _, err := holder.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatalf("ROLLBACK: %v", err)
	}

	return se
}

// createCollection creates coll in db, capped if asked.
func createCollection(t *testing.T, db *mongo.Database, coll string, capped bool) {
	t.Helper()

	opts := options.CreateCollection()
	if capped {
		opts.SetCapped(true).SetSizeInBytes(1 << 20)
	}

	if err := db.CreateCollection(t.Context(), coll, opts); err != nil {
		t.Fatalf("creating collection %s: %v", coll, err)
	}
}

// databaseFile returns the path of the file that holds database name.
func databaseFile(t testing.TB, dir, name string) string {
	t.Helper()

	path := filepath.Join(dir, name+".sqlite")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database file of %s: %v", name, err)
	}

	return path
}

// openDatabaseFile opens the database file path as the indexer does, and
// closes it when the test ends (before the store closes, if the store was
// started first).
func openDatabaseFile(t testing.TB, path string) *sql.DB {
	t.Helper()

	sdb, err := sql.Open("sqlite", databaseDSN(path))
	if err != nil {
		t.Fatalf("opening %s: %v", path, err)
	}

	t.Cleanup(func() {
		if err := sdb.Close(); err != nil {
			t.Errorf("closing %s: %v", path, err)
		}
	})

	return sdb
}

// tableName returns the name of the table that holds coll, from FerretDB's
// metadata table.
func tableName(t testing.TB, sdb *sql.DB, coll string) string {
	t.Helper()

	const q = `SELECT table_name FROM _ferretdb_collections WHERE name = ?`

	var table string
	if err := sdb.QueryRowContext(t.Context(), q, coll).Scan(&table); err != nil {
		t.Fatalf("looking up the table of %s: %v", coll, err)
	}

	return table
}

// indexExists reports whether sdb has an index called name.
func indexExists(t testing.TB, sdb *sql.DB, name string) bool {
	t.Helper()

	const q = `SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name = ?`

	var n int
	if err := sdb.QueryRowContext(t.Context(), q, name).Scan(&n); err != nil {
		t.Fatalf("looking up index %s: %v", name, err)
	}

	return n > 0
}

// idQueryPlan returns the plan SQLite makes for the query FerretDB runs to
// find a document of table by _id, its details joined by "; ".
func idQueryPlan(t testing.TB, sdb *sql.DB, table string) string {
	t.Helper()

	q := fmt.Sprintf(
		"EXPLAIN QUERY PLAN SELECT _ferretdb_sjson FROM %s WHERE %s = ?",
		quoteIdent(table), idExpression,
	)

	rows, err := sdb.QueryContext(t.Context(), q, `"a1"`)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()

	var details []string
	for rows.Next() {
		var id, parent, notUsed int
		var detail string
		if err := rows.Scan(&id, &parent, &notUsed, &detail); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		details = append(details, detail)
	}

	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", q, err)
	}

	return strings.Join(details, "; ")
}

// explainFindByID returns, as extended JSON, the server's explanation of a
// find by _id in coll.
func explainFindByID(t testing.TB, db *mongo.Database, coll string, id any) string {
	t.Helper()

	cmd := bson.D{
		{Key: "explain", Value: bson.D{{Key: "find", Value: coll}, {Key: "filter", Value: bson.D{{Key: "_id", Value: id}}}}},
	}

	raw, err := db.RunCommand(t.Context(), cmd).Raw()
	if err != nil {
		t.Fatalf("explain find by _id %v in %s: %v", id, coll, err)
	}

	return raw.String()
}

// indexNames returns the names of the indexes the server lists for coll.
func indexNames(t testing.TB, coll *mongo.Collection) []string {
	t.Helper()

	specs, err := coll.Indexes().ListSpecifications(t.Context())
	if err != nil {
		t.Fatalf("listing the indexes of %s: %v", coll.Name(), err)
	}

	names := make([]string, 0, len(specs))
	for _, spec := range specs {
		names = append(names, spec.Name)
	}

	return names
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()

	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: still missing after %s", what, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
