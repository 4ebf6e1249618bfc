package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"

	"github.com/psmongo/psmongo/mongoapply"
)

// verdict is what a test expects of one check: its id, its level, and
// fragments of its message and of its fix.
type verdict struct {
	ID      string
	Level   CheckLevel
	Message string
	Fix     string // "" for a check that is ok
}

// loadAnswers reads a deployment's recorded answers from
// testdata/doctor/<name>.
func loadAnswers(t *testing.T, name string) *serverAnswers {
	t.Helper()
	dir := filepath.Join("testdata", "doctor", name)
	return &serverAnswers{
		Hello:             loadAnswer(t, dir, "hello.json"),
		BuildInfo:         loadAnswer(t, dir, "buildInfo.json"),
		Collections:       loadListing(t, dir, "listCollections.json"),
		ChangeStream:      loadAnswer(t, dir, "changeStream.json"),
		DeadLetterIndexes: loadListing(t, dir, "listIndexes.json"),
		DeadLetterCount:   loadAnswer(t, dir, "count.json"),
	}
}

// loadAnswer reads one recorded reply; an error reply (ok: 0) becomes the
// error the driver would return for it.
func loadAnswer(t *testing.T, dir, file string) answer {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	var doc bson.Raw
	if err := bson.UnmarshalExtJSON(data, false, &doc); err != nil {
		t.Fatalf("%s/%s: %v", dir, file, err)
	}

	if ok, _ := doc.Lookup("ok").AsInt64OK(); ok == 1 {
		return answer{Doc: doc}
	}
	code, _ := doc.Lookup("code").AsInt64OK()
	return answer{Err: mongo.CommandError{
		Code: int32(code), Name: lookupString(doc, "codeName"), Message: lookupString(doc, "errmsg"), Raw: doc,
	}}
}

// loadListing reads a recorded cursor reply as the documents of its first
// batch.
func loadListing(t *testing.T, dir, file string) listing {
	t.Helper()
	a := loadAnswer(t, dir, file)
	if a.Err != nil {
		return listing{Err: a.Err}
	}

	batch, ok := a.Doc.Lookup("cursor", "firstBatch").ArrayOK()
	if !ok {
		t.Fatalf("%s/%s: no cursor.firstBatch", dir, file)
	}
	values, err := batch.Values()
	if err != nil {
		t.Fatal(err)
	}
	var docs []bson.Raw
	for _, v := range values {
		docs = append(docs, v.Document())
	}
	return listing{Docs: docs}
}

// judgeTestConfig configures the collections the recorded deployments hold
// in various states.
func judgeTestConfig() *Config {
	return &Config{
		MongoDB: MongoDBConfig{Transactions: mongoapply.TxAuto, DeadLetter: mongoapply.DefaultDeadLetter},
		Collections: map[string]CollectionConfig{
			"todos":      {Schema: "fields"},
			"lists":      {Schema: "fields"},
			"archive":    {Schema: "validators"},
			"open_todos": {Schema: "fields"},
		},
	}
}

