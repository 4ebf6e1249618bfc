package mongoapply

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/bson"

	"github.com/psmongo/psmongo/devstore/devstoretest"
)

// badBatches are bodies that tried to break the decoder and the checks
// after it. They seed FuzzParseBatch with the SDK's recorded uploads and
// testdata/fuzz/FuzzParseBatch, which holds the ones that did break them;
// go test replays them all.
var badBatches = []string{
	`{"batch":[{"op":"PUT","table":"t","data":{"id":1,"a":{"b":[1,"x",null]}}}]}`,
	`{"batch":[{"op":"patch","type":"t","id":"a","tx_id":"x","opData":{"$x":1}}]}`,
	`{"batch":[{"op":"PUT","table":"typed","id":"a","data":{"obj":"{\"a\":\"\\ud800\"}","arr":"[[[[[]]]]]"}}]}`,
	`{"batch":[{"op":"PUT","table":"typed","id":"a","data":{"n":"7.0","l":"1e3","d":"-0.0","b":"1.0"}}]}`,
	`{"batch":[{"op":"PUT","table":"oid","id":"65A1F0C2E4B0A1B2C3D4E5F6"},` +
		`{"op":"DELETE","table":"uuid","id":"11111111-1111-4111-8111-11111111111"}]}`,
	`{"batch":[{"op":"PUT","table":"t","id":"a","data":{"a.b":1,"$set":{"x":1},"c\u0000":1}}]}`,
	`{"batch":[{"op":"PUT","table":"system.users","id":"a"},{"op":"PUT","table":"_powersync_x","id":"b"}]}`,
	`{"b\u0061tch":[{"op":"DELETE","table":"t","id":1e400}]}`,
	`{"batch":[{"op":"PUT","table":"owned","id":"a","data":{"owner":"someone else"}}]}`,
	`{"batch":[{"op":"DELETE","table":"t","id":"a","data":{"x":` +
		strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}}]}`,
}

// fuzzApplier is an Applier whose plan step needs no database: its
// collections cover every id and field type and an owner field.
func fuzzApplier(f *testing.F) *Applier {
	f.Helper()
	fields := make(map[string]FieldType)
	for _, t := range FieldTypes {
		fields["f_"+string(t)] = t
	}
	fields["n"], fields["l"], fields["d"] = FieldInt, FieldLong, FieldDouble
	fields["b"], fields["at"] = FieldBool, FieldDate
	fields["obj"], fields["arr"] = FieldObject, FieldArray

	cfg := Config{
		DeadLetter: DefaultDeadLetter,
		Limits:     Limits{}.withDefaults(),
		Collections: map[string]Collection{
			"typed": {Fields: fields},
			"oid":   {IDType: IDObjectID, Fields: fields},
			"uuid":  {IDType: IDUUID, Put: PutMerge},
			"owned": {OwnerField: "owner"},
		},
	}
	db := devstoretest.Client().Database("fuzz")
	return &Applier{db: db, cfg: cfg, ferretDB: true, log: discardLogger()}
}

// FuzzParseBatch checks that no body makes the decoder or the checks of an
// op panic; that every error is ErrInvalidRequest; that every op is
// complete; that the op count check agrees with the decoder; that text the
// decoder would change is found; and that every op either gets a refusal
// whose message can be stored and sent, or a write that BSON can encode.
// go test runs the seeds; go test -fuzz FuzzParseBatch explores.
func FuzzParseBatch(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("..", "handlers", "testdata", "sdk", "*.json"))
	for _, path := range seeds {
		if b, err := os.ReadFile(path); err == nil {
			f.Add(b)
		}
	}
	for _, b := range badBatches {
		f.Add([]byte(b))
	}
	a := fuzzApplier(f)

	f.Fuzz(func(t *testing.T, body []byte) {
		countErr := CheckOpCount(body, 3)
		if countErr != nil && !errors.Is(countErr, ErrInvalidRequest) {
			t.Fatalf("CheckOpCount(%q) = %v, not ErrInvalidRequest", body, countErr)
		}

		ops, err := ParseBatch(body)
		// ParseBatchAtMost refuses what CheckOpCount refuses, and parses
		// the rest as ParseBatch does.
		atMost, atMostErr := ParseBatchAtMost(body, 3)
		switch {
		case countErr != nil && (atMostErr == nil || atMostErr.Error() != countErr.Error()):
			t.Fatalf("ParseBatchAtMost(%q, 3) = %v, want CheckOpCount's %v", body, atMostErr, countErr)
		case countErr == nil && (err == nil) != (atMostErr == nil):
			t.Fatalf("ParseBatchAtMost(%q, 3) = %v, ParseBatch = %v", body, atMostErr, err)
		case countErr == nil && err == nil && len(atMost) != len(ops):
			t.Fatalf("ParseBatchAtMost(%q, 3) has %d ops, ParseBatch %d", body, len(atMost), len(ops))
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidRequest) {
				t.Fatalf("ParseBatch(%q) = %v, not ErrInvalidRequest", body, err)
			}
			return
		}
		if len(ops) > 3 && countErr == nil {
			t.Fatalf("ParseBatch(%q) has %d ops, and CheckOpCount(3) let it pass", body, len(ops))
		}
		for i := range ops {
			checkFuzzOp(t, a, body, i, &ops[i])
		}
	})
}

func checkFuzzOp(t *testing.T, a *Applier, body []byte, i int, op *Op) {
	t.Helper()
	if op.Kind == "" || op.Table == "" || op.ID == "" || len(op.Raw) == 0 {
		t.Fatalf("ParseBatch(%q): op %d incomplete: %+v", body, i, op)
	}
	checkTextProblem(t, op.Raw)

	var arena []byte
	w, r := a.plan(context.Background(), "user", op, &arena)
	if r != nil {
		if r.code == "" || r.message == "" || !utf8.ValidString(r.message) {
			t.Fatalf("ParseBatch(%q): op %d refused with code %q, message %q", body, i, r.code, r.message)
		}
		return
	}
	// A statement that is not one BSON document would fail the whole
	// request.
	if w.stmt != nil {
		if err := bson.Raw(w.stmt).Validate(); err != nil {
			t.Fatalf("ParseBatch(%q): op %d planned a statement that is not BSON: %v", body, i, err)
		}
	}
}

// checkTextProblem compares textProblem with what decoding does: it finds
// a problem exactly when decoding some string of raw makes more U+FFFD
// than the client sent in it.
func checkTextProblem(t *testing.T, raw []byte) {
	t.Helper()
	_, problem := textProblem(raw)
	changed, err := decodingChanges(raw)
	if err != nil {
		t.Fatalf("decoding %q token by token: %v", raw, err)
	}
	if changed != (problem != "") {
		t.Fatalf("textProblem(%q) = %q, but decoding changes a string: %v", raw, problem, changed)
	}
}

// decodingChanges reports whether decoding a string of raw, key or value,
// makes a U+FFFD the client did not send.
func decodingChanges(raw []byte) (bool, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var from int64
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		to := dec.InputOffset()
		if s, ok := tok.(string); ok && strings.Count(s, "\uFFFD") != sentReplacements(raw[from:to]) {
			return true, nil
		}
		from = to
	}
}

// sentReplacements counts the U+FFFD a client sent on purpose in raw: as
// UTF-8, or escaped as \ufffd. It counts outside strings too, which valid
// JSON does not allow.
func sentReplacements(raw []byte) int {
	n := bytes.Count(raw, []byte("\uFFFD"))
	for i := 0; i+1 < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		if raw[i+1] == 'u' && i+6 <= len(raw) && strings.EqualFold(string(raw[i+2:i+6]), "fffd") {
			n++
		}
		i++ // the escaped byte
	}
	return n
}
