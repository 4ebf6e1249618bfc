package mongoapply

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unsafe"

	"github.com/psmongo/psmongo/hooks"
)

// ErrInvalidRequest means the request itself is malformed: it is not JSON,
// has no batch, or an op lacks what every op needs. Nothing was written. The
// error text names the op index and the problem and is safe to show.
var ErrInvalidRequest = errors.New("invalid request")

// Op is one client write as received.
type Op struct {
	Kind  hooks.Kind
	Table string
	ID    string
	Data  json.RawMessage // the data object as sent, or nil; never changed once parsed
	OpID  json.RawMessage // as sent, or nil
	TxID  string          // "" when the op carries no transaction id
	Raw   json.RawMessage // the whole op as received, kept for the dead-letter collection

	Metadata string // the client's _metadata string, if any

	// tooManyValues marks data with more values than a document can hold;
	// it was not decoded, and the op is refused with DOCUMENT_TOO_LARGE.
	tooManyValues bool
}

// Values decodes the op's data: strings, json.Number, bools, nils, and
// maps and slices of them. It is nil when the op has no data.
func (op *Op) Values() (map[string]any, error) {
	if op.Data == nil {
		return nil, nil
	}
	v, err := decodeText(unsafeText(op.Data))
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the data is not an object")
	}
	return m, nil
}

// unsafeText is b as a string, without a copy: b must never change while
// the string is in use. Ops hold copies of the request that nothing
// changes, and are read as text many times over.
func unsafeText(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// maxValues is the most JSON values an op's data may hold. Each BSON
// value takes at least three bytes, so no 16 MiB document holds more than
// about 5.6 million, and decoding millions of values costs far more memory
// than the body: data with more is refused without being decoded.
const maxValues = 1 << 20

// ParseBatch reads a request body of the form {"batch": [op, ...]}.
// An error wraps ErrInvalidRequest.
func ParseBatch(body []byte) ([]Op, error) {
	return ParseBatchAtMost(body, 0)
}

// ParseBatchAtMost is ParseBatch for a batch of at most maxOps ops, or any
// number when maxOps is zero. A longer batch is refused, as CheckOpCount
// refuses it, without decoding the ops past the limit.
func ParseBatchAtMost(body []byte, maxOps int) ([]Op, error) {
	if ops, ok := decodeBatch(body, maxOps); ok {
		if maxOps > 0 && len(ops) > maxOps {
			return nil, tooManyOps(maxOps)
		}
		return ops, nil
	}
	if err := CheckOpCount(body, maxOps); err != nil {
		return nil, err
	}
	return parseBatchJSON(body)
}

// parseBatchJSON is ParseBatch by way of encoding/json: the reference for
// decodeBatch, and the route that says what is wrong with a body.
func parseBatchJSON(body []byte) ([]Op, error) {
	var req map[string]json.RawMessage
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, invalidf("body is not a JSON object: %v", jsonProblem(err))
	}

	raw, ok := req["batch"]
	if !ok {
		return nil, invalidf("body has no \"batch\" array")
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil || items == nil {
		return nil, invalidf("\"batch\" is not an array")
	}

	ops := make([]Op, len(items))
	for i, item := range items {
		op, err := parseOp(item, "")
		if err != nil {
			return nil, invalidf("op %d: %v", i, err)
		}
		ops[i] = op
	}
	return ops, nil
}

// ParseOne reads the body of a single-op request, {"table", "id", "data"},
// whose kind comes from the HTTP method. An error wraps ErrInvalidRequest.
func ParseOne(kind hooks.Kind, body []byte) (Op, error) {
	// Op.Raw keeps the op's bytes; the caller's buffer may be reused.
	op, err := parseOp(bytes.Clone(body), kind)
	if err != nil {
		return Op{}, invalidf("%v", err)
	}
	return op, nil
}

// parseOp reads one op. kind, when set, is the op's kind and "op" is not
// required.
func parseOp(raw json.RawMessage, kind hooks.Kind) (Op, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return Op{}, fmt.Errorf("not a JSON object: %v", err)
	}
	if fields == nil {
		return Op{}, fmt.Errorf("not a JSON object")
	}

	op := Op{Kind: kind, Raw: raw}
	steps := []func(map[string]json.RawMessage, *Op) error{
		readKind, readTable, readData, readID, readIDs, readMetadata,
	}
	for _, step := range steps {
		if err := step(fields, &op); err != nil {
			return Op{}, err
		}
	}
	return op, nil
}

func readKind(f map[string]json.RawMessage, op *Op) error {
	raw, ok := f["op"]
	if !ok {
		if op.Kind != "" {
			return nil
		}
		return fmt.Errorf("missing \"op\"")
	}

	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return fmt.Errorf("\"op\" is not a string")
	}
	switch k := hooks.Kind(strings.ToUpper(s)); k {
	case hooks.Put, hooks.Patch, hooks.Delete:
		if op.Kind != "" && op.Kind != k {
			return fmt.Errorf("\"op\" is %s but the request method is %s", k, op.Kind)
		}
		op.Kind = k
		return nil
	}
	return fmt.Errorf("unknown op %s (want PUT, PATCH or DELETE)", quoteShort(s))
}

