package mongoapply

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"

	"github.com/psmongo/psmongo/hooks"
)

// TestUnitStatementsKeepTheirBytes applies, in one unit and without one,
// ops whose statements share one buffer: empty PATCHes whose id points
// into it, ops the direct route starts and leaves to the long one, ops of
// hooked, merging, owned and typed-id collections, and checks that every
// document is what its ops say.
func TestUnitStatementsKeepTheirBytes(t *testing.T) {
	reg := &hooks.Registry{}
	reg.Register("hooked", func(ctx context.Context, op *hooks.Op) error { return nil })
	f := newFixture(t, Config{
		Hooks: reg,
		Collections: map[string]Collection{
			"merged": {Put: PutMerge},
			"oids":   {IDType: IDObjectID},
			"uuids":  {IDType: IDUUID},
			"owned":  {OwnerField: "owner"},
		},
	})
	deep := strings.Repeat(`{"a":`, 10) + "1" + strings.Repeat("}", 10)
	for name, tx := range map[string]string{"one unit": `,"tx_id":7`, "no unit": ""} {
		t.Run(name, func(t *testing.T) {
			if err := f.db.Drop(t.Context()); err != nil {
				t.Fatal(err)
			}
			ops := []string{
				`{"op":"PUT","table":"todos","id":"a","data":{"title":"first","n":1}}`,
				`{"op":"PATCH","table":"todos","id":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","data":{}}`,
				`{"op":"PUT","table":"todos","id":"b","data":{"z":"zz","deep":` + deep + `}}`,
				`{"op":"PUT","table":"merged","id":"m","data":{}}`,
				`{"op":"PUT","table":"hooked","id":"h","data":{"x":1}}`,
				`{"op":"PATCH","table":"todos","id":"a","data":{"done":true}}`,
				`{"op":"PUT","table":"oids","id":"5f1d7f0b8c9d440001a1b2c3","data":{"k":"o"}}`,
				`{"op":"PATCH","table":"todos","id":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","data":{}}`,
				`{"op":"PUT","table":"uuids","id":"0f8fad5b-d9cb-469f-a165-70867728950e","data":{"k":"u"}}`,
				`{"op":"PUT","table":"todos","id":"c","data":{"title":"third","deep":` + deep + `}}`,
				`{"op":"PUT","table":"owned","id":"o","data":{"v":2}}`,
				`{"op":"DELETE","table":"todos","id":"zz"}`,
				`{"op":"PUT","table":"todos","id":"d","data":{"title":"fourth"}}`,
			}
			for i := range ops {
				ops[i] = strings.TrimSuffix(ops[i], "}") + tx + "}"
			}
			res := f.apply("u1", `{"batch":[`+strings.Join(ops, ",")+`]}`)
			if res.Applied != len(ops) || len(res.Rejected) != 0 {
				t.Fatalf("result %+v", res)
			}
			var deepM any = int32(1)
			for range 10 {
				deepM = bson.M{"a": deepM}
			}
			oid, _ := primitive.ObjectIDFromHex("5f1d7f0b8c9d440001a1b2c3")
			check := []struct {
				coll string
				id   any
				want bson.M
			}{
				{"todos", "a", bson.M{"_id": "a", "title": "first", "n": int32(1), "done": true}},
				{"todos", "b", bson.M{"_id": "b", "z": "zz", "deep": deepM}},
				{"todos", "c", bson.M{"_id": "c", "title": "third", "deep": deepM}},
				{"todos", "d", bson.M{"_id": "d", "title": "fourth"}},
				{"merged", "m", bson.M{"_id": "m"}},
				{"hooked", "h", bson.M{"_id": "h", "x": int32(1)}},
				{"oids", oid, bson.M{"_id": oid, "k": "o"}},
				{"owned", "o", bson.M{"_id": "o", "v": int32(2), "owner": "u1"}},
			}
			for _, c := range check {
				got := f.doc(c.coll, c.id)
				if diff := cmp.Diff(c.want, got); diff != "" {
					t.Errorf("%s %v (-want +got):\n%s", c.coll, c.id, diff)
				}
			}
			if n := f.count("todos"); n != 4 {
				t.Errorf("todos: %d docs", n)
			}
			if n := f.count("uuids"); n != 1 {
				t.Errorf("uuids: %d docs", n)
			}
		})
	}
}
