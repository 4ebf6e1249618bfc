package mongoapply

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/psmongo/psmongo/devstore/devstoretest"
	"github.com/psmongo/psmongo/internal/cputime"
)

// The benchmarks' batches are what psmongo bench sends: 100 PUTs of rows
// of the demo apps' todos table, as SQLite holds them, in either shape.

// todoBatch returns a batch of n PUTs of todos, in the connector shape or
// the SDK's (CrudEntry.toJSON(), one transaction); round makes the ids new.
func todoBatch(shape string, n, round int) []byte {
	var b strings.Builder
	b.WriteString(`{"batch":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		id := fmt.Sprintf("%08x-0000-4000-8000-%012x", round, i)
		data := fmt.Sprintf(`{"completed":%d,"created_at":"2026-03-14 09:26:%02d",`+
			`"description":"renew passport water plants buy milk %03d",`+
			`"list_id":"0000beef-0000-4000-8000-%012x","tags":"[\"home\",\"urgent\"]"}`, i%2, i%60, i, i%10)
		if shape == "sdk" {
			fmt.Fprintf(&b, `{"op_id":%d,"op":"PUT","type":"todos","id":"%s","tx_id":%d,"data":%s}`,
				round*n+i+1, id, round+1, data)
			continue
		}
		fmt.Fprintf(&b, `{"table":"todos","op":"PUT","id":"%s","data":%s}`, id, data)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

var benchConfig = Config{Collections: map[string]Collection{"todos": {Fields: map[string]FieldType{
	"completed": FieldBool, "created_at": FieldDate, "tags": FieldArray,
}}}}

// benchApplier returns an Applier with benchConfig that needs MongoDB only
// for its database name: todos has no owner field, so nothing is read.
func benchApplier(b *testing.B) *Applier {
	return &Applier{db: devstoretest.Database(b), cfg: benchConfig, log: discardLogger()}
}

// perOp reports time and allocations per write op of batches of n ops,
// besides the per-batch figures; defer what it returns before b.Loop. The
// process's CPU time per op, GC included, is the figure to trust on a
// busy machine, where wall time grows with the other processes' load.
func perOp(b *testing.B, n int) func() {
	b.ReportAllocs()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu := cputime.Process()
	return func() {
		cpu = cputime.Process() - cpu
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		ops := float64(b.N * n)
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/ops, "ns/write")
		b.ReportMetric(float64(after.Mallocs-before.Mallocs)/ops, "allocs/write")
		if cpu > 0 {
			b.ReportMetric(float64(cpu.Nanoseconds())/ops, "cpu-ns/write")
		}
	}
}

func BenchmarkParseBatch(b *testing.B) {
	for _, shape := range []string{"connector", "sdk"} {
		b.Run(shape, func(b *testing.B) {
			body := todoBatch(shape, 100, 0)
			b.SetBytes(int64(len(body)))
			defer perOp(b, 100)()
			for b.Loop() {
				if _, err := ParseBatch(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRestore restores the types of each op's decoded data, as plan's
// long route does for ops the direct route leaves to it.
func BenchmarkRestore(b *testing.B) {
	ops, err := ParseBatch(todoBatch("connector", 100, 0))
	if err != nil {
		b.Fatal(err)
	}
	a := benchApplier(b)
	rules := benchConfig.Collections["todos"]
	defer perOp(b, len(ops))()
	sent := make([]map[string]any, len(ops))
	for i := range ops {
		sent[i], _ = ops[i].Values()
	}
	for b.Loop() {
		for i := range ops {
			if _, r := a.restoreData(sent[i], rules); r != nil {
				b.Fatal(r)
			}
		}
	}
}

// BenchmarkBuildStatements builds the statement of each op's write from
// restored data, as plan's long route does.
func BenchmarkBuildStatements(b *testing.B) {
	ops, err := ParseBatch(todoBatch("connector", 100, 0))
	if err != nil {
		b.Fatal(err)
	}
	a := benchApplier(b)
	rules := benchConfig.Collections["todos"]
	data := make([]map[string]any, len(ops))
	for i := range ops {
		sent, _ := ops[i].Values()
		data[i], _ = a.restoreData(sent, rules)
	}
	defer perOp(b, len(ops))()
	for b.Loop() {
		for i := range ops {
			if stmt, err := buildStatement(ops[i].Kind, rules, "u", rawValue(ops[i].ID), data[i], true); stmt == nil {
				b.Fatal("no statement", err)
			}
		}
	}
}

// BenchmarkPlan plans a unit of 100 ops: checks, restores and
// statements, on the direct route.
func BenchmarkPlan(b *testing.B) {
	ops, err := ParseBatch(todoBatch("connector", 100, 0))
	if err != nil {
		b.Fatal(err)
	}
	a := benchApplier(b)
	defer perOp(b, len(ops))()
	for b.Loop() {
		_, unlock, r, err := a.validate(b.Context(), "u", ops)
		unlock()
		if err != nil || r != nil {
			b.Fatal(err, r)
		}
	}
}

// BenchmarkDecodeRestorePlan is what psmongo spends on a batch before
// MongoDB is asked: decoding, restoring and planning, per shape.
func BenchmarkDecodeRestorePlan(b *testing.B) {
	for _, shape := range []string{"connector", "sdk"} {
		b.Run(shape, func(b *testing.B) {
			body := todoBatch(shape, 100, 0)
			a := benchApplier(b)
			defer perOp(b, 100)()
			for b.Loop() {
				ops, err := ParseBatch(body)
				if err != nil {
					b.Fatal(err)
				}
				_, unlock, r, err := a.validate(b.Context(), "u", ops)
				unlock()
				if err != nil || r != nil {
					b.Fatal(err, r)
				}
			}
		})
	}
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
		ops, err := ParseBatch(todoBatch("sdk", 100, round))
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