// TestJudgeRecordedDeployments judges the recorded answers of each kind of
// deployment and checks every verdict and its fix.
func TestJudgeRecordedDeployments(t *testing.T) {
	const (
		readWrite  = "give the user in mongodb.uri the readWrite role on the database"
		devStore   = "point mongodb.uri (MONGO_URI) at a MongoDB 6.0+ replica set; the embedded store is for development only"
		replicaSet = "start mongod with --replSet rs0, run rs.initiate() once, and add ?replicaSet=rs0 to mongodb.uri"
	)
	replSetCollections := []verdict{
		{"collections.archive", CheckOK, "changeStreamPreAndPostImages is enabled", ""},
		{"collections.archive.schema", CheckOK, "2 field type(s) from the $jsonSchema validator", ""},
		{"collections.lists", CheckWarn, "changeStreamPreAndPostImages is off, which the PowerSync Service needs when its post_images is read_only",
			`db.runCommand({collMod: "lists", changeStreamPreAndPostImages: {enabled: true}}), or tell doctor`},
		{"collections.open_todos", CheckFail, "is a view", "configure the view's source collection instead"},
		{"collections.todos", CheckOK, "changeStreamPreAndPostImages is enabled", ""},
	}
	missingCollections := []verdict{
		{"collections.archive", CheckWarn, "does not exist yet",
			`db.createCollection("archive", {changeStreamPreAndPostImages: {enabled: true}})`},
		{"collections.archive.schema", CheckWarn, "the collection does not exist",
			"create it with its $jsonSchema validator"},
		{"collections.lists", CheckWarn, "does not exist yet",
			`db.createCollection("lists", {changeStreamPreAndPostImages: {enabled: true}})`},
		{"collections.open_todos", CheckWarn, "does not exist yet", `db.createCollection("open_todos"`},
		{"collections.todos", CheckWarn, "changeStreamPreAndPostImages is off",
			`db.runCommand({collMod: "todos", changeStreamPreAndPostImages: {enabled: true}})`},
	}
	noDeadLetters := []verdict{
		{"mongodb.dead_letter", CheckOK, `"powersync_rejected_writes" does not exist yet`, ""},
		{"mongodb.dead_letter.index", CheckWarn, "does not exist yet, so it has no index on received_at",
			`start psmongo serve once, which creates it, or run db.getCollection("powersync_rejected_writes").createIndex({user_id: 1, received_at: -1}, {name: "user_id_received_at"}) (this creates the collection too)`},
	}
	transactionsUsed := verdict{"mongodb.transactions", CheckOK, "used: each unit is written in one transaction", ""}
	noTransactions := verdict{"mongodb.transactions", CheckWarn, "not used: the deployment is not a replica set",
		"use a replica set, which PowerSync needs anyway"}
	version7 := verdict{"mongodb.version", CheckOK, "MongoDB 7.0.14", ""}
	changeStreamOpens := verdict{"mongodb.change_streams", CheckOK, "a change stream on the database opens", ""}

	tests := []struct {
		name string
		want [][]verdict
	}{
		{"replset", [][]verdict{{
			version7,
			{"mongodb.replica_set", CheckOK, `replica set "rs0", primary db1.example.com:27017`, ""},
			changeStreamOpens,
			transactionsUsed,
		}, replSetCollections, {
			{"mongodb.dead_letter", CheckOK, `"powersync_rejected_writes" holds no refused units`, ""},
			{"mongodb.dead_letter.index", CheckOK, `index "received_at_-1" starts with received_at`, ""},
		}}},
		{"secondary", [][]verdict{{
			version7,
			{"mongodb.replica_set", CheckFail, `a member of replica set "rs0" that is not its primary`,
				"drop directConnection from mongodb.uri and add replicaSet=rs0"},
			changeStreamOpens,
			transactionsUsed,
		}, replSetCollections, {
			{"mongodb.dead_letter", CheckOK, "holds no refused units", ""},
			{"mongodb.dead_letter.index", CheckOK, `index "received_at_-1"`, ""},
		}}},
		{"standalone", [][]verdict{{
			version7,
			{"mongodb.replica_set", CheckFail, "a standalone mongod", replicaSet},
			{"mongodb.change_streams", CheckFail,
				"a standalone mongod has none: (Location40573) The $changeStream stage is only supported on replica sets",
				replicaSet},
			noTransactions,
		}, missingCollections, noDeadLetters}},
		{"mongos", [][]verdict{{
			version7,
			{"mongodb.replica_set", CheckFail, "a mongos of a sharded cluster", "use an unsharded replica set"},
			changeStreamOpens,
			{"mongodb.transactions", CheckOK, "(mongodb.transactions: auto)", ""},
		}, replSetCollections, {
			{"mongodb.dead_letter", CheckWarn, `2 refused unit(s) in "powersync_rejected_writes" await review`,
				`read them with db.getCollection("powersync_rejected_writes").find().sort({received_at: -1})`},
			{"mongodb.dead_letter.index", CheckWarn, "no index on received_at or user_id",
				`start psmongo serve once, which creates it, or run db.getCollection("powersync_rejected_writes").createIndex({user_id: 1, received_at: -1}, {name: "user_id_received_at"})`},
		}}},
		{"mongodb5", [][]verdict{{
			{"mongodb.version", CheckFail, "MongoDB 5.0.26; PowerSync needs 6.0 or newer", "use MongoDB 6.0 or newer"},
			{"mongodb.replica_set", CheckOK, `replica set "rs0"`, ""},
			changeStreamOpens,
			transactionsUsed,
		}, missingCollections[:4], {
			{"collections.todos", CheckWarn, "changeStreamPreAndPostImages is off", `collMod: "todos"`},
			{"mongodb.dead_letter", CheckOK, "holds no refused units", ""},
			{"mongodb.dead_letter.index", CheckOK, `index "user_id_1_received_at_1" starts with user_id`, ""},
		}}},
		{"unauthorized", [][]verdict{{
			version7,
			{"mongodb.replica_set", CheckOK, `replica set "rs0"`, ""},
			{"mongodb.change_streams", CheckFail, "not authorized to open one: (Unauthorized) not authorized on app",
				"grant the changeStream and find actions on the database"},
			transactionsUsed,
			{"collections", CheckFail, "listing the collections of the database: (Unauthorized)", readWrite},
			{"mongodb.dead_letter", CheckFail, `reading "powersync_rejected_writes": (Unauthorized)`, readWrite},
			{"mongodb.dead_letter.index", CheckWarn, `listing the indexes of "powersync_rejected_writes": (Unauthorized)`,
				readWrite},
		}}},
		{"ferretdb", [][]verdict{{
			{"mongodb.version", CheckWarn, "FerretDB, which reports MongoDB 7.0.42", devStore},
			{"mongodb.replica_set", CheckFail, "FerretDB (the embedded store is one) is not a replica set", devStore},
			{"mongodb.change_streams", CheckFail, "FerretDB has no change streams, and refuses to open one", devStore},
			noTransactions,
		}, missingCollections, noDeadLetters}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := judgeDeployment(loadAnswers(t, tt.name), judgeTestConfig(), "")
			var want []verdict
			for _, part := range tt.want {
				want = append(want, part...)
			}
			checkVerdicts(t, got, want)
		})
	}
}

