package mongoapply

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/event"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/integration/mtest"
	"go.mongodb.org/mongo-driver/mongo/options"
	"go.mongodb.org/mongo-driver/mongo/writeconcern"
	"go.mongodb.org/mongo-driver/x/bsonx/bsoncore"

	"github.com/psmongo/psmongo/devstore/devstoretest"
	"github.com/psmongo/psmongo/hooks"
)

func TestReadWriteReply(t *testing.T) {
	upserted := bson.A{bson.D{{Key: "index", Value: 0}, {Key: "_id", Value: "a"}},
		bson.D{{Key: "index", Value: 2}, {Key: "_id", Value: bson.D{{Key: "x", Value: 1}}}}}
	tests := []struct {
		name  string
		reply bson.D
		want  writeReply
	}{
		{"int32 counts", bson.D{{Key: "n", Value: int32(3)}, {Key: "upserted", Value: upserted}, {Key: "ok", Value: 1.0}},
			writeReply{n: 3, upserted: 2}},
		{"int64 and double", bson.D{{Key: "ok", Value: 1}, {Key: "n", Value: int64(5)}}, writeReply{n: 5}},
		{"double n", bson.D{{Key: "n", Value: 2.0}, {Key: "upserted", Value: bson.A{}}}, writeReply{n: 2}},
		{"nothing", bson.D{{Key: "ok", Value: 1}}, writeReply{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := bson.Marshal(tt.reply)
			if err != nil {
				t.Fatal(err)
			}
			got := readWriteReply(bsoncore.Document(b))
			if got.n != tt.want.n || got.upserted != tt.want.upserted || len(got.upsertedIDs()) != int(tt.want.upserted) {
				t.Errorf("readWriteReply(%v) = n %d, upserted %d, ids %v; want n %d, upserted %d",
					tt.reply, got.n, got.upserted, got.upsertedIDs(), tt.want.n, tt.want.upserted)
			}
		})
	}
}

