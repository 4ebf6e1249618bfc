package mongoapply

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/bsontype"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// This file reads field types from MongoDB, for "schema: validators" and for
// "psmongo scaffold collection NAME --from-mongo". Types are the names that
// config.yaml uses: bool, date, int, long, double, decimal, object, array,
// objectid and string.

var (
	// ErrNoJSONSchema is returned by FieldsFromValidator for a validator
	// without a $jsonSchema.
	ErrNoJSONSchema = errors.New("validator has no $jsonSchema")

	// ErrUnmappedType is returned, wrapped, by FieldsFromValidator when a
	// property's type has no field type.
	ErrUnmappedType = errors.New("no field type fits")
)

// schemaBSONTypes maps the type names of $jsonSchema, both its bsonType
// aliases and its JSON types, to field types.
var schemaBSONTypes = map[string]string{
	"bool":     "bool",
	"boolean":  "bool",
	"date":     "date",
	"int":      "int",
	"long":     "long",
	"double":   "double",
	"number":   "double",
	"decimal":  "decimal",
	"object":   "object",
	"array":    "array",
	"objectId": "objectid",
	"string":   "string",
}

// schemaNumbers lists the numeric field types from narrowest to widest: a
// field holding several of them takes the widest, which holds them all.
var schemaNumbers = []string{"int", "long", "double", "decimal"}

// FieldsFromValidator returns the field types that a collection validator's
// $jsonSchema gives its top-level properties, read from bsonType or else
// type. A property may allow "null" besides its type; one allowing several
// numeric types gets the widest. A property without a type is left out, as is
// _id. The $jsonSchema may also be one of the validator's $and clauses.
//
// It returns ErrNoJSONSchema if the validator has no $jsonSchema. If a
// property's type has no field type ("binData", "timestamp", or two types
// such as "string" and "int"), it returns the fields it could type and an
// error wrapping ErrUnmappedType that names the others.
func FieldsFromValidator(validator bson.Raw) (map[string]string, error) {
	schema, ok := schemaOf(validator)
	if !ok {
		return nil, ErrNoJSONSchema
	}
	props, ok := schema.Lookup("properties").DocumentOK()
	if !ok {
		return map[string]string{}, nil
	}
	elems, err := props.Elements()
	if err != nil {
		return nil, fmt.Errorf("reading $jsonSchema properties: %w", err)
	}

	fields := make(map[string]string)
	var unmapped []string
	for _, e := range elems {
		if e.Key() == "_id" {
			continue
		}
		t, err := schemaPropertyType(e.Value())
		switch {
		case err != nil:
			unmapped = append(unmapped, fmt.Sprintf("%q: %v", e.Key(), err))
		case t != "":
			fields[e.Key()] = t
		}
	}
	if len(unmapped) > 0 {
		return fields, fmt.Errorf("%s: %w", strings.Join(unmapped, "; "), ErrUnmappedType)
	}
	return fields, nil
}

// schemaOf returns the $jsonSchema of validator, at its top level or in one
// of its $and clauses.
func schemaOf(validator bson.Raw) (bson.Raw, bool) {
	if s, ok := validator.Lookup("$jsonSchema").DocumentOK(); ok {
		return s, true
	}

	clauses, ok := validator.Lookup("$and").ArrayOK()
	if !ok {
		return nil, false
	}
	values, _ := clauses.Values()
	for _, v := range values {
		clause, ok := v.DocumentOK()
		if !ok {
			continue
		}
		if s, ok := clause.Lookup("$jsonSchema").DocumentOK(); ok {
			return s, true
		}
	}
	return nil, false
}

