package mongoapply

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/bson"
)

// directRules are collection rules that the differential tests plan each
// op under: every field type on the recorded uploads' columns, each id
// type, an owner, and PUTs that merge.
var directRules = map[string]Collection{
	"plain": {},
	"typed": {OwnerField: "created_by", Fields: map[string]FieldType{
		"completed": FieldBool, "created_at": FieldDate, "completed_at": FieldDate, "due": FieldDate,
		"tags": FieldArray, "meta": FieldObject, "payload": FieldObject, "priority": FieldInt,
		"version": FieldLong, "points": FieldDouble, "price": FieldDouble, "status": FieldString,
		"title": FieldString, "assignee": FieldObjectID, "at": FieldDate, "kind": FieldBool,
		"n": FieldInt, "x": FieldLong, "s": FieldString, "d": FieldDouble, "b": FieldBool,
		"a": FieldArray, "o": FieldObject, "t": FieldDate, "oid": FieldObjectID, "dec": FieldDecimal,
	}},
	"merge objectid": {IDType: IDObjectID, Put: PutMerge, OwnerField: "owner_id",
		Fields: map[string]FieldType{"completed": FieldBool, "tags": FieldArray}},
	"merge uuid": {IDType: IDUUID, Put: PutMerge},
	"uuid owner": {IDType: IDUUID, OwnerField: "created_by", Fields: map[string]FieldType{"list_id": FieldString}},
}

// directSeeds are ops that probe where the direct route and plan's long
// route could part: each field type from each JSON kind, text with
// escapes, keys out of order or given twice, the owner, nesting, ids.
var directSeeds = []string{
	`{"op":"PUT","table":"t","id":"a","data":{"z":1,"a":"x","m":{"b":[1,2.5,-0.0,"s",null,true],"a":{}},"e":[]}}`,
	`{"op":"PUT","table":"t","id":"a","data":{"b":"TRUE","completed":"1.0","kind":" false ","x":"7.0","n":1e3,"priority":true}}`,
	`{"op":"PUT","table":"t","id":"a","data":{"t":"2026-03-14 09:26:53.123456","at":"2026-03-14T09:26:53.5+02:00","due":1717171717500,"created_at":"1717171717500"}}`,
	`{"op":"PUT","table":"t","id":"a","data":{"t":"2026-02-30 00:00:00","at":"2026-03-14","due":"soon","completed_at":"2026-03-14T09:26"}}`,
	`{"op":"PUT","table":"t","id":"a","data":{"tags":"[\"a\\\"b\",\"\\u00e9\\ud83d\\ude00\"]","meta":"{\"z\":1,\"a\":{\"k\":[1]}}","o":{"b":1,"a":2},"a":[3]}}`,
	`{"op":"PUT","table":"t","id":"a","data":{"tags":"[1] x","meta":"[1]","a":" [ 1 , 2 ] ","payload":"{\"$x\":1}","o":"{\"a.b\":1}"}}`,
	`{"op":"PUT","table":"t","id":"a","data":{"tags":"[1] ]","meta":"{\"k\":1}} x","a":"[1]]]"}}`,
	`{"op":"PUT","table":"t","id":"a","data":{"tags":"[\"\\ud800\"]","s":"a\u0000b\n\"é\ud83d\ude00","d":"1e400","points":" 2.5 ","price":"3.49"}}`,
	`{"op":"PUT","table":"t","id":"a","data":{"status":12.50,"title":false,"s":"x","assignee":"65a1f0c2e4b0a1b2c3d4e5f7","oid":"65A1F0C2E4B0A1B2C3D4E5F7"}}`,
	`{"op":"PUT","table":"t","id":"a","data":{"n":2147483648,"x":9223372036854775808,"big":123456789012345678901234567890,"f":1.5e308,"dec":"19.99"}}`,
	`{"op":"PUT","table":"t","id":"a","data":{"a":1,"a":2}}`,
	`{"op":"PUT","table":"t","id":"a","data":{"id":"a","_id":"b","created_by":"someone","owner_id":"x"}}`,
	`{"op":"PUT","table":"t","id":"a","data":{"created_by":{"a":1},"owner_id":[1]}}`,
	`{"op":"PATCH","table":"t","id":"a","data":{"created_by":"user","owner_id":"user"}}`,
	`{"op":"PATCH","table":"t","id":"a","data":{"completed":0,"id":"a"}}`,
	`{"op":"PATCH","table":"t","id":"a","data":{}}`,
	`{"op":"PUT","table":"t","id":"a","data":{}}`,
	`{"op":"PUT","table":"t","id":"a"}`,
	`{"op":"DELETE","table":"t","id":"a","data":{"x":1}}`,
	`{"op":"PUT","table":"t","id":"65a1f0c2e4b0a1b2c3d4e5f7","data":{"x":1}}`,
	`{"op":"PUT","table":"t","id":"11111111-1111-4111-8111-111111111111","data":{"completed":1}}`,
	`{"op":"PUT","table":"t","id":"11111111111141118111111111111111","data":{"completed":1}}`,
	`{"op":"PUT","table":"t","id":"1111111-11111-4111-8111-111111111111","data":{"completed":1}}`,
	`{"op":"PUT","table":"t","id":"a","data":{"$set":1,"a.b":2,"":3,"k\u0000":4,"\u0061":5}}`,
	// nesting at the depth limit and one past it, as JSON and as JSON text
	`{"op":"PUT","table":"t","id":"a","data":{"d":` + nestedArray(DefaultMaxDepth-1) + `,"a":"` + nestedArray(DefaultMaxDepth-1) + `"}}`,
	`{"op":"PUT","table":"t","id":"a","data":{"d":` + nestedArray(DefaultMaxDepth) + `}}`,
	`{"op":"PUT","table":"t","id":"a","data":{"a":"` + nestedArray(DefaultMaxDepth) + `"}}`,
}

