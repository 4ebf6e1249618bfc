package mongoapply

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/psmongo/psmongo/devstore/devstoretest"
)

func TestFieldsFromValidator(t *testing.T) {
	props := func(p bson.D) bson.D {
		return bson.D{{Key: "$jsonSchema", Value: bson.D{
			{Key: "bsonType", Value: "object"},
			{Key: "properties", Value: p},
		}}}
	}
	typed := func(name string, t any) bson.E {
		return bson.E{Key: name, Value: bson.D{{Key: "bsonType", Value: t}}}
	}

	tests := []struct {
		name      string
		validator bson.D
		want      map[string]string
		wantErr   error
		wantMsg   string
	}{
		{
			name: "every type",
			validator: props(bson.D{
				typed("_id", "objectId"),
				typed("done", "bool"),
				typed("due", "date"),
				typed("n", "int"),
				typed("big", "long"),
				typed("score", "double"),
				typed("price", "decimal"),
				typed("meta", "object"),
				typed("tags", "array"),
				typed("list_id", "objectId"),
				typed("title", "string"),
				typed("amount", "number"),
			}),
			want: map[string]string{
				"done": "bool", "due": "date", "n": "int", "big": "long", "score": "double",
				"price": "decimal", "meta": "object", "tags": "array", "list_id": "objectid",
				"title": "string", "amount": "double",
			},
		},
		{
			name: "nullable and numbers",
			validator: props(bson.D{
				typed("note", bson.A{"string", "null"}),
				typed("count", bson.A{"int", "long"}),
				typed("ratio", bson.A{"null", "int", "double"}),
			}),
			want: map[string]string{"note": "string", "count": "long", "ratio": "double"},
		},
		{
			name: "JSON types",
			validator: props(bson.D{
				{Key: "flag", Value: bson.D{{Key: "type", Value: "boolean"}}},
				{Key: "x", Value: bson.D{{Key: "type", Value: bson.A{"number", "null"}}}},
			}),
			want: map[string]string{"flag": "bool", "x": "double"},
		},
		{
			name: "untyped property",
			validator: props(bson.D{
				{Key: "status", Value: bson.D{{Key: "enum", Value: bson.A{"open", "done"}}}},
				typed("title", "string"),
			}),
			want: map[string]string{"title": "string"},
		},
		{
			name: "in $and",
			validator: bson.D{{Key: "$and", Value: bson.A{
				bson.D{{Key: "status", Value: bson.D{{Key: "$exists", Value: true}}}},
				props(bson.D{typed("title", "string")}),
			}}},
			want: map[string]string{"title": "string"},
		},
		{
			name:      "no properties",
			validator: bson.D{{Key: "$jsonSchema", Value: bson.D{{Key: "required", Value: bson.A{"a"}}}}},
			want:      map[string]string{},
		},
		{
			name: "unmapped types",
			validator: props(bson.D{
				typed("blob", "binData"),
				typed("mixed", bson.A{"string", "int"}),
				typed("nothing", "null"),
				typed("title", "string"),
			}),
			want:    map[string]string{"title": "string"},
			wantErr: ErrUnmappedType,
			wantMsg: `"blob": type "binData"; "mixed": several types: string, int; "nothing": only null`,
		},
		{
			name:      "query validator",
			validator: bson.D{{Key: "status", Value: bson.D{{Key: "$in", Value: bson.A{"a"}}}}},
			wantErr:   ErrNoJSONSchema,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := bson.Marshal(tt.validator)
			if err != nil {
				t.Fatal(err)
			}

			got, err := FieldsFromValidator(raw)
			if !errors.Is(err, tt.wantErr) || err != nil && !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("FieldsFromValidator(%v): got error %v, want %v %s",
					tt.validator, err, tt.wantErr, tt.wantMsg)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("FieldsFromValidator(%v): fields (-want +got):\n%s", tt.validator, diff)
			}
		})
	}
}

