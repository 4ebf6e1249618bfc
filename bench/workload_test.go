package bench

import (
	"encoding/json"
	"regexp"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"

	"github.com/psmongo/psmongo/hooks"
	"github.com/psmongo/psmongo/mongoapply"
)

var uuidForm = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$`)

func TestWorkloadSplits(t *testing.T) {
	wl := newWorkload(1, 1003, 100, 4, DefaultMix)
	total := 0
	for w, batches := range wl.batches {
		for j, ops := range batches {
			if len(ops) == 0 || len(ops) > 100 {
				t.Errorf("worker %d batch %d has %d ops, want 1 to 100", w, j, len(ops))
			}
			total += len(ops)
		}
	}
	if total != 1003 || wl.ops != 1003 {
		t.Errorf("workload holds %d ops (says %d), want 1003", total, wl.ops)
	}
	if got := wl.requests(); len(got) != 4 || got[0] != 3 || got[3] != 3 {
		t.Errorf("requests() = %v, want 3 per worker", got)
	}
}

// TestWorkloadOps checks that ids are new UUIDs, that PATCHes and DELETEs
// name documents their worker PUT before and did not delete, and that the
// mix holds roughly.
func TestWorkloadOps(t *testing.T) {
	wl := newWorkload(7, 20000, 100, 3, DefaultMix)
	seen := make(map[string]bool)
	counts := make(map[string]int)
	for w, batches := range wl.batches {
		live := make(map[string]bool)
		for _, ops := range batches {
			for _, o := range ops {
				counts[o.kind]++
				switch o.kind {
				case opPut:
					if !uuidForm.MatchString(o.id) || seen[o.id] {
						t.Fatalf("worker %d: PUT id %q is not a new UUID", w, o.id)
					}
					seen[o.id], live[o.id] = true, true
					checkTodo(t, o.todo)
				case opPatch:
					if !live[o.id] {
						t.Fatalf("worker %d: PATCH of %q, which it did not PUT or deleted", w, o.id)
					}
				case opDelete:
					if !live[o.id] {
						t.Fatalf("worker %d: DELETE of %q, which it did not PUT or deleted", w, o.id)
					}
					delete(live, o.id)
				}
			}
		}
	}
	for kind, share := range map[string]float64{opPut: 0.6, opPatch: 0.3, opDelete: 0.1} {
		if got := float64(counts[kind]) / 20000; got < share-0.02 || got > share+0.02 {
			t.Errorf("%s makes %.3f of the ops, want about %.2f", kind, got, share)
		}
	}
}

func checkTodo(t *testing.T, td todo) {
	t.Helper()
	if len(td.Description) != 40 || td.Completed < 0 || td.Completed > 1 || !uuidForm.MatchString(td.ListID) ||
		td.CreatedAt.Year() != 2026 || len(td.Tags) > 3 {
		t.Fatalf("unlikely todo %+v", td)
	}
}

func TestWorkloadRunsDiffer(t *testing.T) {
	a := newWorkload(1, 10, 10, 1, DefaultMix).batches[0][0][0]
	b := newWorkload(2, 10, 10, 1, DefaultMix).batches[0][0][0]
	if a.id == b.id {
		t.Errorf("two runs made the same id %q", a.id)
	}
}

// TestBodyShapes checks that psmongo reads both shapes as the same ops.
func TestBodyShapes(t *testing.T) {
	ops := newWorkload(3, 50, 50, 1, DefaultMix).batches[0][0]
	for _, shape := range []string{ShapeConnector, ShapeSDK} {
		t.Run(shape, func(t *testing.T) {
			b := body(ops, shape, "bench_todos", 11, 4)
			parsed, err := mongoapply.ParseBatch(b)
			if err != nil {
				t.Fatalf("ParseBatch: %v\n%s", err, b)
			}
			for i, p := range parsed {
				o := ops[i]
				if p.Kind != hooks.Kind(o.kind) || p.ID != o.id || p.Table != "bench_todos" {
					t.Fatalf("op %d = %s %s %s, want %s %s bench_todos", i, p.Kind, p.Table, p.ID, o.kind, o.id)
				}
				checkShape(t, shape, i, p)
				values, err := p.Values()
				if err != nil {
					t.Fatal(err)
				}
				checkData(t, o, values)
			}
		})
	}
}

func checkShape(t *testing.T, shape string, i int, p mongoapply.Op) {
	t.Helper()
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(p.Raw, &fields); err != nil {
		t.Fatal(err)
	}
	_, hasOpID := fields["op_id"]
	_, hasType := fields["type"]
	_, hasTable := fields["table"]
	if shape == ShapeSDK != (hasOpID && hasType && !hasTable) {
		t.Errorf("%s op %d has fields %v", shape, i, fields)
	}
	if shape == ShapeSDK && (string(p.OpID) != jsonInt(11+i) || p.TxID != "4") {
		t.Errorf("op %d: op_id %s, tx_id %q; want %d and 4", i, p.OpID, p.TxID, 11+i)
	}
}

func checkData(t *testing.T, o op, data map[string]any) {
	t.Helper()
	switch o.kind {
	case opPut:
		var tags []string
		if err := json.Unmarshal([]byte(data["tags"].(string)), &tags); err != nil || len(tags) != len(o.todo.Tags) {
			t.Errorf("tags %v, want the JSON text of %v", data["tags"], o.todo.Tags)
		}
		created, err := time.Parse(sqliteTime, data["created_at"].(string))
		if err != nil || !created.Equal(o.todo.CreatedAt) || data["description"] != o.todo.Description {
			t.Errorf("data %v does not hold the todo %+v", data, o.todo)
		}
	case opPatch:
		if len(data) != 2 || data["completed"] != json.Number("1") {
			t.Errorf("PATCH data %v, want completed and description", data)
		}
	case opDelete:
		if data != nil {
			t.Errorf("DELETE data %v, want none", data)
		}
	}
}

func jsonInt(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestModels(t *testing.T) {
	ops := []op{
		{kind: opPut, id: "a", todo: todo{Description: "d", Completed: 1, CreatedAt: epoch, ListID: "l", Tags: []string{"x"}}},
		{kind: opPatch, id: "a", todo: todo{Description: "e", Completed: 1}},
		{kind: opDelete, id: "a"},
	}
	got := models(ops)
	put, ok := got[0].(*mongo.ReplaceOneModel)
	if !ok || put.Upsert == nil || !*put.Upsert {
		t.Fatalf("PUT model %#v, want an upserting replace", got[0])
	}
	wantDoc := bson.D{{Key: "_id", Value: "a"}, {Key: "completed", Value: true}, {Key: "created_at", Value: epoch},
		{Key: "description", Value: "d"}, {Key: "list_id", Value: "l"}, {Key: "tags", Value: bson.A{"x"}}}
	if gotDoc, _ := bson.Marshal(put.Replacement); string(gotDoc) != string(mustMarshal(t, wantDoc)) {
		t.Errorf("PUT document %v, want %v", put.Replacement, wantDoc)
	}
	if _, ok := got[1].(*mongo.UpdateOneModel); !ok {
		t.Errorf("PATCH model %#v, want an update", got[1])
	}
	if _, ok := got[2].(*mongo.DeleteOneModel); !ok {
		t.Errorf("DELETE model %#v, want a delete", got[2])
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := bson.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
