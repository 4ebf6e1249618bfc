package devstore

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestBirthTimeTellsRecreatedFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db.sqlite")

	create := func() {
		t.Helper()
		if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
			t.Fatalf("writing %s: %v", path, err)
		}
	}

	create()
	first := birthTime(path)
	if first == 0 {
		t.Skip("this system or file system records no birth time")
	}

	if got := birthTime(path); got != first {
		t.Errorf("birthTime(%s) changed from %d to %d without a new file", path, first, got)
	}

	// File times come from a coarse clock: a file created in the same few
	// milliseconds as the one it replaces may share its birth time, but
	// then the old one was younger than the indexer touches anyway.
	time.Sleep(20 * time.Millisecond)

	if err := os.Remove(path); err != nil {
		t.Fatalf("removing %s: %v", path, err)
	}
	create()

	if got := birthTime(path); got == first {
		t.Errorf("birthTime(%s) = %d for a new file in the place of the old, want another", path, got)
	}
}
