package cputime

import "testing"

func TestProcessGrowsWithWork(t *testing.T) {
	before := Process()
	if before == 0 {
		t.Skip("CPU time is not read on this system")
	}
	x := 0
	for i := range 50_000_000 {
		x += i % 7
	}
	if after := Process(); after < before || x < 0 {
		t.Errorf("CPU time went from %v to %v, want it not to fall", before, after)
	}
}
