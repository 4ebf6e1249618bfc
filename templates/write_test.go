package templates

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFilesRefusesToOverwrite(t *testing.T) {
	dir := t.TempDir()
	first := generate(t, Spec{Name: "todos", Fields: map[string]string{"title": "string"}})
	if err := WriteFiles(dir, first, false); err != nil {
		t.Fatalf("first write: %v", err)
	}

	// a changed spec, so that a write would show
	second := generate(t, Spec{Name: "todos", Fields: map[string]string{"done": "bool"}})
	err := WriteFiles(dir, second, false)
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second write: got %v, want fs.ErrExist", err)
	}
	checkFiles(t, dir, first)

	if err := WriteFiles(dir, second, true); err != nil {
		t.Fatalf("forced write: %v", err)
	}
	checkFiles(t, dir, second)
}

func TestWriteFilesWritesNothingIfOneExists(t *testing.T) {
	dir := t.TempDir()
	files := generate(t, Spec{Name: "todos"})
	writeTestFile(t, dir, files[1].Path, "package hooks\n")

	if err := WriteFiles(dir, files, false); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("got %v, want fs.ErrExist", err)
	}
	if _, err := os.Stat(filepath.Join(dir, files[0].Path)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s: got %v, want it not written", files[0].Path, err)
	}
}

func TestWriteFilesClashes(t *testing.T) {
	tests := []struct {
		name     string
		existing map[string]string // path to content
		spec     Spec
		force    bool
	}{
		{
			name: "two names, one file",
			existing: map[string]string{
				"hooks/todo_items.go": "package hooks\n\n" +
					"func init() { Register(\"todo_items\", checkTodoItems) }\n",
			},
			spec:  Spec{Name: "todo-items"},
			force: true,
		},
		{
			name: "collection registered elsewhere",
			existing: map[string]string{
				"hooks/tasks.go": "package hooks\n\n" +
					"func init() {\n\thooks.Register(\"todos\", checkTasks)\n}\n",
			},
			spec: Spec{Name: "todos"},
		},
		{
			name: "function declared elsewhere",
			existing: map[string]string{
				"hooks/helpers.go": "package hooks\n\nfunc checkTodos() {}\n",
			},
			spec: Spec{Name: "todos"},
		},
		{
			name: "test function declared elsewhere",
			existing: map[string]string{
				"hooks/old_test.go": "package hooks\n\nfunc TestCheckTodos() {}\n",
			},
			spec:  Spec{Name: "todos"},
			force: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for p, content := range tt.existing {
				writeTestFile(t, dir, p, content)
			}

			files := generate(t, tt.spec)
			if err := WriteFiles(dir, files, tt.force); !errors.Is(err, ErrClash) {
				t.Fatalf("WriteFiles(%s, force %v): got %v, want ErrClash", tt.spec.Name, tt.force, err)
			}
			for p, content := range tt.existing {
				got, _ := os.ReadFile(filepath.Join(dir, p))
				if string(got) != content {
					t.Errorf("%s changed:\n%s", p, got)
				}
			}
		})
	}
}

func TestWriteFilesNoClash(t *testing.T) {
	dir := t.TempDir()
	writeTestFile(t, dir, "hooks/hooks_test.go",
		"package hooks\n\nfunc init() { r.Register(\"todos\", nil) }\n\nfunc TestRegister() {}\n")
	writeTestFile(t, dir, "hooks/other.go", "package other\n\nfunc checkTodos() {}\n")
	writeTestFile(t, dir, "hooks/broken.go", "not go")

	if err := WriteFiles(dir, generate(t, Spec{Name: "todos"}), false); err != nil {
		t.Fatal(err)
	}
	if err := WriteFiles(dir, generate(t, Spec{Name: "lists"}), false); err != nil {
		t.Fatal(err)
	}
}

func TestWriteFilesOutsideDir(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"../x.go", "/abs/x.go", ""} {
		if err := WriteFiles(dir, []File{{Path: p}}, true); err == nil {
			t.Errorf("WriteFiles(%q): got nil, want an error", p)
		}
	}
}

func generate(t *testing.T, spec Spec) []File {
	t.Helper()

	files, err := Generate(spec)
	if err != nil {
		t.Fatalf("Generate(%+v): %v", spec, err)
	}
	return files
}

func writeTestFile(t *testing.T, dir, p, content string) {
	t.Helper()

	name := filepath.Join(dir, filepath.FromSlash(p))
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkFiles fails t unless each of files is in dir byte for byte.
func checkFiles(t *testing.T, dir string, files []File) {
	t.Helper()

	for _, f := range files {
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, f.Data) {
			t.Errorf("%s: got\n%s\nwant\n%s", f.Path, got, f.Data)
		}
	}
}
