package cli

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// staticBinary is psmongo built once for the package's tests that run it as
// a process.
var staticBinary struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

// buildStatic returns psmongo built with cgo off, once per test run, into a
// directory that TestMain removes. Unlike the Dockerfile it keeps file paths:
// -trimpath would rebuild every dependency, minutes on a cold build cache,
// where cgo off rebuilds few.
func buildStatic(t *testing.T) string {
	t.Helper()
	b := &staticBinary
	b.once.Do(func() {
		if b.dir, b.err = os.MkdirTemp("", "psmongo-bin-"); b.err != nil {
			return
		}
		b.bin = filepath.Join(b.dir, "psmongo")
		cmd := exec.Command("go", "build", "-o", b.bin, "github.com/psmongo/psmongo")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("CGO_ENABLED=0 go build: %v\n%s", err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.bin
}

// removeStaticBinary removes what buildStatic built.
func removeStaticBinary() {
	if staticBinary.dir != "" {
		_ = os.RemoveAll(staticBinary.dir)
	}
}

// BuildStatic is buildStatic for the package's external tests.
var BuildStatic = buildStatic

// RemoveStaticBinary is removeStaticBinary for the package's TestMain.
var RemoveStaticBinary = removeStaticBinary
