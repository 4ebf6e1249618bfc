package handlers_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo"

	"github.com/psmongo/psmongo/devstore/devstoretest"
)

// replayFields types the columns of the recorded client schema. price is
// text on the client; it is a decimal where the deployment has Decimal128.
func replayFields() map[string]map[string]string {
	price := "string"
	if !devstoretest.Embedded() {
		price = "decimal"
	}
	return map[string]map[string]string{
		"lists": {"created_at": "date", "name": "string", "owner_id": "string"},
		"todos": {"completed": "bool", "completed_at": "date", "tags": "array", "meta": "object",
			"price": price, "due": "double", "priority": "long", "description": "string",
			"list_id": "string", "created_by": "string"},
		"notes":       {"version": "int", "title": "string", "body": "string", "status": "string"},
		"assignments": {"points": "int", "title": "string", "status": "string", "assignee": "string"},
		"events":      {"at": "date", "payload": "object", "kind": "string"},
	}
}

func replayConfig() string {
	var b strings.Builder
	b.WriteString("unlisted_collections: reject\ncollections:\n")
	fields := replayFields()
	for _, table := range sortedKeys(fields) {
		fmt.Fprintf(&b, "  %s:\n    fields:\n", table)
		for _, f := range sortedKeys(fields[table]) {
			fmt.Fprintf(&b, "      %s: %s\n", f, fields[table][f])
		}
	}
	return b.String()
}

// TestReplaySDKUploads posts the uploads the PowerSync SDK recorded, in
// both request shapes, and compares MongoDB with the rows the client holds
// afterwards, field by field and type by type.
//
// The SDK rounds int64 max to 2^63 (9223372036854776000), which no long can
// hold: the transaction carrying it is refused whole with TYPE_MISMATCH
// and stored in the dead-letter collection, and its rows are expected absent.
func TestReplaySDKUploads(t *testing.T) {
	for _, shape := range []string{"sdk-tojson", "connector"} {
		t.Run(shape+" per transaction", func(t *testing.T) {
			s := newServer(t, "", replayConfig())
			files, err := filepath.Glob(filepath.Join("testdata", "sdk", shape+"-tx*.json"))
			if err != nil || len(files) != 37 {
				t.Fatalf("found %d %s transaction files (%v), want 37", len(files), shape, err)
			}
			sort.Strings(files)
			for _, f := range files {
				postFile(t, s, f)
			}
			checkReplay(t, 1)
		})
	}

	t.Run("sdk-tojson batch of 100", func(t *testing.T) {
		s := newServer(t, "", replayConfig())
		postFile(t, s, filepath.Join("testdata", "sdk", "sdk-tojson-batch100.json"))
		checkReplay(t, 1)
	})

	t.Run("connector batch of 100", func(t *testing.T) {
		// Without tx_id the whole batch is one unit, so the rounded
		// integer refuses all of it: nothing is written, one dead letter
		// holds the 55 ops.
		s := newServer(t, "", replayConfig())
		res := postFile(t, s, filepath.Join("testdata", "sdk", "connector-batch100.json"))
		if res.Applied != 0 || len(res.Rejected) != 55 {
			t.Errorf("applied %d, rejected %d; want 0 and 55", res.Applied, len(res.Rejected))
		}
		dl := deadLetters(t)
		if len(dl) != 1 || len(dl[0]["ops"].(bson.A)) != 55 || dl[0]["code"] != "TYPE_MISMATCH" {
			t.Errorf("dead letters = %d, want one with the 55 ops", len(dl))
		}
	})
}

type uploadResult struct {
	Applied  int `json:"applied"`
	Rejected []struct {
		Index   int    `json:"index"`
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"rejected"`
}

func postFile(t *testing.T, s *testServer, file string) uploadResult {
	t.Helper()
	body, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	status, _, resp := s.do(t, "POST", "/upload", string(body), nil)
	if status != 200 {
		t.Fatalf("%s: status %d: %s", file, status, resp)
	}
	var res uploadResult
	if err := json.Unmarshal([]byte(resp), &res); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return res
}

func deadLetters(t *testing.T) []bson.M {
	t.Helper()
	db := devstoretest.Client().Database(devstoretest.DatabaseName(t))
	return allDocuments(t, db.Collection("powersync_rejected_writes"))
}

// checkReplay compares the database with expected-final-state.json. The
// rows written by refused units, read from the dead letters, must be absent.
func checkReplay(t *testing.T, wantDeadLetters int) {
	t.Helper()
	refused := refusedRows(t, wantDeadLetters)
	expected := readExpected(t)
	db := devstoretest.Client().Database(devstoretest.DatabaseName(t))
	fields := replayFields()

	for _, table := range sortedKeys(expected) {
		coll := db.Collection(table)
		if table == "drafts" {
			assertEmpty(t, coll) // local-only: never uploaded
			continue
		}
		kept := 0
		for _, row := range expected[table] {
			id := row["id"].(string)
			if refused[table+"/"+id] {
				if doc := findDoc(t, coll, id); doc != nil {
					t.Errorf("%s %s: written, but its unit was refused", table, id)
				}
				continue
			}
			kept++
			checkRow(t, table, row, findDoc(t, coll, id), fields[table])
		}
		if n, _ := coll.CountDocuments(t.Context(), bson.D{}); int(n) != kept {
			t.Errorf("%s holds %d documents, want %d", table, n, kept)
		}
	}
}

// refusedRows reads the dead letters: each must be the unit with the
// integer JavaScript rounded to 2^63, refused for field priority.
func refusedRows(t *testing.T, want int) map[string]bool {
	t.Helper()
	dl := deadLetters(t)
	if len(dl) != want {
		t.Fatalf("dead letters = %d, want %d", len(dl), want)
	}
	refused := make(map[string]bool)
	for _, d := range dl {
		if d["code"] != "TYPE_MISMATCH" || !strings.Contains(d["message"].(string), `"priority"`) {
			t.Errorf("dead letter %v %v, want TYPE_MISMATCH on priority", d["code"], d["message"])
		}
		for _, raw := range d["ops"].(bson.A) {
			var op struct{ Table, Type, ID string }
			if err := json.Unmarshal([]byte(raw.(string)), &op); err != nil {
				t.Fatalf("dead letter op %q: %v", raw, err)
			}
			refused[op.Table+op.Type+"/"+op.ID] = true
		}
	}
	return refused
}

func readExpected(t *testing.T) map[string][]map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "sdk", "expected-final-state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var state struct {
		Tables map[string]struct {
			Rows []map[string]any `json:"rows"`
		} `json:"tables"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&state); err != nil {
		t.Fatal(err)
	}
	out := make(map[string][]map[string]any)
	for name, table := range state.Tables {
		out[name] = table.Rows
	}
	return out
}

