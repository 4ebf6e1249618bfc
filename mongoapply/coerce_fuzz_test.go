package mongoapply

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
)

// restoreSeeds are values as clients send them, and values that tried to
// break type restoration; testdata/fuzz/FuzzRestore holds those that did.
var restoreSeeds = []string{
	`0`, `1`, `true`, `null`, `"1"`, `"false"`, `-42`, `7.0`, `"7"`, `1e3`, `"1e3"`,
	`9007199254740993`, `9223372036854775807`, `9223372036854776000`, `-9223372036854775808`,
	`1.5e+300`, `1e-7`, `"2.5"`, `"NaN"`, `"Infinity"`, `1e400`, `"0x10"`, `"1_000"`, `"4/2"`,
	`"12345678901234567890.123456789"`, `"0.10"`, `19.99`, `"1E6145"`,
	`"2026-12-04 15:55:11"`, `"2024-06-01 12:34:56.789"`, `"2024-07-04T02:00:00+02:00"`,
	`1717171717500`, `"1717171717500"`, `"2024-05-02"`, `"9999-12-31T23:59:59.999999999Z"`,
	`"{\"store\":\"Aldi\",\"nested\":{\"sizes\":[1,2.5]}}"`, `"[\"dairy\",\"urgent\"]"`, `"[1,"`,
	`"{\"$x\":1}"`, `"{\"a.b\":1}"`, `{"a":{"b":[1,"x",null]}}`, `[[1],[2]]`,
	`"65a1f0c2e4b0a1b2c3d4e5f6"`, `"65A1F0C2E4B0A1B2C3D4E5F6"`, `"héllo"`, `"-0.0e-2147483649"`,
}

// fuzzFieldTypes are the types a field may have, "" for none.
var fuzzFieldTypes = append([]FieldType{""}, FieldTypes...)

// FuzzRestore checks that no JSON value, restored to any field type,
// panics; that a failure is a *typeError with a message that can be sent;
// and that what it restores has the Go type of its field type and can be
// encoded as BSON, which the write needs.
func FuzzRestore(f *testing.F) {
	for i := range fuzzFieldTypes {
		for _, v := range restoreSeeds {
			f.Add(byte(i), []byte(v))
		}
	}

	f.Fuzz(func(t *testing.T, typ byte, value []byte) {
		v, err := decodeJSON(value)
		if err != nil {
			return
		}
		ft := fuzzFieldTypes[int(typ)%len(fuzzFieldTypes)]
		out, err := restore("f", v, ft)
		if err != nil {
			var te *typeError
			if !errors.As(err, &te) || !utf8.ValidString(err.Error()) {
				t.Fatalf("restore(%s as %q) = %v, want a *typeError in valid UTF-8", value, ft, err)
			}
			return
		}
		if _, err := bson.Marshal(bson.D{{Key: "f", Value: out}}); err != nil {
			t.Fatalf("restore(%s as %q) = %#v, which BSON cannot encode: %v", value, ft, out, err)
		}
		if v != nil && !hasType(out, ft) {
			t.Fatalf("restore(%s as %q) = %T, not the field's type", value, ft, out)
		}
	})
}

// hasType reports whether a restored value has the Go type of t.
func hasType(v any, t FieldType) bool {
	var ok bool
	switch t {
	case "":
		ok = true
	case FieldBool:
		_, ok = v.(bool)
	case FieldDate:
		_, ok = v.(time.Time)
	case FieldInt:
		_, ok = v.(int32)
	case FieldLong:
		_, ok = v.(int64)
	case FieldDouble:
		_, ok = v.(float64)
	case FieldDecimal:
		_, ok = v.(primitive.Decimal128)
	case FieldObject:
		_, ok = v.(bson.D)
	case FieldArray:
		_, ok = v.(bson.A)
	case FieldObjectID:
		_, ok = v.(primitive.ObjectID)
	case FieldString:
		_, ok = v.(string)
	}
	return ok
}

// TestExactIntWithoutBigNumbers covers the forms exactInt reads digit by
// digit since math/big took a tenth of a second on "1e1000000".
func TestExactIntWithoutBigNumbers(t *testing.T) {
	tests := []struct {
		in   string
		bits int
		want int64
		err  string
	}{
		{"1e3", 32, 1000, ""},
		{"1.50e1", 64, 15, ""},
		{"120e-1", 64, 12, ""},
		{"-0.0", 64, 0, ""},
		{"0e1000000", 64, 0, ""},
		{"-.5e1", 64, -5, ""},
		{"9223372036854775807.0", 64, 9223372036854775807, ""},
		{"-9223372036854775808.0", 64, -9223372036854775808, ""},
		{"2147483647.0", 32, 2147483647, ""},
		{"1" + strings.Repeat("0", 4000) + "e-4000", 64, 1, ""},
		{"1e1000000", 64, 0, "out of range for 64 bits"},
		{"1e99999999999", 64, 0, "out of range for 64 bits"},
		{"9223372036854775808.0", 64, 0, "out of range for 64 bits"},
		{"2147483648.0", 32, 0, "out of range for 32 bits"},
		{"1e19", 64, 0, "out of range for 64 bits"},
		{"12e-1", 64, 0, "not a whole number"},
		{"1e-1000000", 64, 0, "not a whole number"},
		{"5e-99999999999", 64, 0, "not a whole number"},
		{"0x10", 64, 0, "not a number"},
	}
	for _, tt := range tests {
		got, err := exactInt(tt.in, tt.bits)
		if got != tt.want || (err == nil) != (tt.err == "") || (err != nil && err.Error() != tt.err) {
			t.Errorf("exactInt(%.30q, %d) = %d, %v; want %d, %q", tt.in, tt.bits, got, err, tt.want, tt.err)
		}
	}
}
