package mongoapply

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/bsontype"
	"go.mongodb.org/mongo-driver/bson/primitive"
)

func TestRestore(t *testing.T) {
	oid, _ := primitive.ObjectIDFromHex("65a1f0c2e4b0a1b2c3d4e5f6")
	dec := func(s string) primitive.Decimal128 {
		d, err := primitive.ParseDecimal128(s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	utc := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UTC()
	}

	tests := []struct {
		name string
		typ  FieldType
		json string // the value as the client sends it
		want any
	}{
		{"bool from 1", FieldBool, `1`, true},
		{"bool from 0", FieldBool, `0`, false},
		{"bool from true", FieldBool, `true`, true},
		{"bool from text 1", FieldBool, `"1"`, true},
		{"bool from text false", FieldBool, `"false"`, false},
		{"date SQLite", FieldDate, `"2026-12-04 15:55:11"`, utc("2026-12-04T15:55:11Z")},
		{"date SQLite millis", FieldDate, `"2024-06-01 12:34:56.789"`, utc("2024-06-01T12:34:56.789Z")},
		{"date RFC 3339", FieldDate, `"2024-07-04T00:00:00.000Z"`, utc("2024-07-04T00:00:00Z")},
		{"date RFC 3339 offset", FieldDate, `"2024-07-04T02:00:00+02:00"`, utc("2024-07-04T00:00:00Z")},
		{"date Unix ms", FieldDate, `1717171717500`, utc("2024-05-31T16:08:37.5Z")},
		{"date only", FieldDate, `"2024-05-02"`, utc("2024-05-02T00:00:00Z")},
		{"date Unix ms as text", FieldDate, `"1717171717500"`, utc("2024-05-31T16:08:37.5Z")},
		{"int", FieldInt, `-42`, int32(-42)},
		{"int from text", FieldInt, `"7"`, int32(7)},
		{"int from whole real", FieldInt, `7.0`, int32(7)},
		{"long above 2^53", FieldLong, `9007199254740993`, int64(9007199254740993)},
		{"long int64 max", FieldLong, `9223372036854775807`, int64(9223372036854775807)},
		{"double", FieldDouble, `1.5e+300`, 1.5e300},
		{"double tiny", FieldDouble, `1e-7`, 1e-7},
		{"double from text", FieldDouble, `"2.5"`, 2.5},
		{"decimal a float would round", FieldDecimal, `"12345678901234567890.123456789"`, dec("12345678901234567890.123456789")},
		{"decimal keeps zeros", FieldDecimal, `"0.10"`, dec("0.10")},
		{"decimal from number text", FieldDecimal, `19.99`, dec("19.99")},
		{"object from JSON text", FieldObject, `"{\"store\":\"Aldi\",\"nested\":{\"sizes\":[1,2.5]}}"`,
			bson.D{{Key: "nested", Value: bson.D{{Key: "sizes", Value: bson.A{int32(1), 2.5}}}}, {Key: "store", Value: "Aldi"}}},
		{"array from JSON text", FieldArray, `"[\"dairy\",\"urgent\"]"`, bson.A{"dairy", "urgent"}},
		{"array with big int", FieldArray, `"[9007199254740993]"`, bson.A{int64(9007199254740993)}},
		{"objectid", FieldObjectID, `"65a1f0c2e4b0a1b2c3d4e5f6"`, oid},
		{"string", FieldString, `"héllo"`, "héllo"},
		{"string from number", FieldString, `19.99`, "19.99"},
		{"null stays null", FieldBool, `null`, nil},
		{"untyped int", "", `5`, int32(5)},
		{"untyped above 2^53 stays exact", "", `9007199254740993`, int64(9007199254740993)},
		{"untyped beyond int64 is exact decimal", "", `9223372036854776000`, dec("9223372036854776000")},
		{"untyped real", "", `-0.1`, -0.1},
		{"untyped JSON text stays text", "", `"[1,2]"`, "[1,2]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := decode(t, tt.json)
			got, err := restore("f", v, tt.typ)
			if err != nil {
				t.Fatalf("restore(%s as %q): %v", tt.json, tt.typ, err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(decimalEqual)); diff != "" {
				t.Errorf("restore(%s as %q) mismatch (-want +got):\n%s", tt.json, tt.typ, diff)
			}
		})
	}
}

func TestRestoreRefuses(t *testing.T) {
	tests := []struct {
		name string
		typ  FieldType
		json string
		want string // in the message
	}{
		{"bool from 2", FieldBool, `2`, "as bool"},
		{"bool from yes", FieldBool, `"yes"`, "as bool"},
		{"date garbage", FieldDate, `"next tuesday"`, "as date"},
		{"date fraction of ms", FieldDate, `1.5`, "Unix milliseconds"},
		{"int fraction", FieldInt, `7.5`, "not a whole number"},
		{"int too big", FieldInt, `3000000000`, "out of range"},
		{"long 2^63 from JS", FieldLong, `9223372036854776000`, "out of range"},
		{"long from text", FieldLong, `"seven"`, "not a number"},
		{"long from hex", FieldLong, `"0x10"`, "not a number"},
		{"long from fraction", FieldLong, `"4/2"`, "not a number"},
		{"long with underscore", FieldLong, `"5_0"`, "not a number"},
		{"double from hex", FieldDouble, `"0x1p-2"`, "as double"},
		{"decimal with underscore", FieldDecimal, `"1_000.5"`, "as decimal"},
		{"double from object", FieldDouble, `{}`, "JSON object as double"},
		{"double infinity", FieldDouble, `"Infinity"`, "as double"},
		{"decimal garbage", FieldDecimal, `"12,5"`, "as decimal"},
		{"decimal NaN", FieldDecimal, `"NaN"`, "as decimal"},
		{"object from array text", FieldObject, `"[1]"`, "JSON array as object"},
		{"array bad JSON", FieldArray, `"[1,"`, "invalid JSON"},
		{"array with a bracket after it", FieldArray, `"[1] ]"`, "trailing data"},
		{"array with brackets and text after it", FieldArray, `"[1]]]]x"`, "trailing data"},
		{"object with a brace after it", FieldObject, `"{\"k\":1}} x"`, "trailing data"},
		{"objectid short", FieldObjectID, `"abc"`, "24 hex digits"},
		{"string from object", FieldString, `{"a":1}`, "JSON object as string"},
		{"object with $ key", FieldObject, `"{\"$where\":1}"`, "starts with $"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := restore("f", decode(t, tt.json), tt.typ)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), `"f"`) {
				t.Errorf("restore(%s as %q) = %v, want an error naming the field and %q", tt.json, tt.typ, err, tt.want)
			}
		})
	}
}