// checkVerdicts compares checks with the verdicts expected of them, and
// checks that exactly the checks that are not ok name a fix.
func checkVerdicts(t *testing.T, got []Check, want []verdict) {
	t.Helper()
	type idLevel struct {
		ID    string
		Level CheckLevel
	}
	var gotIL, wantIL []idLevel
	for _, c := range got {
		gotIL = append(gotIL, idLevel{c.ID, c.Level})
	}
	for _, w := range want {
		wantIL = append(wantIL, idLevel{w.ID, w.Level})
	}
	if diff := cmp.Diff(wantIL, gotIL); diff != "" {
		t.Fatalf("checks (-want +got):\n%s\ngot: %+v", diff, got)
	}

	for i, c := range got {
		w := want[i]
		if !strings.Contains(c.Message, w.Message) {
			t.Errorf("%s: message %q; want it to say %q", c.ID, c.Message, w.Message)
		}
		if !strings.Contains(c.Fix, w.Fix) || (w.Fix == "") != (c.Fix == "") {
			t.Errorf("%s: fix %q; want %q", c.ID, c.Fix, w.Fix)
		}
		if (c.Level == CheckOK) != (c.Fix == "") {
			t.Errorf("%s: level %s with fix %q; want a fix exactly when not ok", c.ID, c.Level, c.Fix)
		}
		if strings.Contains(c.Message, "\n") || strings.Contains(c.Fix, "\n") {
			t.Errorf("%s: %q, fix %q spans lines", c.ID, c.Message, c.Fix)
		}
	}
}