// TestWriteCommands checks the commands a unit becomes on the test
// deployment: one per stretch of one kind on one collection, in order,
// with the statements the ops planned and the database's write concern.
func TestWriteCommands(t *testing.T) {
	var mu sync.Mutex
	var started []bson.Raw
	monitor := &event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
		if e.CommandName == "update" || e.CommandName == "delete" {
			mu.Lock()
			started = append(started, bson.Raw(slices.Clone(e.Command)))
			mu.Unlock()
		}
	}}
	client, err := mongo.Connect(t.Context(), options.Client().ApplyURI(devstoretest.URI()).SetMonitor(monitor))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	db := client.Database(devstoretest.DatabaseName(t), options.Database().SetWriteConcern(writeconcern.Majority()))
	a, err := New(t.Context(), db, Config{})
	if err != nil {
		t.Fatal(err)
	}

	ops, err := ParseBatch([]byte(`{"batch":[
		{"op":"PUT","table":"todos","id":"a","data":{"x":1}},
		{"op":"PATCH","table":"todos","id":"a","data":{"y":2}},
		{"op":"DELETE","table":"todos","id":"b"},
		{"op":"PATCH","table":"todos","id":"c","data":{}},
		{"op":"DELETE","table":"todos","id":"c"},
		{"op":"PUT","table":"lists","id":"l"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	res, err := a.Apply(t.Context(), "u", ops)
	if err != nil || res.Applied != 6 || len(res.Unmatched) != 0 {
		t.Fatalf("Apply = %+v, %v; want 6 applied, none unmatched", res, err)
	}

	want := []struct {
		name, coll string
		stmts      []string
	}{
		{"update", "todos", []string{
			`{"q": {"_id": "a"},"u": {"_id": "a","x": {"$numberInt":"1"}},"upsert": true}`,
			`{"q": {"_id": "a"},"u": {"$set": {"y": {"$numberInt":"2"}}}}`}},
		{"delete", "todos", []string{
			`{"q": {"_id": "b"},"limit": {"$numberInt":"1"}}`,
			`{"q": {"_id": "c"},"limit": {"$numberInt":"1"}}`}},
		{"update", "lists", []string{`{"q": {"_id": "l"},"u": {"_id": "l"},"upsert": true}`}},
	}
	if len(started) != len(want) {
		t.Fatalf("%d write commands, want %d: %v", len(started), len(want), started)
	}
	for i, w := range want {
		cmd := started[i]
		if cmd.Lookup(w.name).StringValue() != w.coll {
			t.Errorf("command %d = %s, want %s on %s", i, cmd, w.name, w.coll)
		}
		stmts, _ := cmd.Lookup(w.name + "s").Array().Values()
		if len(stmts) != len(w.stmts) {
			t.Fatalf("command %d has %d statements, want %d: %s", i, len(stmts), len(w.stmts), cmd)
		}
		for j, s := range stmts {
			if got := s.Document().String(); got != w.stmts[j] {
				t.Errorf("command %d statement %d = %s, want %s", i, j, got, w.stmts[j])
			}
		}
		if !cmd.Lookup("ordered").Boolean() {
			t.Errorf("command %d is not ordered: %s", i, cmd)
		}
		if got := cmd.Lookup("writeConcern", "w").StringValue(); got != "majority" {
			t.Errorf("command %d has write concern %q, want the database's majority: %s", i, got, cmd)
		}
	}
}

// TestWriteCommandRetriesOnce checks that on a replica set written
// without transactions, a write command that fails as a primary steps
// down goes again once, as the driver's own writes do, and that a second
// failure reaches the client as unavailable.
func TestWriteCommandRetriesOnce(t *testing.T) {
	mt := mtest.New(t, mtest.NewOptions().ClientType(mtest.Mock))
	stepDown := bson.D{{Key: "ok", Value: 0}, {Key: "code", Value: 11602},
		{Key: "codeName", Value: "InterruptedDueToReplStateChange"}, {Key: "errmsg", Value: "stepping down"}}
	ops, err := ParseBatch([]byte(`{"batch":[{"op":"PUT","table":"todos","id":"a","data":{"x":1}}]}`))
	if err != nil {
		t.Fatal(err)
	}

	mt.Run("once", func(mt *mtest.T) {
		a := &Applier{db: mt.Client.Database("app"), cfg: Config{DeadLetter: DefaultDeadLetter},
			caps: Capabilities{Transactions: true}, log: discardLogger()}
		mt.AddMockResponses(stepDown, bson.D{{Key: "ok", Value: 1}, {Key: "n", Value: 1}})
		res, err := a.Apply(mt.Context(), "u", ops)
		if err != nil || res.Applied != 1 {
			mt.Fatalf("Apply = %+v, %v; want the op applied on the second try", res, err)
		}
		if got := commandNames(mt); !equalStrings(got, []string{"update", "update"}) {
			mt.Errorf("commands = %v, want two updates", got)
		}
	})
	mt.Run("not twice", func(mt *mtest.T) {
		a := &Applier{db: mt.Client.Database("app"), cfg: Config{DeadLetter: DefaultDeadLetter},
			caps: Capabilities{Transactions: true}, log: discardLogger()}
		mt.AddMockResponses(stepDown, stepDown, bson.D{{Key: "ok", Value: 1}, {Key: "n", Value: 1}})
		if _, err := a.Apply(mt.Context(), "u", ops); !errors.Is(err, ErrUnavailable) {
			mt.Fatalf("Apply = %v, want ErrUnavailable", err)
		}
		if got := commandNames(mt); !equalStrings(got, []string{"update", "update"}) {
			mt.Errorf("commands = %v, want two updates", got)
		}
	})
	mt.Run("not on a standalone", func(mt *mtest.T) {
		a := &Applier{db: mt.Client.Database("app"), cfg: Config{DeadLetter: DefaultDeadLetter}, log: discardLogger()}
		mt.AddMockResponses(stepDown, bson.D{{Key: "ok", Value: 1}, {Key: "n", Value: 1}})
		if _, err := a.Apply(mt.Context(), "u", ops); !errors.Is(err, ErrUnavailable) {
			mt.Fatalf("Apply = %v, want ErrUnavailable", err)
		}
		if got := commandNames(mt); !equalStrings(got, []string{"update"}) {
			mt.Errorf("commands = %v, want one update", got)
		}
	})
}

// TestCommandsStayWithinMongoDBLimit splits runs of many statements that
// together come near 16 MiB into commands, and checks that each command,
// on a collection with a name of 200 bytes and with a write concern, leaves
// room for the fields the driver adds (database, session, cluster time,
// transaction) under MongoDB's limit of 16 MiB and 16 KiB for a command,
// and that every statement goes in one command, in order. The array's
// element headers, an index per statement, add 20 KB over 3,000
// statements.
func TestCommandsStayWithinMongoDBLimit(t *testing.T) {
	const (
		mongoDBLimit = 16<<20 + 16<<10
		driverFields = 1 << 10
	)
	wc := options.Database().SetWriteConcern(writeconcern.Majority())
	a := &Applier{db: devstoretest.Client().Database("app", wc)}
	coll := strings.Repeat("c", 200)
	for _, n := range []int{1, 2, 50, 3000, 10000} {
		put, del := &Op{Kind: hooks.Put}, &Op{Kind: hooks.Delete}
		run := make([]write, n)
		for i := range run {
			run[i] = write{op: put, stmt: make([]byte, 16<<20/n)}
		}
		run = append(run, write{op: &Op{Kind: hooks.Patch}}, write{op: del, stmt: make([]byte, 30)})

		written := 0
		for start := 0; start < len(run); {
			end, size := commandEnd(run, start)
			if size > 0 {
				cmd := a.commandDoc(coll, run[start:end])
				if len(cmd)+driverFields > mongoDBLimit {
					t.Errorf("%d statements of %d bytes: a command of %d is %d bytes, over MongoDB's limit less %d for the driver's fields",
						n, len(run[0].stmt), end-start, len(cmd), driverFields)
				}
			}
			kinds := map[hooks.Kind]bool{}
			for _, w := range run[start:end] {
				if w.stmt != nil {
					kinds[w.op.Kind] = true
				}
			}
			if len(kinds) > 1 {
				t.Fatalf("%d statements: a command mixes %v", n, kinds)
			}
			written += end - start
			start = end
		}
		if written != len(run) {
			t.Errorf("%d statements: commands took %d writes of %d", n, written, len(run))
		}
	}
}

// TestCommandsStayWithinMongoDBBatchSize splits runs of more DELETEs than
// MongoDB takes in one command, which server.max_ops may allow, and checks
// that no command holds more than 100,000 statements.
func TestCommandsStayWithinMongoDBBatchSize(t *testing.T) {
	del := &Op{Kind: hooks.Delete}
	stmt := []byte("a delete statement")
	for _, n := range []int{100_000, 100_001, 250_000} {
		run := make([]write, n)
		for i := range run {
			run[i] = write{op: del, stmt: stmt}
		}

		var commands []int
		for start := 0; start < len(run); {
			end, _ := commandEnd(run, start)
			commands = append(commands, end-start)
			start = end
		}
		want := []int{}
		for left := n; left > 0; left -= min(left, 100_000) {
			want = append(want, min(left, 100_000))
		}
		if !slices.Equal(commands, want) {
			t.Errorf("%d DELETEs went in commands of %v statements, want %v", n, commands, want)
		}
	}
}

// TestWritesToAViewAreRefused classifies MongoDB's answer to a write to a
// view, which the embedded store does not have: the command's first op is
// refused with INVALID_COLLECTION, after the writes before the command.
func TestWritesToAViewAreRefused(t *testing.T) {
	patch, put := &Op{Kind: hooks.Patch}, &Op{Kind: hooks.Put}
	writes := []write{{op: patch}, {op: put, stmt: []byte{0}}, {op: put, stmt: []byte{0}}}
	err := mongo.CommandError{Code: 166, Name: "CommandNotSupportedOnView",
		Message: "Namespace db.v is a view, not a collection"}

	got := runError(err, writes, 3, 10)
	var refused *writeRefused
	if !errors.As(got, &refused) {
		t.Fatalf("runError(%v) = %v, want a refused write", err, got)
	}
	want := refusal{index: 14, code: CodeInvalidCollection,
		message: "MongoDB refused the collection: (CommandNotSupportedOnView) Namespace db.v is a view, not a collection"}
	if refused.refusal != want || refused.applied != 4 {
		t.Errorf("runError(%v) = %+v, applied %d; want %+v, applied 4", err, refused.refusal, refused.applied, want)
	}
}
