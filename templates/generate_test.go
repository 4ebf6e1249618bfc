package templates

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// allTypes names a field of every field type.
var allTypes = map[string]string{
	"completed":  "bool",
	"created_at": "date",
	"position":   "int",
	"views":      "long",
	"score":      "double",
	"price":      "decimal",
	"meta":       "object",
	"tags":       "array",
	"list_id":    "objectid",
	"title":      "string",
	"created_by": "string",
}

// generateCases are the specs whose output is kept under
// testdata/generate/<dir>.
var generateCases = []struct {
	dir  string
	spec Spec
}{
	{"todos", Spec{Name: "todos", OwnerField: "created_by", Fields: allTypes}},
	{"todo_items", Spec{Name: "todo-items", IDType: "uuid", Put: "merge",
		Fields: map[string]string{"description": "string", "done": "bool"}}},
	{"2024_logs", Spec{Name: "2024_logs", IDType: "objectid",
		Fields: map[string]string{"at": "date", "level": "int", "odd \"name\"": "string"}}},
	{"lists", Spec{Name: "lists"}},
	{"events_windows", Spec{Name: "events_windows", Fields: map[string]string{"seen": "bool"}}},
	{"odd_name", Spec{Name: `Menus "du jour" \ 2`,
		Fields: map[string]string{"prix €": "decimal", `a\b`: "objectid"}}},
}

func TestGenerate(t *testing.T) {
	for _, tt := range generateCases {
		t.Run(tt.dir, func(t *testing.T) {
			files, err := Generate(tt.spec)
			if err != nil {
				t.Fatalf("Generate(%+v): %v", tt.spec, err)
			}

			for _, f := range files {
				golden := filepath.Join("testdata", "generate", tt.dir, filepath.FromSlash(f.Path)+".golden")
				checkGolden(t, golden, f.Data)
			}
		})
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	spec := Spec{Name: "todos", Fields: allTypes}
	first, err := Generate(spec)
	if err != nil {
		t.Fatal(err)
	}

	// map order changes from run to run, so a few runs would show it
	for range 10 {
		again, err := Generate(spec)
		if err != nil {
			t.Fatal(err)
		}
		for i := range first {
			if !bytes.Equal(first[i].Data, again[i].Data) {
				t.Fatalf("%s differs between runs", first[i].Path)
			}
		}
	}
}

func TestGenerateErrors(t *testing.T) {
	tests := []struct {
		name    string
		spec    Spec
		wantErr string
	}{
		{"bad name", Spec{Name: "system.views"}, "system collection"},
		{"dead letter", Spec{Name: "powersync_rejected_writes"}, "is the dead-letter collection"},
		{"id type", Spec{Name: "a", IDType: "int"}, `unknown id type "int"`},
		{"put mode", Spec{Name: "a", Put: "upsert"}, `unknown put mode "upsert"`},
		{"field type", Spec{Name: "a", Fields: map[string]string{"x": "text"}},
			`field "x" has unknown type "text"`},
		{"field id", Spec{Name: "a", Fields: map[string]string{"_id": "string"}}, "document id"},
		{"field operator", Spec{Name: "a", Fields: map[string]string{"$inc": "int"}}, "starts with $"},
		{"field path", Spec{Name: "a", Fields: map[string]string{"a.b": "int"}}, "contains a dot"},
		{"owner field name", Spec{Name: "a", OwnerField: "id"}, "owner field: "},
		{"owner field type", Spec{Name: "a", OwnerField: "by", Fields: map[string]string{"by": "int"}},
			"must be string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Generate(tt.spec)
			checkErr(t, tt.spec, err, tt.wantErr)
		})
	}
}

// TestGeneratedCode builds, vets and tests generated hooks in a copy of the
// module holding only the hooks package, offline.
func TestGeneratedCode(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go tool")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool in PATH")
	}

	dir := t.TempDir()
	for _, name := range []string{"go.mod", "go.sum", "hooks/hooks.go", "hooks/checks.go"} {
		copyFile(t, filepath.Join("..", name), filepath.Join(dir, name))
	}

	var funcs []string
	for _, tt := range generateCases {
		files, err := Generate(tt.spec)
		if err != nil {
			t.Fatal(err)
		}
		if err := WriteFiles(dir, files, false); err != nil {
			t.Fatal(err)
		}
		funcs = append(funcs, funcName(nameWords(tt.spec.Name)))
	}

	if gofmt, err := exec.LookPath("gofmt"); err == nil {
		if out := runTool(t, dir, gofmt, "-l", "hooks"); len(out) > 0 {
			t.Errorf("gofmt -l lists files:\n%s", out)
		}
	}
	runTool(t, dir, goTool, "vet", "./hooks/...")
	out := runTool(t, dir, goTool, "test", "-count=1", "-v", "./hooks/...")
	for _, fn := range funcs {
		want := "--- PASS: TestC" + strings.TrimPrefix(fn, "c") + " "
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("go test output lacks %q:\n%s", want, out)
		}
	}
}

// runTool runs a command in dir with the module cache it already has and no
// network, and returns its output; it fails t if the command fails.
func runTool(t *testing.T, dir, name string, args ...string) []byte {
	t.Helper()

	cmd := exec.CommandContext(t.Context(), name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off", "GOTOOLCHAIN=local")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()

	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkGolden compares got with the golden file, or rewrites the golden
// file when the test runs with -update.
func checkGolden(t *testing.T, golden string, got []byte) {
	t.Helper()

	if *update {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}

	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: got\n%s\nwant\n%s", path.Base(golden), got, want)
	}
}