// TestJudgePostImages judges changeStreamPreAndPostImages on the recorded
// replica set's collections under each post_images mode of the Service.
func TestJudgePostImages(t *testing.T) {
	docs := loadAnswers(t, "replset").Collections.Docs
	enable := `db.runCommand({collMod: "lists", changeStreamPreAndPostImages: {enabled: true}})`
	create := `db.createCollection("missing", {changeStreamPreAndPostImages: {enabled: true}})`
	tests := []struct {
		name       string
		collection string
		postImages string
		want       verdict
	}{
		{"enabled, read_only", "todos", PostImagesReadOnly, verdict{"collections.todos", CheckOK, "is enabled", ""}},
		{"enabled, unknown", "todos", "", verdict{"collections.todos", CheckOK, "is enabled", ""}},
		{"off, read_only", "lists", PostImagesReadOnly, verdict{"collections.lists", CheckFail, "the PowerSync Service stops replicating", enable}},
		{"off, unknown", "lists", "", verdict{"collections.lists", CheckWarn, "when its post_images is read_only", enable + ", or tell doctor the Service's mode with --post-images"}},
		{"off, auto_configure", "lists", PostImagesAutoConfigure, verdict{"collections.lists", CheckOK, "auto_configure enables it", ""}},
		{"off, off", "lists", PostImagesOff, verdict{"collections.lists", CheckOK, "post_images is off", ""}},
		{"missing, read_only", "missing", PostImagesReadOnly, verdict{"collections.missing", CheckWarn, "does not exist yet", create}},
		{"missing, unknown", "missing", "", verdict{"collections.missing", CheckWarn, "does not exist yet", create}},
		{"missing, auto_configure", "missing", PostImagesAutoConfigure, verdict{"collections.missing", CheckOK, "auto_configure", ""}},
		{"view, auto_configure", "open_todos", PostImagesAutoConfigure, verdict{"collections.open_todos", CheckFail, "is a view", "source collection"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, found := findCollection(docs, tt.collection)
			got := judgePostImages(tt.collection, info, found, tt.postImages)
			checkVerdicts(t, []Check{got}, []verdict{tt.want})
		})
	}
}

// TestJudgeTransactions crosses mongodb.transactions with the recorded
// deployments.
func TestJudgeTransactions(t *testing.T) {
	tests := []struct {
		deployment string
		mode       mongoapply.TxMode
		want       verdict
	}{
		{"replset", mongoapply.TxAuto, verdict{"mongodb.transactions", CheckOK, "used", ""}},
		{"replset", mongoapply.TxAlways, verdict{"mongodb.transactions", CheckOK, "used", ""}},
		{"replset", mongoapply.TxNever, verdict{"mongodb.transactions", CheckWarn, "mongodb.transactions is never", "set mongodb.transactions to auto"}},
		{"mongos", mongoapply.TxAuto, verdict{"mongodb.transactions", CheckOK, "used", ""}},
		{"standalone", mongoapply.TxAuto, verdict{"mongodb.transactions", CheckWarn, "not a replica set", "use a replica set"}},
		{"standalone", mongoapply.TxNever, verdict{"mongodb.transactions", CheckWarn, "not a replica set", "use a replica set"}},
		{"standalone", mongoapply.TxAlways, verdict{"mongodb.transactions", CheckFail, "serve will not start", "set mongodb.transactions to auto, or use a replica set"}},
		{"ferretdb", mongoapply.TxAlways, verdict{"mongodb.transactions", CheckFail, "serve will not start", "set mongodb.transactions to auto"}},
	}
	for _, tt := range tests {
		t.Run(tt.deployment+"/"+string(tt.mode), func(t *testing.T) {
			got := judgeTransactions(loadAnswers(t, tt.deployment), tt.mode)
			checkVerdicts(t, []Check{got}, []verdict{tt.want})
		})
	}
}

