package mongoapply

import (
	"strings"
	"testing"
)

// TestPlanDirectLeavesDeepObjects checks that the direct route gives up
// on objects nested past maxDirectObjectDepth, whose members it would
// read once per object around them, and that the long route takes them.
func TestPlanDirectLeavesDeepObjects(t *testing.T) {
	a := directApplier(t, false)
	for _, tc := range []struct {
		data string
		want bool // the direct route takes it
	}{
		{`{"o":` + nestedObject(maxDirectObjectDepth-1) + `}`, true},
		{`{"o":` + nestedObject(maxDirectObjectDepth) + `}`, false},
		{`{"o":[[` + nestedObject(maxDirectObjectDepth-3) + `]]}`, true},
		{`{"o":[[` + nestedObject(maxDirectObjectDepth-2) + `]]}`, false},
		{`{"a":[` + nestedArray(20) + `]}`, true},
	} {
		ops, err := ParseBatch([]byte(`{"batch":[{"op":"PUT","table":"t","id":"a","data":` + tc.data + `}]}`))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := a.planDirect("user", &ops[0], Collection{}, new([]byte)); ok != tc.want {
			t.Errorf("%s: direct route took it: %v, want %v", tc.data, ok, tc.want)
		}
		if _, r := a.planLong(t.Context(), "user", &ops[0], Collection{}); r != nil {
			t.Errorf("%s: the long route refused it: %s %s", tc.data, r.code, r.message)
		}
	}
}

// nestedObject returns a JSON object of n levels.
func nestedObject(n int) string {
	return strings.Repeat(`{"o":`, n-1) + `{"v":1}` + strings.Repeat("}", n-1)
}