// schemaPropertyType returns the field type of one $jsonSchema property, or
// "" if it names no type.
func schemaPropertyType(prop bson.RawValue) (string, error) {
	doc, ok := prop.DocumentOK()
	if !ok {
		return "", errors.New("property is not a document")
	}
	v := doc.Lookup("bsonType")
	if v.Type == 0 {
		v = doc.Lookup("type")
	}

	var names []string
	switch v.Type {
	case 0:
		return "", nil
	case bsontype.String:
		names = []string{v.StringValue()}
	case bsontype.Array:
		values, _ := v.Array().Values()
		for _, n := range values {
			s, ok := n.StringValueOK()
			if !ok {
				return "", errors.New("type list holds a non-string")
			}
			names = append(names, s)
		}
	default:
		return "", errors.New("type is neither a string nor a list")
	}
	return schemaFieldType(names)
}

// schemaFieldType returns the field type that holds values of all the
// $jsonSchema types names, leaving out "null".
func schemaFieldType(names []string) (string, error) {
	var types []string
	for _, n := range names {
		if n == "null" {
			continue
		}
		t, ok := schemaBSONTypes[n]
		if !ok {
			return "", fmt.Errorf("type %q", n)
		}
		if !slices.Contains(types, t) {
			types = append(types, t)
		}
	}

	switch {
	case len(types) == 0 && len(names) > 0:
		return "", errors.New("only null")
	case len(types) == 0:
		return "", nil
	case len(types) == 1:
		return types[0], nil
	case schemaAllNumbers(types):
		return schemaWidestNumber(types), nil
	}
	return "", fmt.Errorf("several types: %s", strings.Join(types, ", "))
}

// FieldConflict describes a field that sampled documents hold with more than
// one type, or with a type that has no field type.
type FieldConflict struct {
	Field  string
	Seen   []TypeCount // most common first
	Chosen string      // the field's type; empty if none fits, and the field is left out
}

// TypeCount says how many sampled documents hold a field with a type: a
// field type, or the BSON type's name ("binary", "timestamp") when no field
// type fits.
type TypeCount struct {
	Type  string
	Count int
}

// InferFields samples up to sample documents of coll and returns the type of
// each top-level field but _id, and the fields seen with several types,
// sorted by name. Nested documents are objects and arrays are arrays; nulls
// are not counted. A field seen with several types takes the most common;
// one seen only with numbers takes the widest numeric type, so that every
// value seen fits.
//
// It samples with $sample and, where the server does not support it, takes
// the first documents instead.
func InferFields(ctx context.Context, coll *mongo.Collection, sample int) (
	map[string]string, []FieldConflict, error,
) {
	if sample < 1 {
		return nil, nil, fmt.Errorf("sample size %d is not positive", sample)
	}

	cur, err := schemaSample(ctx, coll, sample)
	if err != nil {
		return nil, nil, fmt.Errorf("sampling %s: %w", coll.Name(), err)
	}
	defer cur.Close(ctx)

	tally := make(schemaTally)
	for cur.Next(ctx) {
		tally.add(cur.Current)
	}
	if err := cur.Err(); err != nil {
		return nil, nil, fmt.Errorf("sampling %s: %w", coll.Name(), err)
	}

	fields, conflicts := tally.fields()
	return fields, conflicts, nil
}

// schemaSample opens a cursor on up to n documents of coll, chosen at random
// where the server supports $sample.
func schemaSample(ctx context.Context, coll *mongo.Collection, n int) (*mongo.Cursor, error) {
	pipeline := mongo.Pipeline{{{Key: "$sample", Value: bson.D{{Key: "size", Value: n}}}}}
	cur, err := coll.Aggregate(ctx, pipeline)
	var serverErr mongo.ServerError
	if err == nil || !errors.As(err, &serverErr) {
		return cur, err
	}

	// The embedded store (FerretDB 1.x) has no $sample.
	return coll.Find(ctx, bson.D{}, options.Find().SetLimit(int64(n)))
}

// schemaTally counts, for each field, the documents that hold it with each
// type.
type schemaTally map[string]map[string]int

func (t schemaTally) add(doc bson.Raw) {
	elems, err := doc.Elements()
	if err != nil {
		return
	}
	for _, e := range elems {
		typ, ok := schemaValueType(e.Value().Type)
		if e.Key() == "_id" || !ok {
			continue
		}
		if t[e.Key()] == nil {
			t[e.Key()] = make(map[string]int)
		}
		t[e.Key()][typ]++
	}
}

