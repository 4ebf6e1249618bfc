package keys

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestLoadOrCreateKeepsKey(t *testing.T) {
	for _, alg := range algs {
		t.Run(alg, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data", "keys")
			first := mustLoadOrCreate(t, dir, alg, true)
			token := mustIssue(t, mustSigner(t, first, time.Hour), "user-1", time.Now())

			checkMode(t, dir, 0o700)
			checkMode(t, filepath.Join(dir, keyFileName(alg)), 0o600)
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Errorf("key directory holds %d entries, want only the key file", len(entries))
			}

			// a restart
			second := mustLoadOrCreate(t, dir, alg, false)
			if second.ID != first.ID || second.Alg != alg {
				t.Errorf("after restart key is %s/%s, want %s/%s", second.ID, second.Alg, first.ID, alg)
			}
			got, err := mustSet(t, second).Verify(token, testAudience, time.Now())
			if err != nil || got != "user-1" {
				t.Errorf("token from before restart: Verify = %q, %v, want user-1", got, err)
			}
		})
	}
}

func TestLoadOrCreateKeepsOneKeyPerAlg(t *testing.T) {
	dir := t.TempDir()
	rsaKey := mustLoadOrCreate(t, dir, "", true)
	ecKey := mustLoadOrCreate(t, dir, ES256, true)

	if rsaKey.Alg != DefaultAlg || ecKey.Alg != ES256 || rsaKey.ID == ecKey.ID {
		t.Errorf("keys are %v and %v, want two keys of %s and %s", rsaKey, ecKey, DefaultAlg, ES256)
	}
	if again := mustLoadOrCreate(t, dir, RS256, false); again.ID != rsaKey.ID {
		t.Errorf("RS256 key after switching back = %s, want %s", again.ID, rsaKey.ID)
	}
}

func TestLoadOrCreateRefuses(t *testing.T) {
	damaged := t.TempDir()
	path := filepath.Join(damaged, keyFileName(RS256))
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		dir     string
		alg     string
		wantErr error
	}{
		{name: "damaged key file", dir: damaged, alg: RS256, wantErr: ErrKeyFormat},
		{name: "unsupported alg", dir: t.TempDir(), alg: "HS256", wantErr: ErrKeyAlgorithm},
		{name: "alg with a path in it", dir: t.TempDir(), alg: "../RS256", wantErr: ErrKeyAlgorithm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := LoadOrCreate(tt.dir, tt.alg)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("LoadOrCreate(%q) error = %v, want %v", tt.alg, err, tt.wantErr)
			}
		})
	}
}

// mustLoadOrCreate calls LoadOrCreate and checks whether it made a key.
func mustLoadOrCreate(t *testing.T, dir, alg string, wantCreated bool) *Key {
	t.Helper()
	k, created, err := LoadOrCreate(dir, alg)
	if err != nil {
		t.Fatalf("LoadOrCreate(%q): %v", alg, err)
	}
	if created != wantCreated {
		t.Errorf("LoadOrCreate(%q) created = %v, want %v", alg, created, wantCreated)
	}
	return k
}

// checkMode fails the test unless path has permission bits want.
func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatalf("stat: %v", err)
	}
	if got := info.Mode().Perm(); got != want {
		t.Errorf("mode of %s = %o, want %o", filepath.Base(path), got, want)
	}
}

func TestLoadOrCreateConcurrentStarts(t *testing.T) {
	dir := t.TempDir()
	ids := make([]string, 4)
	created := make([]bool, len(ids))

	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			k, c, err := LoadOrCreate(dir, ES256)
			if err != nil {
				t.Errorf("LoadOrCreate: %v", err)
				return
			}
			ids[i], created[i] = k.ID, c
		})
	}
	wg.Wait()

	if n := countTrue(created); n != 1 || slices.Contains(ids, "") {
		t.Errorf("concurrent starts created %d keys, want 1", n)
	}
	for _, id := range ids {
		if id != ids[0] {
			t.Errorf("concurrent starts got kids %v, want one kid", ids)
			break
		}
	}
}

func countTrue(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}