// nestedArray returns a JSON array of n levels.
func nestedArray(n int) string {
	return strings.Repeat("[", n) + "1" + strings.Repeat("]", n)
}

// TestPlanDirectMatchesPlanLong plans recorded uploads and the seeds under
// each of directRules both ways: wherever the direct route takes an op, it
// must write exactly what plan's long route writes.
func TestPlanDirectMatchesPlanLong(t *testing.T) {
	bodies := recordedUploads(t)
	bodies["todos"] = todoBatch("sdk", 20, 0)
	bodies["seeds"] = []byte(`{"batch":[` + strings.Join(directSeeds, ",") + `]}`)

	taken := 0
	for name, body := range bodies {
		ops, err := ParseBatch(body)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i := range ops {
			taken += checkPlanDirect(t, name, &ops[i])
		}
	}
	if taken == 0 {
		t.Fatal("the direct route took no op")
	}
}

// TestPlanDirectManyKeys plans data of many keys, sent in reverse order,
// at the top and nested, with and without a key given twice far apart:
// the direct route must sort them as the long route does and leave the
// duplicates to it. Such data fits in an op under the size plan measures,
// and sorting it by insertion took minutes of CPU time for one request.
func TestPlanDirectManyKeys(t *testing.T) {
	const n = 50000
	keys := func(dup bool) string {
		var b strings.Builder
		b.WriteByte('{')
		for i := n; i > 0; i-- {
			fmt.Fprintf(&b, `"k%06d":%d,`, i, i)
		}
		if dup {
			fmt.Fprintf(&b, `"k%06d":0,`, n)
		}
		b.WriteString(`"z":0}`)
		return b.String()
	}
	a := directApplier(t, false)
	for _, tc := range []struct {
		name string
		data string
		want bool // the direct route takes it
	}{
		{"top", keys(false), true},
		{"nested", `{"o":` + keys(false) + `}`, true},
		{"top twice", keys(true), false},
		{"nested twice", `{"o":` + keys(true) + `}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(`{"batch":[{"op":"PUT","table":"t","id":"a","data":` + tc.data + `}]}`)
			ops, err := ParseBatch(body)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := a.planDirect("user", &ops[0], Collection{}, new([]byte)); ok != tc.want {
				t.Fatalf("direct route took the op: %v, want %v", ok, tc.want)
			}
			checkPlanDirect(t, tc.name, &ops[0])
		})
	}
}

// TestPlanDirectTakesRealUploads checks that what clients send, under the
// types a user would give the columns, takes the direct route.
func TestPlanDirectTakesRealUploads(t *testing.T) {
	rules := Collection{OwnerField: "created_by", Fields: map[string]FieldType{
		"completed": FieldBool, "created_at": FieldDate, "completed_at": FieldDate, "at": FieldDate,
		"tags": FieldArray, "meta": FieldObject, "payload": FieldObject,
	}}
	// The ops that go the long way, and why.
	long := map[string]bool{
		"connector-tx16-unicode-text.json 0":                   true, // a key with escapes in its JSON text
		"sdk-tojson-tx16-unicode-text.json 0":                  true,
		"connector-tx18-numbers-bigint-negative-float.json 1":  true, // an integer beyond int64, a decimal
		"sdk-tojson-tx18-numbers-bigint-negative-float.json 1": true,
	}
	a := directApplier(t, false)
	for name, body := range recordedUploads(t) {
		ops, err := ParseBatch(body)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i := range ops {
			var arena []byte
			_, ok := a.planDirect("user-0001", &ops[i], rules, &arena)
			if want := !long[fmt.Sprint(name, " ", i)]; ok != want {
				t.Errorf("%s: op %d (%s): direct route %v, want %v: %s", name, i, ops[i].Kind, ok, want, ops[i].Data)
			}
		}
	}
}

// FuzzPlanDirect holds the direct route to plan's long route on any body
// ParseBatch accepts.
func FuzzPlanDirect(f *testing.F) {
	for _, body := range recordedUploads(f) {
		f.Add(body)
	}
	for _, seed := range directSeeds {
		f.Add([]byte(`{"batch":[` + seed + `]}`))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ops, err := ParseBatch(body)
		if err != nil {
			return
		}
		for i := range ops {
			checkPlanDirect(t, "fuzz", &ops[i])
		}
	})
}

// checkPlanDirect plans op both ways under each of directRules, on
// MongoDB and on FerretDB, and returns how often the direct route took it.
func checkPlanDirect(t testing.TB, name string, op *Op) int {
	t.Helper()
	taken := 0
	// Ops planned before, whose statements come first in the arena,
	// must keep them.
	arena := append(make([]byte, 0, 4096), "earlier statements"...)
	earlier := arena[:len(arena):len(arena)]
	for _, ferret := range []bool{false, true} {
		a := directApplier(t, ferret)
		if a.cfg.Limits.checkOp(op) != nil {
			return taken // refused before either route
		}
		for rname, rules := range directRules {
			direct, ok := a.planDirect("user", op, rules, &arena)
			if !ok {
				continue
			}
			taken++
			long, r := a.planLong(context.Background(), "user", op, rules)
			switch {
			case r != nil:
				t.Fatalf("%s, %s, FerretDB %v: the direct route takes %s, the long one refuses it: %s %s",
					name, rname, ferret, op.Raw, r.code, r.message)
			case !bytes.Equal(direct.stmt, long.stmt):
				t.Fatalf("%s, %s, FerretDB %v: %s planned\n direct %v\n long   %v",
					name, rname, ferret, op.Raw, bson.Raw(direct.stmt), bson.Raw(long.stmt))
			case direct.id.Type != long.id.Type || !bytes.Equal(direct.id.Value, long.id.Value):
				t.Fatalf("%s, %s: %s: ids %v and %v", name, rname, op.Raw, direct.id, long.id)
			case string(earlier) != "earlier statements":
				t.Fatalf("%s, %s: %s: planning wrote over the arena's earlier statements", name, rname, op.Raw)
			}
		}
	}
	return taken
}

func directApplier(t testing.TB, ferret bool) *Applier {
	cfg := Config{Limits: Limits{}.withDefaults()}
	return &Applier{db: nil, cfg: cfg, ferretDB: ferret, log: discardLogger()}
}

// recordedUploads returns the bodies the real SDK sent, by file name.
func recordedUploads(t testing.TB) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("..", "handlers", "testdata", "sdk", "*-tx*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no recorded uploads: %v", err)
	}
	bodies := map[string][]byte{}
	for _, path := range paths {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		bodies[filepath.Base(path)] = b
	}
	return bodies
}

// TestDirectNameMatchesCheckKey holds the direct route's one-pass check of
// a field name to checkKey and the name limit.
func TestDirectNameMatchesCheckKey(t *testing.T) {
	e := directEncoder{limits: Limits{MaxFieldBytes: 8}}
	for _, k := range []string{
		"", "a", "$a", "a$", "a.b", ".", "a\x00", "é", "$é", "é.", "\xff", "a\xffb", "12345678", "123456789",
		"ééé", "éééé", "\u00a0", "a b", "_id",
	} {
		want := checkKey(k) == nil && len(k) <= 8
		if got := e.name(k); got != want {
			t.Errorf("name(%q) = %v, want %v", k, got, want)
		}
	}
}