func findDoc(t *testing.T, coll *mongo.Collection, id string) bson.M {
	t.Helper()
	var doc bson.M
	err := coll.FindOne(t.Context(), bson.D{{Key: "_id", Value: id}}).Decode(&doc)
	if err == mongo.ErrNoDocuments {
		return nil
	}
	if err != nil {
		t.Fatalf("%s %s: %v", coll.Name(), id, err)
	}
	return doc
}

func assertEmpty(t *testing.T, coll *mongo.Collection) {
	t.Helper()
	if n, _ := coll.CountDocuments(t.Context(), bson.D{}); n != 0 {
		t.Errorf("%s holds %d documents, want none", coll.Name(), n)
	}
}

// checkRow compares one stored document with the client's row.
func checkRow(t *testing.T, table string, row map[string]any, doc bson.M, types map[string]string) {
	t.Helper()
	id := row["id"]
	if doc == nil {
		t.Errorf("%s %s: missing", table, id)
		return
	}
	for col, want := range row {
		if col == "id" {
			continue
		}
		got, ok := doc[col]
		if want == nil {
			if ok && got != nil {
				t.Errorf("%s %s %s: %v (%T), want null or absent", table, id, col, got, got)
			}
			continue
		}
		if !ok {
			t.Errorf("%s %s %s: absent, want %v", table, id, col, want)
			continue
		}
		if err := sameValue(types[col], want, got); err != nil {
			t.Errorf("%s %s %s: %v", table, id, col, err)
		}
	}
	for col := range doc {
		if _, ok := row[col]; !ok && col != "_id" {
			t.Errorf("%s %s: field %q is not in the client's row", table, id, col)
		}
	}
}

// sameValue reports how got, as stored, differs from want, as the client
// holds it, for a field of the given type.
func sameValue(typ string, want, got any) error {
	mismatch := func() error { return fmt.Errorf("stored %v (%T), client has %v as %s", got, got, want, typ) }
	switch typ {
	case "bool":
		b, ok := got.(bool)
		if !ok || (want.(json.Number).String() == "1") != b {
			return mismatch()
		}
	case "date":
		d, ok := got.(primitive.DateTime)
		wt, err := clientTime(want.(string))
		if !ok || err != nil || !d.Time().Equal(wt) {
			return mismatch()
		}
	case "int", "long":
		n := new(big.Int)
		n.SetString(want.(json.Number).String(), 10)
		if fmt.Sprint(got) != n.String() || (typ == "int") != isInt32(got) {
			return mismatch()
		}
	case "double":
		f, _ := want.(json.Number).Float64()
		if g, ok := got.(float64); !ok || g != f {
			return mismatch()
		}
	case "decimal":
		if d, ok := got.(primitive.Decimal128); !ok || d.String() != want {
			return mismatch()
		}
	case "object", "array":
		return sameJSON(want.(string), got)
	default:
		if got != want {
			return mismatch()
		}
	}
	return nil
}

func isInt32(v any) bool { _, ok := v.(int32); return ok }

// clientTime reads a date as the client wrote it: SQLite's form in UTC, or
// RFC 3339.
func clientTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Parse("2006-01-02 15:04:05", s)
}

// sameJSON compares a stored object or array with the JSON text the client
// holds, through canonical JSON.
func sameJSON(want string, got any) error {
	kind := "array"
	if _, ok := got.(bson.M); ok {
		kind = "object"
	}
	if _, ok := got.(bson.A); !ok && kind == "array" {
		return fmt.Errorf("stored %T, want an array", got)
	}
	b, err := bson.MarshalExtJSON(bson.M{"v": got}, false, false)
	if err != nil {
		return err
	}
	var stored, client any
	if err := json.Unmarshal(b, &stored); err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(`{"v":`+want+`}`), &client); err != nil {
		return err
	}
	if diff := cmp.Diff(client, stored); diff != "" {
		return fmt.Errorf("stored %s differs from the client's (-client +stored):\n%s", kind, diff)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
