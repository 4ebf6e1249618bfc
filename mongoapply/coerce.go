package mongoapply

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
)

// typeError is a value that cannot be restored to its field's type, or
// holds a key that cannot be stored (a *keyError).
type typeError struct {
	field string
	err   error
}

func (e *typeError) Error() string {
	return fmt.Sprintf("field %s: %v", quoteShort(e.field), e.err)
}

func (e *typeError) Unwrap() error { return e.err }

// numberText is the form of a number as SQLite writes it: decimal digits,
// an optional fraction and exponent. strconv and math/big also read hex,
// underscores and fractions such as "4/2", which no client sends as a
// number and which are refused rather than guessed at.
var numberText = regexp.MustCompile(`^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$`)

// restore returns v, a JSON value as decoded by decodeJSON, as the BSON-ready
// value of type t. An empty t keeps the JSON type. null stays null whatever
// the type, since SQLite columns are nullable.
func restore(field string, v any, t FieldType) (any, error) {
	if v == nil {
		return nil, nil
	}

	out, err := restoreValue(v, t)
	if err != nil {
		return nil, &typeError{field: field, err: err}
	}
	return out, nil
}

func restoreValue(v any, t FieldType) (any, error) {
	switch t {
	case "":
		return plain(v)
	case FieldBool:
		return toBool(v)
	case FieldDate:
		return toDate(v)
	case FieldInt:
		return toInt(v, 32)
	case FieldLong:
		return toInt(v, 64)
	case FieldDouble:
		return toDouble(v)
	case FieldDecimal:
		return toDecimal(v)
	case FieldObject:
		return toJSONKind(v, "object")
	case FieldArray:
		return toJSONKind(v, "array")
	case FieldObjectID:
		return toObjectID(v)
	case FieldString:
		return toString(v)
	}
	return nil, fmt.Errorf("unknown field type %q", t)
}

// plain converts a JSON value keeping its JSON type: numbers become int32,
// int64 or double as they fit, integers beyond int64 an exact Decimal128.
func plain(v any) (any, error) {
	switch v := v.(type) {
	case json.Number:
		return plainNumber(v)
	case map[string]any:
		return plainObject(v)
	case []any:
		out := make(bson.A, len(v))
		for i, e := range v {
			c, err := plain(e)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = c
		}
		return out, nil
	}
	return v, nil
}

func plainNumber(n json.Number) (any, error) {
	s := n.String()
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			if i >= math.MinInt32 && i <= math.MaxInt32 {
				return int32(i), nil
			}
			return i, nil
		}
		return primitive.ParseDecimal128(s)
	}
	return finiteFloat(s)
}

// plainObject converts a nested object with its keys in sorted order, so
// that equal objects are equal documents in MongoDB.
func plainObject(m map[string]any) (bson.D, error) {
	out := make(bson.D, 0, len(m))
	for _, k := range sortedKeys(m) {
		if err := checkKey(k); err != nil {
			return nil, err
		}
		c, err := plain(m[k])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out = append(out, bson.E{Key: k, Value: c})
	}
	return out, nil
}

func toBool(v any) (any, error) {
	switch v := v.(type) {
	case bool:
		return v, nil
	case json.Number:
		return boolText(v.String())
	case string:
		return boolText(strings.TrimSpace(v))
	}
	return nil, mismatch(v, "bool")
}

func boolText(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "1", "1.0", "true":
		return true, nil
	case "0", "0.0", "false":
		return false, nil
	}
	return false, fmt.Errorf("cannot restore %s as bool (want 0, 1, true or false)", quoteShort(s))
}

// dateLayouts are the text forms a date arrives in: SQLite's datetime(),
// with and without fractional seconds, its date(), and ISO forms without a
// zone, which are taken as UTC like SQLite does. RFC 3339 is tried first.
var dateLayouts = []string{
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04",
	"2006-01-02T15:04",
	"2006-01-02",
}

