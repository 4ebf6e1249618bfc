package mongoapply

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseBatch checks that no body makes ParseBatch panic, that every
// error is ErrInvalidRequest, and that every op it returns is complete.
// go test runs the seeds; go test -fuzz FuzzParseBatch explores.
func FuzzParseBatch(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("..", "handlers", "testdata", "sdk", "*-tx*.json"))
	for _, path := range seeds {
		if b, err := os.ReadFile(path); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"batch":[{"op":"PUT","table":"t","data":{"id":1,"a":{"b":[1,"x",null]}}}]}`))
	f.Add([]byte(`{"batch":[{"op":"patch","type":"t","id":"a","tx_id":"x","opData":{"$x":1}}]}`))

	f.Fuzz(func(t *testing.T, body []byte) {
		ops, err := ParseBatch(body)
		if err != nil {
			if !errors.Is(err, ErrInvalidRequest) {
				t.Fatalf("ParseBatch(%q) = %v, not ErrInvalidRequest", body, err)
			}
			return
		}
		for i, op := range ops {
			if op.Kind == "" || op.Table == "" || op.ID == "" || len(op.Raw) == 0 {
				t.Fatalf("ParseBatch(%q): op %d incomplete: %+v", body, i, op)
			}
		}
	})
}
