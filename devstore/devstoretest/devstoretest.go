// Package devstoretest gives tests a real MongoDB wire-protocol server: the
// deployment named by PSMONGO_TEST_MONGODB_URI, or else an embedded store
// started for the test binary.
//
// A test package calls Main from its TestMain, then Database in each test
// for a database of its own that is dropped when the test ends.
package devstoretest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/psmongo/psmongo/devstore"
)

// EnvURI names the environment variable that points tests at a deployment.
const EnvURI = "PSMONGO_TEST_MONGODB_URI"

var (
	uri      string
	client   *mongo.Client
	embedded bool
)

// Main starts the store (unless EnvURI is set), runs the tests and stops
// the store. It returns the exit code for os.Exit.
func Main(m *testing.M) int {
	ctx := context.Background()
	uri = os.Getenv(EnvURI)
	if uri == "" {
		s, cleanup, err := devstore.StartTemp(ctx, nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, "devstoretest: starting the embedded store:", err)
			return 1
		}
		defer cleanup()
		uri, embedded = s.URI(), true
	}

	var err error
	client, err = mongo.Connect(ctx, options.Client().ApplyURI(uri).SetServerSelectionTimeout(10*time.Second))
	if err != nil {
		fmt.Fprintln(os.Stderr, "devstoretest: connecting:", err)
		return 1
	}
	defer client.Disconnect(ctx)
	return m.Run()
}

// URI returns the connection string of the test deployment.
func URI() string { return uri }

// Client returns a client connected to the test deployment.
func Client() *mongo.Client { return client }

// Embedded reports whether the tests run on the embedded store, which has
// neither transactions nor Decimal128.
func Embedded() bool { return embedded }

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_]+`)

// Database returns a database named after the test. On a deployment it is
// dropped before and after the test; the embedded store is not asked to
// drop anything, since dropping races with its indexer (see the devstore
// BUG note), and its whole directory goes when the tests end.
func Database(t testing.TB) *mongo.Database {
	t.Helper()
	db := client.Database(DatabaseName(t))
	if embedded {
		return db
	}
	drop := func() { _ = db.Drop(context.Background()) }
	drop()
	t.Cleanup(drop)
	return db
}

// DatabaseName returns a name for the test's database: the test's name made
// safe, cut to stay under MongoDB's 64-byte limit, with a hash to keep it
// unique.
func DatabaseName(t testing.TB) string {
	sum := sha256.Sum256([]byte(t.Name()))
	name := unsafeName.ReplaceAllString(t.Name(), "_")
	if len(name) > 40 {
		name = name[:40]
	}
	return name + "_" + hex.EncodeToString(sum[:4])
}