// fields chooses each field's type and lists the conflicts.
func (t schemaTally) fields() (map[string]string, []FieldConflict) {
	fields := make(map[string]string)
	var conflicts []FieldConflict
	for field, counts := range t {
		c := schemaChoose(field, counts)
		if c.Chosen != "" {
			fields[field] = c.Chosen
		}
		if len(c.Seen) > 1 || c.Chosen == "" {
			conflicts = append(conflicts, c)
		}
	}

	slices.SortFunc(conflicts, func(a, b FieldConflict) int { return cmp.Compare(a.Field, b.Field) })
	return fields, conflicts
}

// schemaChoose picks the type of a field from the counts of the types it was
// seen with.
func schemaChoose(field string, counts map[string]int) FieldConflict {
	c := FieldConflict{Field: field}
	var mapped []string
	for typ, n := range counts {
		c.Seen = append(c.Seen, TypeCount{Type: typ, Count: n})
		if slices.Contains(schemaFieldTypes, typ) {
			mapped = append(mapped, typ)
		}
	}
	slices.SortFunc(c.Seen, func(a, b TypeCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Type, b.Type))
	})

	switch {
	case len(mapped) == 0:
	case schemaAllNumbers(mapped):
		c.Chosen = schemaWidestNumber(mapped)
	default:
		for _, s := range c.Seen {
			if slices.Contains(mapped, s.Type) {
				c.Chosen = s.Type
				break
			}
		}
	}
	return c
}

// schemaFieldTypes lists the field types.
var schemaFieldTypes = []string{
	"bool", "date", "int", "long", "double", "decimal", "object", "array", "objectid", "string",
}

// schemaValueType returns the field type of a BSON type, or the BSON type's
// name if no field type fits. It reports false for null and undefined, which
// say nothing of a field's type.
func schemaValueType(t bsontype.Type) (string, bool) {
	switch t {
	case bsontype.Null, bsontype.Undefined:
		return "", false
	case bsontype.Boolean:
		return "bool", true
	case bsontype.DateTime:
		return "date", true
	case bsontype.Int32:
		return "int", true
	case bsontype.Int64:
		return "long", true
	case bsontype.Double:
		return "double", true
	case bsontype.Decimal128:
		return "decimal", true
	case bsontype.EmbeddedDocument:
		return "object", true
	case bsontype.Array:
		return "array", true
	case bsontype.ObjectID:
		return "objectid", true
	case bsontype.String:
		return "string", true
	}
	return t.String(), true
}

func schemaAllNumbers(types []string) bool {
	for _, t := range types {
		if !slices.Contains(schemaNumbers, t) {
			return false
		}
	}
	return true
}

func schemaWidestNumber(types []string) string {
	return slices.MaxFunc(types, func(a, b string) int {
		return cmp.Compare(slices.Index(schemaNumbers, a), slices.Index(schemaNumbers, b))
	})
}

// CollectionValidator returns the validator of the collection name in db, and
// reports whether it has one; a collection that does not exist has none.
func CollectionValidator(
	ctx context.Context, db *mongo.Database, name string,
) (bson.Raw, bool, error) {
	cur, err := db.ListCollections(ctx, bson.D{{Key: "name", Value: name}})
	if err != nil {
		return nil, false, fmt.Errorf("listing collections: %w", err)
	}
	defer cur.Close(ctx)

	if !cur.Next(ctx) {
		if err := cur.Err(); err != nil {
			return nil, false, fmt.Errorf("listing collections: %w", err)
		}
		return nil, false, nil
	}

	v, ok := cur.Current.Lookup("options", "validator").DocumentOK()
	if !ok {
		return nil, false, nil
	}
	if elems, err := v.Elements(); err != nil || len(elems) == 0 {
		return nil, false, nil
	}
	return slices.Clone(v), true, nil
}