// TestJudgeVersion reads versions from buildInfo answers beyond the
// recorded ones.
func TestJudgeVersion(t *testing.T) {
	tests := []struct {
		name  string
		build bson.D
		want  verdict
	}{
		{"6.0 exactly", bson.D{{Key: "version", Value: "6.0.0"}, {Key: "versionArray", Value: bson.A{6, 0, 0, 0}}},
			verdict{"mongodb.version", CheckOK, "MongoDB 6.0.0", ""}},
		{"8.0 without versionArray", bson.D{{Key: "version", Value: "8.0.3"}},
			verdict{"mongodb.version", CheckOK, "MongoDB 8.0.3", ""}},
		{"4.4 as int64", bson.D{{Key: "version", Value: "4.4.29"}, {Key: "versionArray", Value: bson.A{int64(4), 4, 29, 0}}},
			verdict{"mongodb.version", CheckFail, "MongoDB 4.4.29", "use MongoDB 6.0 or newer"}},
		{"unreadable", bson.D{{Key: "version", Value: "next"}},
			verdict{"mongodb.version", CheckWarn, `cannot read the version "next"`, "use MongoDB 6.0 or newer"}},
		{"FerretDB with its version", bson.D{{Key: "version", Value: "7.0.42"}, {Key: "ferretdbVersion", Value: "v1.24.2"}},
			verdict{"mongodb.version", CheckWarn, "FerretDB v1.24.2, which reports MongoDB 7.0.42", "MongoDB 6.0+ replica set"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := bson.Marshal(tt.build)
			if err != nil {
				t.Fatal(err)
			}
			got := judgeVersion(&serverAnswers{BuildInfo: answer{Doc: raw}})
			checkVerdicts(t, []Check{got}, []verdict{tt.want})
		})
	}

	failed := judgeVersion(&serverAnswers{BuildInfo: answer{Err: mongo.CommandError{Code: 13, Message: "denied"}}})
	checkVerdicts(t, []Check{failed}, []verdict{{"mongodb.version", CheckWarn, "buildInfo failed: denied", "use MongoDB 6.0 or newer"}})
}

// TestJudgeValidator checks the validator line beyond the recorded one.
func TestJudgeValidator(t *testing.T) {
	collection := func(options bson.D) bson.Raw {
		raw, err := bson.Marshal(bson.D{{Key: "name", Value: "c"}, {Key: "options", Value: options}})
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	schema := func(props bson.D) bson.D {
		return bson.D{{Key: "validator", Value: bson.D{{Key: "$jsonSchema", Value: bson.D{
			{Key: "bsonType", Value: "object"}, {Key: "properties", Value: props},
		}}}}}
	}
	tests := []struct {
		name    string
		options bson.D
		want    verdict
	}{
		{"no validator", bson.D{}, verdict{"collections.c.schema", CheckWarn, "has no validator", "add a $jsonSchema validator"}},
		{"empty validator", bson.D{{Key: "validator", Value: bson.D{}}},
			verdict{"collections.c.schema", CheckWarn, "has no validator", "add a $jsonSchema validator"}},
		{"query validator", bson.D{{Key: "validator", Value: bson.D{{Key: "a", Value: bson.D{{Key: "$type", Value: "string"}}}}}},
			verdict{"collections.c.schema", CheckFail, "serve will not start", "set schema: fields"}},
		{"unmapped type", schema(bson.D{{Key: "blob", Value: bson.D{{Key: "bsonType", Value: "binData"}}}}),
			verdict{"collections.c.schema", CheckWarn, `"blob"`, "name those fields' types under fields"}},
		{"mapped", schema(bson.D{{Key: "n", Value: bson.D{{Key: "bsonType", Value: "int"}}}}),
			verdict{"collections.c.schema", CheckOK, "1 field type(s)", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := judgeValidator("c", collection(tt.options), true)
			checkVerdicts(t, []Check{got}, []verdict{tt.want})
		})
	}
}