func toDate(v any) (any, error) {
	if s, ok := v.(string); ok {
		s = strings.TrimSpace(s)
		if t, ok := sqliteTime(s); ok {
			return t.Truncate(time.Millisecond), nil
		}
		if !numberText.MatchString(s) {
			return dateText(s)
		}
		v = json.Number(s) // Unix milliseconds kept in a text column
	}
	switch v := v.(type) {
	case json.Number:
		ms, err := exactInt(v.String(), 64)
		if err != nil {
			return nil, fmt.Errorf("cannot restore %s as date (want Unix milliseconds)", v)
		}
		return time.UnixMilli(ms).UTC(), nil
	}
	return nil, mismatch(v, "date")
}

// dateText parses a date; BSON keeps milliseconds, so finer digits go.
func dateText(s string) (any, error) {
	t, err := parseDate(s)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// parseDate is dateText's parse, for the encoders that want no box.
func parseDate(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Truncate(time.Millisecond), nil
		}
	}
	for _, layout := range dateLayouts {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t.Truncate(time.Millisecond), nil
		}
	}
	return time.Time{}, fmt.Errorf("cannot restore %s as date (want YYYY-MM-DD HH:MM:SS, RFC 3339 or Unix milliseconds)", quoteShort(s))
}

// sqliteTime reads the text of SQLite's datetime(), YYYY-MM-DD HH:MM:SS
// with up to nine digits of fraction, in UTC, as time.ParseInLocation
// with dateLayouts[0] does, at a tenth of its cost; false for any other
// text, which dateText then parses. That text is never a number either,
// nor a date with a zone or a T, so toDate may read it first.
func sqliteTime(s string) (time.Time, bool) {
	if len(s) < 19 || len(s) == 20 || len(s) > 29 || s[4] != '-' || s[7] != '-' || s[10] != ' ' ||
		s[13] != ':' || s[16] != ':' || len(s) > 19 && s[19] != '.' {
		return time.Time{}, false
	}
	var n [7]int // year, month, day, hour, minute, second, nanoseconds
	for i, span := range [7][2]int{{0, 4}, {5, 7}, {8, 10}, {11, 13}, {14, 16}, {17, 19}, {min(20, len(s)), len(s)}} {
		for _, c := range []byte(s[span[0]:span[1]]) {
			if c < '0' || c > '9' {
				return time.Time{}, false
			}
			n[i] = n[i]*10 + int(c-'0')
		}
	}
	for range 29 - max(len(s), 20) {
		n[6] *= 10
	}

	month := time.Month(n[1])
	if month < time.January || month > time.December || n[2] < 1 || n[3] > 23 || n[4] > 59 || n[5] > 59 {
		return time.Time{}, false
	}
	t := time.Date(n[0], month, n[2], n[3], n[4], n[5], n[6], time.UTC)
	return t, t.Day() == n[2] // else the day is past the month's end
}

func toInt(v any, bits int) (any, error) {
	var s string
	switch v := v.(type) {
	case json.Number:
		s = v.String()
	case string:
		s = strings.TrimSpace(v)
	case bool:
		s = map[bool]string{false: "0", true: "1"}[v]
	default:
		return nil, mismatch(v, intName(bits))
	}

	i, err := exactInt(s, bits)
	if err != nil {
		return nil, fmt.Errorf("cannot restore %s as %s: %v", quoteShort(s), intName(bits), err)
	}
	if bits == 32 {
		return int32(i), nil
	}
	return i, nil
}

func intName(bits int) string {
	if bits == 32 {
		return "int"
	}
	return "long"
}

// exactInt parses s as an integer of the given size, accepting forms such
// as "7.0" or "1e3" that are whole numbers, and refusing any it would round.
func exactInt(s string, bits int) (int64, error) {
	// ParseInt reads [+-]?[0-9]+ alone, which numberText matches too.
	if i, err := strconv.ParseInt(s, 10, bits); err == nil {
		return i, nil
	}
	if !numberText.MatchString(s) {
		return 0, fmt.Errorf("not a number")
	}

	// Work on the digits: math/big takes a tenth of a second to read
	// "1e1000000", and a batch can hold thousands of them.
	sign, digits, exp := decimalParts(s)
	if digits == "" {
		return 0, nil
	}
	if exp < 0 {
		return 0, fmt.Errorf("not a whole number")
	}
	if int64(len(digits))+exp > 19 {
		return 0, fmt.Errorf("out of range for %d bits", bits)
	}
	i, err := strconv.ParseInt(sign+digits+strings.Repeat("0", int(exp)), 10, bits)
	if err != nil {
		return 0, fmt.Errorf("out of range for %d bits", bits)
	}
	return i, nil
}

