package mongoapply

import (
	"fmt"
	"strings"
	"testing"

	"github.com/psmongo/psmongo/devstore/devstoretest"
)

// benchBatch returns a batch of n ops shaped like an SDK upload: PUTs of
// todos with typed fields, every fourth op a PATCH, one tx_id per 10 ops.
func benchBatch(n, round int) []byte {
	var b strings.Builder
	b.WriteString(`{"batch":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		id := fmt.Sprintf("%08d-0000-4000-8000-000000000000", i)
		if i%4 == 3 {
			fmt.Fprintf(&b, `{"op_id":%d,"op":"PATCH","type":"todos","id":"%s","tx_id":%d,"data":{"completed":1,"completed_at":"2026-12-04 15:55:11"}}`,
				i, fmt.Sprintf("%08d-0000-4000-8000-000000000000", i-1), round*n+i/10)
			continue
		}
		fmt.Fprintf(&b, `{"op_id":%d,"op":"PUT","type":"todos","id":"%s","tx_id":%d,"data":{"completed":0,"created_at":"2026-12-04 15:55:11","description":"Buy milk %d","list_id":"l1","priority":%d,"tags":"[\"a\",\"b\"]","due":1717171717.5}}`,
			i, id, round*n+i/10, i, i)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

var benchConfig = Config{Collections: map[string]Collection{"todos": {Fields: map[string]FieldType{
	"completed": FieldBool, "completed_at": FieldDate, "created_at": FieldDate,
	"priority": FieldLong, "tags": FieldArray, "due": FieldDouble,
}}}}

func BenchmarkParseBatch(b *testing.B) {
	body := benchBatch(100, 0)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := ParseBatch(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidate measures validation and type restoration without
// MongoDB: the todos collection has no owner field, so no read is made.
func BenchmarkValidate(b *testing.B) {
	ops, err := ParseBatch(benchBatch(100, 0))
	if err != nil {
		b.Fatal(err)
	}
	a := &Applier{cfg: benchConfig, log: discardLogger()}
	for b.Loop() {
		if _, r, err := a.validate(b.Context(), "u", ops); err != nil || r != nil {
			b.Fatal(err, r)
		}
	}
	b.ReportMetric(float64(b.N*len(ops))/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkApply applies 100-op batches to the test deployment.
func BenchmarkApply(b *testing.B) {
	db := devstoretest.Database(b)
	a, err := New(b.Context(), db, benchConfig)
	if err != nil {
		b.Fatal(err)
	}
	round := 0
	for b.Loop() {
		b.StopTimer()
		ops, err := ParseBatch(benchBatch(100, round))
		round++
		b.StartTimer()
		if err != nil {
			b.Fatal(err)
		}
		res, err := a.Apply(b.Context(), "u", ops)
		if err != nil || res.Applied != 100 {
			b.Fatalf("Apply = %+v, %v", res, err)
		}
	}
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "ops/s")
}
