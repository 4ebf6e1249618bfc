package app

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/description"
	"go.mongodb.org/mongo-driver/x/mongo/driver/topology"

	"github.com/psmongo/psmongo/app/apptest"
	"github.com/psmongo/psmongo/devstore/devstoretest"
	"github.com/psmongo/psmongo/mongoapply"
)

// doctorTestConfig loads the defaults in an empty directory, with the given
// URI and one configured collection, todos.
func doctorTestConfig(t *testing.T, uri, database string) *Config {
	t.Helper()
	t.Chdir(t.TempDir())
	cfg, err := LoadConfig("")
	if err != nil {
		t.Fatal(err)
	}
	cfg.MongoDB.URI, cfg.MongoDB.Database = uri, database
	cfg.Collections = map[string]CollectionConfig{"todos": {Schema: "fields"}}
	return cfg
}

// findCheck returns the check with id.
func findCheck(t *testing.T, checks []Check, id string) Check {
	t.Helper()
	for _, c := range checks {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no check %q in %+v", id, checks)
	return Check{}
}

// TestDoctorDeployment runs doctor against the test deployment, the
// embedded store unless PSMONGO_TEST_MONGODB_URI names another, with a
// collection, a refused unit and the index that reviews need.
func TestDoctorDeployment(t *testing.T) {
	db := devstoretest.Database(t)
	ctx := t.Context()
	if _, err := db.Collection("todos").InsertOne(ctx, bson.D{{Key: "_id", Value: "t1"}}); err != nil {
		t.Fatal(err)
	}
	dl := db.Collection(mongoapply.DefaultDeadLetter)
	if _, err := dl.InsertOne(ctx, bson.D{{Key: "_id", Value: "u1"}, {Key: "received_at", Value: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	index := mongo.IndexModel{Keys: bson.D{{Key: "received_at", Value: 1}}}
	if _, err := dl.Indexes().CreateOne(ctx, index); err != nil {
		t.Fatal(err)
	}

	cfg := doctorTestConfig(t, devstoretest.URI(), db.Name())
	got := Doctor(ctx, cfg, DoctorOptions{Timeout: 10 * time.Second})
	want := []verdict{
		{"config", CheckOK, "no config file", ""},
		{"mongodb", CheckOK, fmt.Sprintf("database %q", db.Name()), ""},
		{"mongodb.version", CheckWarn, "FerretDB, which reports MongoDB", "MongoDB 6.0+ replica set"},
		{"mongodb.replica_set", CheckFail, "FerretDB (the embedded store is one) is not a replica set",
			"the embedded store is for development only"},
		{"mongodb.change_streams", CheckFail, "FerretDB has no change streams",
			"the embedded store is for development only"},
		{"mongodb.transactions", CheckWarn, "not a replica set", "use a replica set"},
		{"collections.todos", CheckWarn, "changeStreamPreAndPostImages is off", `collMod: "todos"`},
		{"mongodb.dead_letter", CheckWarn, `1 refused unit(s) in "powersync_rejected_writes" await review`,
			"find().sort({received_at: -1})"},
		{"mongodb.dead_letter.index", CheckOK, `index "received_at_1" starts with received_at`, ""},
		{"auth.keys", CheckWarn, "no POWERSYNC_PRIVATE_KEY", "psmongo keys generate"},
		{"powersync.url", CheckWarn, "POWERSYNC_URL is not set", "set POWERSYNC_URL"},
		{"auth.token_ttl", CheckOK, "15m", ""},
		{"auth.token.mode", CheckWarn, "development only", "set auth.token.mode to upstream"},
		{"auth.upload.mode", CheckOK, "powersync", ""},
		{"unlisted_collections", CheckWarn, "development only", "set unlisted_collections to reject"},
	}
	if !devstoretest.Embedded() {
		// A replica set: what differs from the embedded store.
		want[2] = verdict{"mongodb.version", CheckOK, "MongoDB", ""}
		want[3] = verdict{"mongodb.replica_set", CheckOK, "replica set", ""}
		want[4] = verdict{"mongodb.change_streams", CheckOK, "opens", ""}
		want[5] = verdict{"mongodb.transactions", CheckOK, "used", ""}
	}
	checkVerdicts(t, got, want)

	if _, err := os.Stat("data"); !os.IsNotExist(err) {
		t.Errorf("doctor made a data directory (stat: %v); it must not write", err)
	}
}

// TestDoctorEmptyDatabase runs doctor on a database that holds nothing yet:
// the configured collection and the dead-letter collection do not exist.
func TestDoctorEmptyDatabase(t *testing.T) {
	cfg := doctorTestConfig(t, devstoretest.URI(), devstoretest.Database(t).Name())
	got := Doctor(t.Context(), cfg, DoctorOptions{PostImages: PostImagesReadOnly})

	want := []verdict{
		{"collections.todos", CheckWarn, "does not exist yet",
			`db.createCollection("todos", {changeStreamPreAndPostImages: {enabled: true}})`},
		{"mongodb.dead_letter", CheckOK, `"powersync_rejected_writes" does not exist yet`, ""},
		{"mongodb.dead_letter.index", CheckWarn, "does not exist yet, so it has no index on received_at",
			"(this creates the collection too)"},
	}
	var mine []Check
	for _, c := range got {
		if c.ID == "collections.todos" || strings.HasPrefix(c.ID, "mongodb.dead_letter") {
			mine = append(mine, c)
		}
	}
	checkVerdicts(t, mine, want)
}

// TestDoctorUnreachable points doctor at a port on 127.0.0.1 that nobody
// listens on: one failed line for MongoDB, and no further MongoDB checks.
func TestDoctorUnreachable(t *testing.T) {
	addr := apptest.FreeAddr(t)
	cfg := doctorTestConfig(t, "mongodb://"+addr+"/?connectTimeoutMS=60000&serverSelectionTimeoutMS=60000", "")
	got := Doctor(t.Context(), cfg, DoctorOptions{Timeout: 300 * time.Millisecond})

	c := findCheck(t, got, "mongodb")
	if c.Level != CheckFail || !strings.Contains(c.Message, "no answer from "+addr+" within 300ms") ||
		!strings.Contains(c.Message, "connection refused") || !strings.Contains(c.Fix, "check that MongoDB runs") {
		t.Errorf("unreachable MongoDB: got %+v", c)
	}
	for _, c := range got {
		if strings.HasPrefix(c.ID, "mongodb.") || strings.HasPrefix(c.ID, "collections") {
			t.Errorf("check %s ran without a connection: %+v", c.ID, c)
		}
	}
}

// TestDoctorConnectFailures checks the single failed line of each way a
// connection fails before any command.
func TestDoctorConnectFailures(t *testing.T) {
	tests := []struct {
		name string
		uri  string
		want verdict
	}{
		{"not a URI", "http://127.0.0.1:27017", verdict{"mongodb", CheckFail, "config: mongodb.uri:", "correct mongodb.uri (MONGO_URI)"}},
	}
	if devstoretest.Embedded() {
		// The embedded store refuses any credentials, as a server refuses wrong ones.
		uri := strings.Replace(devstoretest.URI(), "mongodb://", "mongodb://alice:wrong@", 1)
		tests = append(tests, struct {
			name string
			uri  string
			want verdict
		}{"wrong credentials", uri, verdict{"mongodb", CheckFail, "refused the credentials", "check the user, password and authSource"}})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := doctorTestConfig(t, tt.uri, "")
			got := findCheck(t, Doctor(t.Context(), cfg, DoctorOptions{}), "mongodb")
			checkVerdicts(t, []Check{got}, []verdict{tt.want})
			if strings.Contains(got.Message, "wrong") {
				t.Errorf("message %q shows the password", got.Message)
			}
		})
	}
}

// TestDoctorNoURI runs doctor without mongodb.uri: it judges the embedded
// store that serve would start, without starting it.
func TestDoctorNoURI(t *testing.T) {
	cfg := doctorTestConfig(t, "", "")
	var got []Check
	for _, c := range Doctor(t.Context(), cfg, DoctorOptions{}) {
		if strings.HasPrefix(c.ID, "mongodb") || strings.HasPrefix(c.ID, "collections") {
			got = append(got, c)
		}
	}

	const devStore = "the embedded store is for development only"
	checkVerdicts(t, got, []verdict{
		{"mongodb", CheckWarn, "no mongodb.uri: serve starts the embedded development store under data/mongo",
			"set MONGO_URI (mongodb.uri) to a MongoDB 6.0+ replica set"},
		{"mongodb.replica_set", CheckFail, "FerretDB (the embedded store is one) is not a replica set", devStore},
		{"mongodb.change_streams", CheckFail, "FerretDB has no change streams", devStore},
		{"mongodb.transactions", CheckWarn, "not a replica set", "use a replica set"},
	})
	if _, err := os.Stat("data"); !os.IsNotExist(err) {
		t.Errorf("doctor made a data directory (stat: %v); it must not start the store", err)
	}
}

// TestDoctorFile runs doctor on a config file that does not load: one
// failed check names the key.
func TestDoctorFile(t *testing.T) {
	t.Chdir(t.TempDir())
	file := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(file, []byte("auth:\n  token_ttl: 48h\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	got := DoctorFile(t.Context(), file, DoctorOptions{})
	checkVerdicts(t, got, []verdict{{"config", CheckFail, "auth.token_ttl: 48h0m0s is longer than 24h", "correct the key"}})
}

// TestJudgeConnect tells a replica set without a primary from servers that
// do not answer, from the driver's selection error.
func TestJudgeConnect(t *testing.T) {
	secondary := description.Server{Addr: "db1.example.com:27017", Kind: description.RSSecondary}
	refused := description.Server{Addr: "db2.example.com:27017", LastError: errors.New("dial tcp: connection refused")}
	fix := "check that MongoDB runs and that mongodb.uri (MONGO_URI) names its hosts"
	tests := []struct {
		name    string
		servers []description.Server
		want    verdict
	}{
		{"no primary", []description.Server{secondary},
			verdict{"mongodb", CheckFail, "no primary among db1.example.com:27017 within 1s", fix}},
		{"refused", []description.Server{secondary, refused},
			verdict{"mongodb", CheckFail, "no answer from db1.example.com:27017 within 1s: dial tcp: connection refused", fix}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := fmt.Errorf("pinging: %w", topology.ServerSelectionError{
				Desc: description.Topology{Servers: tt.servers}, Wrapped: errors.New("server selection timeout"),
			})
			got := judgeConnect(err, "db1.example.com:27017", time.Second)
			checkVerdicts(t, []Check{got}, []verdict{tt.want})
		})
	}
}
