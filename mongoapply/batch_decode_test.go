package mongoapply

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// decodeSeeds are bodies that probe the corners where a hand-written
// decoder and encoding/json could part: escapes, surrogates, invalid
// UTF-8, numbers, nulls, keys given twice, the keys' priorities.
var decodeSeeds = []string{
	`{"batch":[]}`,
	` { "batch" : [ { "op" : "PUT" , "table" : "t" , "id" : "a" , "data" : { "x" : [ 1 , -2.5e+3 , 0.0 , true , null ] } } ] } `,
	`{"x":{"y":[1,{"z":"\u00e9"}]},"batch":[{"op":"put","type":"t","id":7,"opData":{"n":1}}],"z":null}`,
	`{"batch":[{"op":"PATCH","type":"t","table":"t","id":"a","op_data":{"s":"a\"b\\c\/d\b\f\n\r\t"}}]}`,
	`{"batch":[{"op":"PUT","table":"t","id":"a","data":{"s":"\ud83d\ude00 \ud800 \udc00 \ud800\u0041 \uDFFF"}}]}`,
	"{\"batch\":[{\"op\":\"PUT\",\"table\":\"t\",\"id\":\"a\",\"data\":{\"k\xff\":\"v\xc3\x28\xed\xa0\x80\"}}]}",
	`{"batch":[{"op":"PUT","table":"t","data":{"id":"d","id2":1}},{"op":"DELETE","table":"t","id":"","data":{"id":12}}]}`,
	`{"batch":[{"op":"PUT","table":"t","id":"a","tx_id":null,"transactionId":"x","data":null,"opData":{"a":1}}]}`,
	`{"batch":[{"transactionId":"x","tx_id":3,"op":"PUT","table":"t","id":"a","metadata":{"m":1}}]}`,
	`{"batch":[{"op":"PUT","table":"t","id":"a","metadata":"m\u0000","op_id":  {"a":[1]} ,"old":{"x":1}}]}`,
	`{"batch":[{"op":"PUT","table":"t","id":"a","data":{"a":1,"a":2}}]}`,
	`{"batch":[{"op":"PUT","op":"PUT","table":"t","id":"a"}]}`,
	`{"batch":[],"batch":[{"op":"PUT","table":"t","id":"a"}]}`,
	`{"bat\u0063h":[{"op":"PUT","t\u0061ble":"t","id":"a"}]}`,
	`{"batch":[{"op":"PUT","table":"t","id":-0.5e-7}]}`,
	`{"batch":[{"op":null,"table":"t","id":"a"}]}`,
	`{"batch":[{"op":"PUT","table":"","type":"t","id":"a"}]}`,
	`{"batch":[{"op":"PUT","table":"t","id":"a","data":[1]}]}`,
	`{"batch":[{"op":"PUT","table":"t","id":"a","data":{"n":01}}]}`,
	`{"batch":[{"op":"PUT","table":"t","id":"a","data":{"n":1.}}]}`,
	`{"batch":[{"op":"PUT","table":"t","id":"a"},]}`,
	`{"batch":[{"op":"PUT","table":"t","id":"a"}]} x`,
	`{"batch":null}`,
	`null`,
	`[]`,
	"{\"batch\":[{\"op\":\"PUT\",\"table\":\"t\",\"id\":\"a\",\"data\":{\"s\":\"\t\"}}]}",
	`{"batch":[{"op":"PUT","table":"t","id":"a","data":{"s":"\x"}}]}`,
	`{"batch":[{"op":"PUT","table":"t","id":"a","data":{"s":"\u12"}}]}`,
	`{"batch":[{"op":"PUT","table":"t","id":"a","data":{"a":[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]}}]}`,
}

// FuzzDecodeBatch holds the one-pass decoder to encoding/json's route: on
// every body it accepts, both give the same ops. go test runs the seeds;
// go test -fuzz FuzzDecodeBatch explores.
func FuzzDecodeBatch(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("..", "handlers", "testdata", "sdk", "*-tx*.json"))
	for _, path := range seeds {
		if b, err := os.ReadFile(path); err == nil {
			f.Add(b)
		}
	}
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Add(todoBatch("sdk", 3, 0))
	f.Add(todoBatch("connector", 3, 0))

	f.Fuzz(func(t *testing.T, body []byte) {
		fast, ok := decodeBatch(body, 0)
		if !ok {
			return
		}
		want, err := parseBatchJSON(body)
		if err != nil {
			t.Fatalf("decodeBatch accepts %q, encoding/json refuses it: %v", body, err)
		}
		if diff := cmp.Diff(want, fast, cmp.AllowUnexported(Op{})); diff != "" {
			t.Fatalf("decodeBatch(%q) mismatch (-encoding/json +decodeBatch):\n%s", body, diff)
		}
	})
}

// TestDecodeBatchTakesRealUploads checks that what clients send takes the
// fast route, not encoding/json's.
func TestDecodeBatchTakesRealUploads(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("..", "handlers", "testdata", "sdk", "*-tx*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no recorded uploads: %v", err)
	}
	bodies := map[string][]byte{"todos sdk": todoBatch("sdk", 100, 0), "todos connector": todoBatch("connector", 100, 0)}
	for _, path := range paths {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		bodies[filepath.Base(path)] = b
	}
	for name, body := range bodies {
		if _, ok := decodeBatch(body, 0); !ok {
			t.Errorf("%s: decodeBatch gives up on it", name)
		}
	}
}

// TestDecodeBatchGivesUp checks that bodies ParseBatch refuses, or that
// only encoding/json settles, are left to it.
func TestDecodeBatchGivesUp(t *testing.T) {
	for _, body := range []string{
		`{"batch":[{"op":"PUT","table":"t","id":"a"},]}`,
		`{"batch":null}`,
		`{"batch":[{"op":"MERGE","table":"t","id":"a"}]}`,
		`{"batch":[{"op":"PUT","op":"PUT","table":"t","id":"a"}]}`,
		`{"batch":[{"op":"PUT","table":"t","id":{}}]}`,
		`{"batch":[{"op":"PUT","table":"t","data":{"id":true}}]}`,
		`{"batch":[{"op":"PUT","table":"t","id":"a","data":{"v":[` + strings.Repeat("[", maxReadDepth) + `]}}]}`,
	} {
		if ops, ok := decodeBatch([]byte(body), 0); ok {
			t.Errorf("decodeBatch(%.80s) = %+v, want it to give up", body, ops)
		}
	}
}

// TestDecodeBatchLeavesLargeDataToCount gives data longer than maxValues
// bytes: the decoder leaves it to ParseBatch, which counts its values.
func TestDecodeBatchLeavesLargeDataToCount(t *testing.T) {
	body := `{"batch":[{"op":"PUT","table":"t","id":"a","data":{"s":"` + strings.Repeat("x", maxValues) + `"}}]}`
	if _, ok := decodeBatch([]byte(body), 0); ok {
		t.Error("decodeBatch decodes data longer than maxValues bytes")
	}
	ops, err := ParseBatch([]byte(body))
	if err != nil || len(ops) != 1 {
		t.Fatalf("ParseBatch = %d ops, %v; want the op", len(ops), err)
	}
	if values, err := ops[0].Values(); err != nil || values["s"] != strings.Repeat("x", maxValues) {
		t.Errorf("the op's values = %.40v, %v; want its string", values, err)
	}
}
