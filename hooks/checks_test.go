package hooks

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
)

func TestChecks(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	data := map[string]any{
		"title":    "Buy milk",
		"empty":    "",
		"null":     nil,
		"count":    int32(7),
		"big":      int64(1) << 60,
		"plain":    3,
		"score":    2.5,
		"nan":      math.NaN(),
		"inf":      math.Inf(1),
		"price":    mustDecimal(t, "19.99"),
		"huge":     mustDecimal(t, "1E+40"),
		"due":      now,
		"tags":     []any{"a", "b", "c"},
		"done":     true,
		"meta":     map[string]any{"k": "v"},
		"owner_id": primitive.NewObjectID(),
		"doc":      bson.D{{Key: "k", Value: "v"}}, // objects and arrays as the server restores them
		"list":     bson.A{"x", "y", "z"},
	}

	tests := []struct {
		name    string
		err     error
		wantMsg string // empty: the check passes
	}{
		{"required present", Required(data, "title"), ""},
		{"required missing", Required(data, "nope"), `"nope" is required`},
		{"required null", Required(data, "null"), `"null" is required`},
		{"required empty", Required(data, "empty"), `"empty" must not be empty`},

		{"type ok", OfType[bool](data, "done"), ""},
		{"type missing", OfType[bool](data, "nope"), ""},
		{"type null", OfType[bool](data, "null"), ""},
		{"type wrong", OfType[bool](data, "title"), `"title" must be of type bool, not string`},
		{"type object", OfType[map[string]any](data, "tags"),
			`"tags" must be of type object, not array`},

		{"length ok", MaxLength(data, "title", 8), ""},
		{"length counts characters", MaxLength(map[string]any{"s": "été"}, "s", 3), ""},
		{"length over", MaxLength(data, "title", 7),
			`"title" must be at most 7 characters long, not 8`},
		{"length not a string", MaxLength(data, "count", 7), `"count" must be a string`},
		{"length missing", MaxLength(data, "nope", 1), ""},

		{"range int32", Range(data, "count", 0, 10), ""},
		{"range int32 low", Range(data, "count", 8, 10), `"count" must be from 8 to 10`},
		{"range int", Range(data, "plain", 3, 3), ""},
		{"range int64 exact", Range(data, "big", 0, 1<<60), ""},
		{"range int64 one over", Range(map[string]any{"n": int64(1)<<60 + 1}, "n", 0, 1<<60),
			`"n" must be from 0 to 1152921504606846976`},
		{"range double", Range(data, "score", -1.5, 2.5), ""},
		{"range double high", Range(data, "score", 0, 2.25), `"score" must be from 0 to 2.25`},
		{"range NaN", Range(data, "nan", 0, 1), `"nan" must be a number`},
		{"range infinity", Range(data, "inf", 0, math.MaxFloat64), `"inf" must be a number`},
		{"range decimal", Range(data, "price", 0, 20), ""},
		{"range decimal high", Range(data, "price", 0, 19.98), `"price" must be from 0 to 19.98`},
		{"range decimal huge", Range(data, "huge", 0, 1e39), `"huge" must be from 0 to`},
		{"range decimal NaN", Range(map[string]any{"d": mustDecimal(t, "NaN")}, "d", 0, 1),
			`"d" must be a number`},
		{"range decimal infinity", Range(map[string]any{"d": mustDecimal(t, "Infinity")}, "d", 0, 1),
			`"d" must be a number`},
		{"range not a number", Range(data, "title", 0, 1), `"title" must be a number`},
		{"range null", Range(data, "null", 0, 1), ""},

		{"date ok", NotAfter(data, "due", now), ""},
		{"date later", NotAfter(data, "due", now.Add(-time.Second)),
			`"due" must not be later than 2025-06-01`},
		{"date not a date", NotAfter(data, "title", now), `"title" must be a date`},
		{"date missing", NotAfter(data, "nope", now), ""},

		{"items ok", MaxItems(data, "tags", 3), ""},
		{"items of a BSON array", MaxItems(data, "list", 3), ""},
		{"items over in a BSON array", MaxItems(data, "list", 2), `"list" must have at most 2 items, not 3`},
		{"type BSON object", OfType[bson.D](data, "doc"), ""},
		{"type BSON array as object", OfType[bson.D](data, "list"), `"list" must be of type object, not array`},
		{"items over", MaxItems(data, "tags", 2), `"tags" must have at most 2 items, not 3`},
		{"items not an array", MaxItems(data, "meta", 2), `"meta" must be an array`},

		{"one of", OneOf(data, "title", "Buy milk", "Sell milk"), ""},
		{"one of none", OneOf(data, "title", "open", "done"), `"title" must be one of "open", "done"`},
		{"one of other type", OneOf(data, "count", 7, 8), `"count" must be one of 7, 8`},
		{"one of missing", OneOf(data, "nope", "a"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkRejection(t, tt.err, tt.wantMsg)
		})
	}
}

func TestFirstError(t *testing.T) {
	first := errors.New("first")
	tests := []struct {
		name string
		errs []error
		want error
	}{
		{"none", nil, nil},
		{"all nil", []error{nil, nil}, nil},
		{"first of two", []error{nil, first, errors.New("second")}, first},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FirstError(tt.errs...); got != tt.want {
				t.Errorf("FirstError(%v) = %v, want %v", tt.errs, got, tt.want)
			}
		})
	}
}

// checkRejection fails t unless err is nil when wantMsg is empty, or else an
// InvalidField rejection whose message starts with wantMsg.
func checkRejection(t *testing.T, err error, wantMsg string) {
	t.Helper()

	if wantMsg == "" {
		if err != nil {
			t.Errorf("got %v, want nil", err)
		}
		return
	}

	r, ok := AsRejection(err)
	if !ok || r.Code != InvalidField || !strings.HasPrefix(r.Message, wantMsg) {
		t.Errorf("got %v, want %s: %s", err, InvalidField, wantMsg)
	}
}

func mustDecimal(t *testing.T, s string) primitive.Decimal128 {
	t.Helper()

	d, err := primitive.ParseDecimal128(s)
	if err != nil {
		t.Fatalf("ParseDecimal128(%q): %v", s, err)
	}
	return d
}
