package hooks

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
)

// InvalidField is the rejection code of the field checks in this file.
const InvalidField = "INVALID_FIELD"

// The field checks below look at one entry of an op's Data. Each returns nil
// or a *Rejection with code InvalidField and a message naming the field.
// All but Required pass over a field that is missing, as it is from a PATCH
// that does not change it, or null.

// Required rejects a field that is missing, null or an empty string. Use it
// on a PUT, which carries the whole row, and not on a PATCH, which carries
// only the fields it changes:
//
//	if op.Kind == Put {
//		return Required(op.Data, "title")
//	}
func Required(data map[string]any, field string) error {
	v, ok := data[field]
	if !ok || v == nil {
		return invalid(field, "is required")
	}
	if s, ok := v.(string); ok && s == "" {
		return invalid(field, "must not be empty")
	}
	return nil
}

// OfType rejects a field whose value is not a T.
func OfType[T any](data map[string]any, field string) error {
	v, ok := data[field]
	if !ok || v == nil {
		return nil
	}
	if _, ok := v.(T); !ok {
		var want T
		return invalid(field, "must be of type %s, not %s", typeName(want), typeName(v))
	}
	return nil
}

// MaxLength rejects a field that is not a string or is longer than max
// characters.
func MaxLength(data map[string]any, field string, max int) error {
	v, ok := data[field]
	if !ok || v == nil {
		return nil
	}

	s, ok := v.(string)
	if !ok {
		return invalid(field, "must be a string")
	}
	if n := utf8.RuneCountInString(s); n > max {
		return invalid(field, "must be at most %d characters long, not %d", max, n)
	}
	return nil
}

// Range rejects a field that is not a number from min to max, both included.
// Numbers are an int, int32, int64, float64 or primitive.Decimal128, and are
// compared exactly; NaN and infinities are rejected.
func Range(data map[string]any, field string, min, max float64) error {
	v, ok := data[field]
	if !ok || v == nil {
		return nil
	}

	n, ok := number(v)
	if !ok {
		return invalid(field, "must be a number")
	}
	if n.Cmp(big.NewFloat(min)) < 0 || n.Cmp(big.NewFloat(max)) > 0 {
		return invalid(field, "must be from %s to %s", formatFloat(min), formatFloat(max))
	}
	return nil
}

// NotAfter rejects a field that is not a date or is later than latest. It
// catches dates far in the future, which are most often typing mistakes.
func NotAfter(data map[string]any, field string, latest time.Time) error {
	v, ok := data[field]
	if !ok || v == nil {
		return nil
	}

	t, ok := v.(time.Time)
	if !ok {
		return invalid(field, "must be a date")
	}
	if t.After(latest) {
		return invalid(field, "must not be later than %s", latest.UTC().Format(time.DateOnly))
	}
	return nil
}

// MaxItems rejects a field that is not an array or has more than max items.
// An array is a bson.A, as the server restores it, or a []any.
func MaxItems(data map[string]any, field string, max int) error {
	v, ok := data[field]
	if !ok || v == nil {
		return nil
	}

	var n int
	switch a := v.(type) {
	case bson.A:
		n = len(a)
	case []any:
		n = len(a)
	default:
		return invalid(field, "must be an array")
	}
	if n > max {
		return invalid(field, "must have at most %d items, not %d", max, n)
	}
	return nil
}

// OneOf rejects a field whose value is not one of allowed.
func OneOf[T comparable](data map[string]any, field string, allowed ...T) error {
	v, ok := data[field]
	if !ok || v == nil {
		return nil
	}

	if t, ok := v.(T); ok {
		for _, a := range allowed {
			if t == a {
				return nil
			}
		}
	}

	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = fmt.Sprintf("%#v", a)
	}
	return invalid(field, "must be one of %s", strings.Join(names, ", "))
}

// FirstError returns the first of errs that is not nil, or nil. It lets a
// hook list its checks in one return statement.
func FirstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// invalid returns a rejection with code InvalidField whose message starts
// with the quoted field name.
func invalid(field, format string, args ...any) error {
	return Reject(InvalidField, "%q %s", field, fmt.Sprintf(format, args...))
}

// number returns v as an exact big.Float, and whether v is a finite number.
func number(v any) (*big.Float, bool) {
	switch n := v.(type) {
	case int:
		return new(big.Float).SetInt64(int64(n)), true
	case int32:
		return new(big.Float).SetInt64(int64(n)), true
	case int64:
		return new(big.Float).SetInt64(n), true
	case float64:
		if math.IsNaN(n) || math.IsInf(n, 0) {
			return nil, false
		}
		return new(big.Float).SetFloat64(n), true
	case primitive.Decimal128:
		// 34 decimal digits need 113 bits; the margin keeps the binary
		// rounding of fractions far below any bound a check names.
		f, _, err := big.ParseFloat(n.String(), 10, 256, big.ToNearestEven)
		if err != nil || f.IsInf() {
			return nil, false
		}
		return f, true
	}
	return nil, false
}

// typeName names the type of v as config.yaml names field types.
func typeName(v any) string {
	switch v.(type) {
	case bool:
		return "bool"
	case time.Time:
		return "date"
	case int, int32:
		return "int"
	case int64:
		return "long"
	case float64:
		return "double"
	case primitive.Decimal128:
		return "decimal"
	case bson.D, map[string]any:
		return "object"
	case bson.A, []any:
		return "array"
	case primitive.ObjectID:
		return "objectid"
	case string:
		return "string"
	}
	return fmt.Sprintf("%T", v)
}

// formatFloat writes f without an exponent, as a person would type it;
// a whole number is written with all its digits.
func formatFloat(f float64) string {
	if f == math.Trunc(f) {
		return big.NewFloat(f).Text('f', 0)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}
