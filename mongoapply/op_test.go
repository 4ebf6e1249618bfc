package mongoapply

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/psmongo/psmongo/hooks"
)

func TestParseBatchShapes(t *testing.T) {
	tests := []struct {
		name string
		op   string
		want Op
	}{
		{
			name: "SDK toJSON",
			op:   `{"op_id":3,"op":"PUT","type":"todos","id":"a","tx_id":3,"data":{"n":1},"metadata":"m"}`,
			want: Op{Kind: hooks.Put, Table: "todos", ID: "a", TxID: "3", OpID: json.RawMessage(`3`),
				Data: json.RawMessage(`{"n":1}`), Metadata: "m"},
		},
		{
			name: "demo connector",
			op:   `{"table":"todos","op":"PATCH","id":"a","data":{"n":null}}`,
			want: Op{Kind: hooks.Patch, Table: "todos", ID: "a", Data: json.RawMessage(`{"n":null}`)},
		},
		{
			name: "opData and transactionId",
			op:   `{"op":"PUT","table":"t","id":"a","opData":{"x":"y"},"transactionId":"tx9"}`,
			want: Op{Kind: hooks.Put, Table: "t", ID: "a", TxID: "tx9", Data: json.RawMessage(`{"x":"y"}`)},
		},
		{
			name: "op_data and previous values",
			op:   `{"op":"put","table":"t","id":"a","op_data":{"x":1},"previousValues":{"x":0}}`,
			want: Op{Kind: hooks.Put, Table: "t", ID: "a", Data: json.RawMessage(`{"x":1}`)},
		},
		{
			name: "id in data",
			op:   `{"op":"PUT","table":"t","data":{"id":"d1","x":1}}`,
			want: Op{Kind: hooks.Put, Table: "t", ID: "d1", Data: json.RawMessage(`{"id":"d1","x":1}`)},
		},
		{
			name: "numeric id",
			op:   `{"op":"DELETE","table":"t","id":12345678901234567890}`,
			want: Op{Kind: hooks.Delete, Table: "t", ID: "12345678901234567890"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ops, err := ParseBatch([]byte(`{"batch":[` + tt.op + `]}`))
			if err != nil {
				t.Fatalf("ParseBatch(%s): %v", tt.op, err)
			}
			if diff := cmp.Diff(tt.want, ops[0], cmpopts.IgnoreFields(Op{}, "Raw"), cmp.AllowUnexported(Op{})); diff != "" {
				t.Errorf("ParseBatch(%s) mismatch (-want +got):\n%s", tt.op, diff)
			}
			if string(ops[0].Raw) != tt.op {
				t.Errorf("Raw = %s, want the op as sent", ops[0].Raw)
			}
		})
	}
}

func TestParseBatchRefuses(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string
	}{
		{"not JSON", `{"batch":[`, "body is not a JSON object"},
		{"array body", `[]`, "body is not a JSON object"},
		{"no batch", `{"ops":[]}`, `no "batch" array`},
		{"batch not array", `{"batch":{}}`, `"batch" is not an array`},
		{"batch null", `{"batch":null}`, `"batch" is not an array`},
		{"op not object", `{"batch":[1]}`, "op 0: not a JSON object"},
		{"missing op", `{"batch":[{"table":"t","id":"a"}]}`, `op 0: missing "op"`},
		{"unknown op", `{"batch":[{"op":"UPSERT","table":"t","id":"a"}]}`, `op 0: unknown op "UPSERT"`},
		{"missing table", `{"batch":[{"op":"PUT","id":"a"}]}`, `op 0: missing "table"`},
		{"empty table", `{"batch":[{"op":"PUT","table":"","id":"a"}]}`, `op 0: "table" is empty`},
		{"table and type differ", `{"batch":[{"op":"PUT","table":"a","type":"b","id":"a"}]}`, `name different collections`},
		{"missing id", `{"batch":[{"op":"PUT","table":"t","id":"a"},{"op":"PUT","table":"t","data":{}}]}`, `op 1: missing "id"`},
		{"id object", `{"batch":[{"op":"PUT","table":"t","id":{}}]}`, `op 0: "id" is not a string or number`},
		{"data array", `{"batch":[{"op":"PUT","table":"t","id":"a","data":[1]}]}`, `op 0: "data" is not an object`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseBatch([]byte(tt.body))
			if !errors.Is(err, ErrInvalidRequest) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseBatch(%s) = %v, want ErrInvalidRequest with %q", tt.body, err, tt.want)
			}
		})
	}
}

func TestParseOne(t *testing.T) {
	op, err := ParseOne(hooks.Patch, []byte(`{"table":"t","data":{"id":"x","n":1}}`))
	if err != nil || op.Kind != hooks.Patch || op.ID != "x" {
		t.Errorf("ParseOne = %+v, %v; want a PATCH of x", op, err)
	}
	_, err = ParseOne(hooks.Put, []byte(`{"op":"DELETE","table":"t","id":"x"}`))
	if !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("ParseOne with a conflicting op = %v, want ErrInvalidRequest", err)
	}
}

func TestSplitUnits(t *testing.T) {
	ops := []Op{{TxID: "1"}, {TxID: "1"}, {TxID: "2"}, {}, {}, {TxID: "3"}}
	want := []unit{{0, 2}, {2, 3}, {3, 5}, {5, 6}}
	if diff := cmp.Diff(want, splitUnits(ops), cmp.AllowUnexported(unit{})); diff != "" {
		t.Errorf("splitUnits mismatch (-want +got):\n%s", diff)
	}
}