func readTable(f map[string]json.RawMessage, op *Op) error {
	for _, key := range []string{"table", "type"} {
		raw, ok := f[key]
		if !ok || isNull(raw) {
			continue
		}
		var name string
		if err := json.Unmarshal(raw, &name); err != nil {
			return fmt.Errorf("%q is not a string", key)
		}
		switch {
		case name == "":
			return fmt.Errorf("%q is empty", key)
		case op.Table != "" && op.Table != name:
			return fmt.Errorf("\"table\" and \"type\" name different collections")
		}
		op.Table = name
	}
	if op.Table == "" {
		return fmt.Errorf("missing \"table\" (or \"type\")")
	}
	return nil
}

func readData(f map[string]json.RawMessage, op *Op) error {
	for _, key := range []string{"data", "opData", "op_data"} {
		raw, ok := f[key]
		if !ok || isNull(raw) {
			continue
		}
		if countValues(raw) > maxValues {
			op.tooManyValues = true
			return nil
		}
		v, err := decodeJSON(raw)
		if err != nil {
			return fmt.Errorf("%q: %v", key, err)
		}
		if _, ok := v.(map[string]any); !ok {
			return fmt.Errorf("%q is not an object", key)
		}
		op.Data = raw
		return nil
	}
	return nil
}

func readID(f map[string]json.RawMessage, op *Op) error {
	id, err := idString(f["id"])
	if err != nil {
		return err
	}
	if id == "" && op.Data != nil {
		if id, err = dataID(op); err != nil {
			return err
		}
	}
	if id == "" {
		return fmt.Errorf("missing \"id\"")
	}
	op.ID = id
	return nil
}

// readIDs reads the optional op_id and transaction id.
func readIDs(f map[string]json.RawMessage, op *Op) error {
	if raw, ok := f["op_id"]; ok && !isNull(raw) {
		op.OpID = raw
	}
	for _, key := range []string{"tx_id", "transactionId"} {
		raw, ok := f[key]
		if !ok || isNull(raw) {
			continue
		}
		id, err := idString(raw)
		if err != nil {
			return fmt.Errorf("%q: %v", key, err)
		}
		op.TxID = id
		return nil
	}
	return nil
}

func readMetadata(f map[string]json.RawMessage, op *Op) error {
	raw, ok := f["metadata"]
	if !ok || isNull(raw) {
		return nil
	}
	if err := json.Unmarshal(raw, &op.Metadata); err != nil {
		// PowerSync sends a string; keep any other JSON as its text.
		op.Metadata = string(raw)
	}
	return nil
}

// idString reads an id sent as a JSON string or number.
func idString(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || isNull(raw) {
		return "", nil
	}
	v, err := decodeJSON(raw)
	if err != nil {
		return "", err
	}
	return idValue(v)
}

// dataID reads the row id from the op's data, where the single-op routes
// of the demo backends send it.
func dataID(op *Op) (string, error) {
	values, err := op.Values()
	if err != nil {
		return "", err
	}
	return idValue(values["id"])
}

func idValue(v any) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	}
	return "", fmt.Errorf("\"id\" is not a string or number")
}

// decodeText is decodeJSON for text: the jsonReader decodes it, and
// decodeJSON says what is wrong where the reader gives up.
func decodeText(s string) (any, error) {
	r := &jsonReader{s: s, stop: len(s)}
	if v, ok := r.value(0); ok {
		if r.ws(); r.i == len(s) {
			return v, nil
		}
	}
	return decodeJSON([]byte(s))
}

// decodeJSON decodes one JSON value, keeping numbers exact as json.Number.
func decodeJSON(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()

	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("invalid JSON: %v", jsonProblem(err))
	}
	// More is false before a closing bracket or brace, which must not
	// end the text either.
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("invalid JSON: trailing data")
	}
	return v, nil
}

func isNull(raw json.RawMessage) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}

// jsonProblem describes a JSON syntax error without quoting the input.
func jsonProblem(err error) string {
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		return fmt.Sprintf("%s at byte %d", syntax.Error(), syntax.Offset)
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		return "unexpected " + typ.Value
	}
	return err.Error()
}

// requestError is a malformed request; its text is meant for the client.
type requestError struct{ msg string }

func (e *requestError) Error() string        { return e.msg }
func (e *requestError) Is(target error) bool { return target == ErrInvalidRequest }

func invalidf(format string, args ...any) error {
	return &requestError{msg: fmt.Sprintf(format, args...)}
}

// countValues counts, without decoding, the values of arrays and objects in
// raw, JSON that is not yet known to be valid: the commas outside strings.
func countValues(raw []byte) int {
	n, inString, escaped := 0, false, false
	for _, c := range raw {
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case !inString && c == ',':
			n++
		}
	}
	return n
}