func TestSchemaTally(t *testing.T) {
	tests := []struct {
		name          string
		docs          []bson.D
		wantFields    map[string]string
		wantConflicts []FieldConflict
	}{
		{
			name: "one type each",
			docs: []bson.D{
				{{Key: "_id", Value: "a"}, {Key: "title", Value: "x"}, {Key: "meta", Value: bson.D{}}},
				{{Key: "_id", Value: "b"}, {Key: "title", Value: nil}, {Key: "tags", Value: bson.A{}}},
			},
			wantFields: map[string]string{"title": "string", "meta": "object", "tags": "array"},
		},
		{
			name: "most common wins",
			docs: []bson.D{
				{{Key: "v", Value: "x"}}, {{Key: "v", Value: "y"}}, {{Key: "v", Value: true}},
			},
			wantFields: map[string]string{"v": "string"},
			wantConflicts: []FieldConflict{{Field: "v", Chosen: "string",
				Seen: []TypeCount{{"string", 2}, {"bool", 1}}}},
		},
		{
			name: "numbers widen",
			docs: []bson.D{
				{{Key: "n", Value: int32(1)}}, {{Key: "n", Value: int32(2)}}, {{Key: "n", Value: 2.5}},
			},
			wantFields: map[string]string{"n": "double"},
			wantConflicts: []FieldConflict{{Field: "n", Chosen: "double",
				Seen: []TypeCount{{"int", 2}, {"double", 1}}}},
		},
		{
			name: "no field type",
			docs: []bson.D{
				{{Key: "blob", Value: primitive.Binary{Data: []byte{1}}}},
				{{Key: "ts", Value: primitive.Timestamp{T: 1}}, {Key: "s", Value: "x"}},
				{{Key: "s", Value: primitive.Regex{Pattern: "a"}}},
			},
			wantFields: map[string]string{"s": "string"},
			wantConflicts: []FieldConflict{
				{Field: "blob", Seen: []TypeCount{{"binary", 1}}},
				{Field: "s", Chosen: "string", Seen: []TypeCount{{"regex", 1}, {"string", 1}}},
				{Field: "ts", Seen: []TypeCount{{"timestamp", 1}}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tally := make(schemaTally)
			for _, d := range tt.docs {
				raw, err := bson.Marshal(d)
				if err != nil {
					t.Fatal(err)
				}
				tally.add(raw)
			}

			fields, conflicts := tally.fields()
			if diff := cmp.Diff(tt.wantFields, fields); diff != "" {
				t.Errorf("%v: fields (-want +got):\n%s", tt.docs, diff)
			}
			if diff := cmp.Diff(tt.wantConflicts, conflicts); diff != "" {
				t.Errorf("%v: conflicts (-want +got):\n%s", tt.docs, diff)
			}
		})
	}
}

func TestInferFields(t *testing.T) {
	db := devstoretest.Database(t)
	coll := db.Collection("todos")
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	docs := []any{
		bson.D{{Key: "_id", Value: "1"}, {Key: "title", Value: "a"}, {Key: "done", Value: true},
			{Key: "due", Value: at}, {Key: "n", Value: int32(1)}, {Key: "tags", Value: bson.A{"x"}},
			{Key: "meta", Value: bson.D{{Key: "k", Value: "v"}}},
			{Key: "list_id", Value: primitive.NewObjectID()}},
		bson.D{{Key: "_id", Value: "2"}, {Key: "title", Value: "b"}, {Key: "done", Value: nil},
			{Key: "n", Value: int64(1) << 40}, {Key: "views", Value: 1.5}},
		bson.D{{Key: "_id", Value: "3"}, {Key: "title", Value: int32(3)}},
	}
	if _, err := coll.InsertMany(t.Context(), docs); err != nil {
		t.Fatal(err)
	}

	fields, conflicts, err := InferFields(t.Context(), coll, 10)
	if err != nil {
		t.Fatal(err)
	}

	wantFields := map[string]string{
		"title": "string", "done": "bool", "due": "date", "n": "long", "tags": "array",
		"meta": "object", "list_id": "objectid", "views": "double",
	}
	wantConflicts := []FieldConflict{
		{Field: "n", Chosen: "long", Seen: []TypeCount{{"int", 1}, {"long", 1}}},
		{Field: "title", Chosen: "string", Seen: []TypeCount{{"string", 2}, {"int", 1}}},
	}
	if diff := cmp.Diff(wantFields, fields); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantConflicts, conflicts); diff != "" {
		t.Errorf("conflicts (-want +got):\n%s", diff)
	}
}

func TestInferFieldsSampleSize(t *testing.T) {
	coll := devstoretest.Database(t).Collection("many")
	var docs []any
	for i := range 20 {
		docs = append(docs, bson.D{{Key: "i", Value: int32(i)}})
	}
	if _, err := coll.InsertMany(t.Context(), docs); err != nil {
		t.Fatal(err)
	}

	if _, _, err := InferFields(t.Context(), coll, 0); err == nil {
		t.Error("sample 0: got nil, want an error")
	}
	fields, _, err := InferFields(t.Context(), coll, 5)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"i": "int"}, fields); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}

	empty, _, err := InferFields(t.Context(), devstoretest.Database(t).Collection("missing"), 5)
	if err != nil || len(empty) != 0 {
		t.Errorf("missing collection: got %v, %v, want no fields", empty, err)
	}
}

func TestCollectionValidator(t *testing.T) {
	db := devstoretest.Database(t)
	title := bson.D{{Key: "bsonType", Value: "string"}}
	validator := bson.D{{Key: "$jsonSchema", Value: bson.D{
		{Key: "properties", Value: bson.D{{Key: "title", Value: title}}},
	}}}

	if err := db.CreateCollection(t.Context(), "plain"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"plain", "missing"} {
		v, ok, err := CollectionValidator(t.Context(), db, name)
		if err != nil || ok || v != nil {
			t.Errorf("CollectionValidator(%s) = %v, %v, %v; want nil, false, nil", name, v, ok, err)
		}
	}

	opts := options.CreateCollection().SetValidator(validator)
	err := db.CreateCollection(t.Context(), "checked", opts)
	if err != nil && devstoretest.Embedded() {
		t.Skipf("the embedded store has no validators: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	v, ok, err := CollectionValidator(t.Context(), db, "checked")
	if err != nil || !ok {
		t.Fatalf("CollectionValidator(checked) = %v, %v, %v; want a validator", v, ok, err)
	}
	fields, err := FieldsFromValidator(v)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"title": "string"}, fields); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
}