// TestRestoredTypesEncode checks the BSON type each restored value is
// written as, including Decimal128, which the embedded store cannot hold.
func TestRestoredTypesEncode(t *testing.T) {
	tests := []struct {
		typ  FieldType
		json string
		want bsontype.Type
	}{
		{FieldBool, `1`, bsontype.Boolean},
		{FieldDate, `"2026-12-04 15:55:11"`, bsontype.DateTime},
		{FieldInt, `1`, bsontype.Int32},
		{FieldLong, `1`, bsontype.Int64},
		{FieldDouble, `2`, bsontype.Double},
		{FieldDecimal, `"0.10"`, bsontype.Decimal128},
		{FieldObject, `"{}"`, bsontype.EmbeddedDocument},
		{FieldArray, `"[]"`, bsontype.Array},
		{FieldObjectID, `"65a1f0c2e4b0a1b2c3d4e5f6"`, bsontype.ObjectID},
		{FieldString, `1`, bsontype.String},
	}
	for _, tt := range tests {
		v, err := restore("f", decode(t, tt.json), tt.typ)
		if err != nil {
			t.Fatalf("restore(%s as %q): %v", tt.json, tt.typ, err)
		}
		raw, err := bson.Marshal(bson.D{{Key: "f", Value: v}})
		if err != nil {
			t.Fatalf("marshal %q: %v", tt.typ, err)
		}
		if got := bson.Raw(raw).Lookup("f").Type; got != tt.want {
			t.Errorf("%s as %q: BSON type %v, want %v", tt.json, tt.typ, got, tt.want)
		}
	}
}

func decode(t *testing.T, s string) any {
	t.Helper()
	v, err := decodeJSON([]byte(s))
	if err != nil {
		t.Fatalf("decoding %s: %v", s, err)
	}
	return v
}

func decimalEqual(a, b primitive.Decimal128) bool { return a.String() == b.String() }