// decimalParts splits s, which matches numberText, into its sign and
// digits times ten to exp, where digits has no zeros at either end ("" for
// zero). An exponent too large for int32 saturates, which keeps the answer.
func decimalParts(s string) (sign, digits string, exp int64) {
	if s[0] == '-' || s[0] == '+' {
		sign, s = s[:1], s[1:]
	}
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		exp, _ = strconv.ParseInt(s[i+1:], 10, 32) // saturates on range errors
		s = s[:i]
	}
	whole, frac, _ := strings.Cut(s, ".")
	digits, exp = whole+frac, exp-int64(len(frac))

	digits = strings.TrimLeft(digits, "0")
	trimmed := strings.TrimRight(digits, "0")
	exp += int64(len(digits) - len(trimmed))
	return sign, trimmed, exp
}

func toDouble(v any) (any, error) {
	switch v := v.(type) {
	case json.Number:
		return finiteFloat(v.String())
	case string:
		f, err := finiteFloat(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("cannot restore %s as double", quoteShort(v))
		}
		return f, nil
	}
	return nil, mismatch(v, "double")
}

func finiteFloat(s string) (float64, error) {
	if !numberText.MatchString(s) {
		return 0, fmt.Errorf("%s is not a number", quoteShort(s))
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Errorf("%s is not a finite number", quoteShort(s))
	}
	return f, nil
}

// toDecimal restores a decimal from the text the client sent, so that
// "0.10" and 19.99 keep every digit.
func toDecimal(v any) (any, error) {
	var s string
	switch v := v.(type) {
	case json.Number:
		s = v.String()
	case string:
		s = strings.TrimSpace(v)
	default:
		return nil, mismatch(v, "decimal")
	}

	d, err := primitive.ParseDecimal128(s)
	if err != nil || !numberText.MatchString(s) {
		return nil, fmt.Errorf("cannot restore %s as decimal", quoteShort(s))
	}
	return d, nil
}

// toJSONKind restores an object or array that SQLite kept as JSON text.
func toJSONKind(v any, kind string) (any, error) {
	if s, ok := v.(string); ok {
		decoded, err := decodeText(s)
		if err != nil {
			return nil, fmt.Errorf("cannot restore as %s: %v", kind, err)
		}
		v = decoded
	}

	switch v.(type) {
	case map[string]any:
		if kind == "object" {
			return plain(v)
		}
	case []any:
		if kind == "array" {
			return plain(v)
		}
	}
	return nil, mismatch(v, kind)
}

func toObjectID(v any) (any, error) {
	s, ok := v.(string)
	if !ok {
		return nil, mismatch(v, "objectid")
	}
	id, err := primitive.ObjectIDFromHex(s)
	if err != nil {
		return nil, fmt.Errorf("cannot restore %s as objectid (want 24 hex digits)", quoteShort(s))
	}
	return id, nil
}

func toString(v any) (any, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	case bool:
		return strconv.FormatBool(v), nil
	}
	return nil, mismatch(v, "string")
}

func mismatch(v any, want string) error {
	return fmt.Errorf("cannot restore a JSON %s as %s", jsonKind(v), want)
}

func jsonKind(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return "null"
}

// quoteShort quotes a client value for an error message, cut short so that
// a message never carries a whole document.
func quoteShort(s string) string {
	const max = 40
	if len(s) > max {
		s = s[:max] + "..."
	}
	return strconv.Quote(s)
}

// hasDecimal reports whether v is or holds a Decimal128.
func hasDecimal(v any) bool {
	switch v := v.(type) {
	case primitive.Decimal128:
		return true
	case bson.D:
		for _, e := range v {
			if hasDecimal(e.Value) {
				return true
			}
		}
	case bson.A:
		for _, e := range v {
			if hasDecimal(e) {
				return true
			}
		}
	}
	return false
}
