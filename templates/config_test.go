package templates

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUpdateConfig(t *testing.T) {
	todos := Spec{Name: "todos", OwnerField: "created_by",
		Fields: map[string]string{"completed": "bool", "created_at": "date"}}

	tests := []struct {
		dir          string // under testdata/config, holding config.yaml and want.yaml
		spec         Spec
		wantReplaced bool
	}{
		{"missing_file", todos, false},
		{"empty_file", todos, false},
		{"comments_only", todos, false},
		{"no_collections", todos, false},
		{"null_collections", todos, false},
		{"empty_flow_collections", todos, false},
		{"add_entry", Spec{Name: "todo-items",
			Fields: map[string]string{"done": "bool", "title": "string"}}, false},
		{"replace_entry", Spec{Name: "todos", OwnerField: "created_by", Put: "merge",
			Fields: map[string]string{"completed": "bool", "created_at": "date", "title": "string"}}, true},
		{"replace_middle_entry", Spec{Name: "todos",
			Fields: map[string]string{"completed": "bool", "created_at": "date", "priority": "int"}}, true},
		{"crlf", todos, false},
		{"four_spaces", todos, false},
		{"flow_collections", todos, true},
		{"no_final_newline", todos, false},
		{"quoted_key", Spec{Name: "2024_logs", Fields: map[string]string{"at": "date"}}, true},
		{"int_key", Spec{Name: "2025", IDType: "objectid"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			dir := filepath.Join("testdata", "config", tt.dir)
			in, err := os.ReadFile(filepath.Join(dir, "config.yaml"))
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "config.yaml")
			if in != nil {
				copyFile(t, filepath.Join(dir, "config.yaml"), path)
			}

			got := updateConfig(t, path, tt.spec, tt.wantReplaced)
			checkGolden(t, filepath.Join(dir, "want.yaml"), got)
			checkComments(t, in, got)

			// a second run finds the entry and leaves the file as it is
			if again := updateConfig(t, path, tt.spec, true); !bytes.Equal(again, got) {
				t.Errorf("second run: got\n%s\nwant\n%s", again, got)
			}
		})
	}
}

func TestUpdateConfigErrors(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		spec    Spec
		wantErr string
	}{
		{"bad spec", "", Spec{Name: "$cmd"}, "contains $"},
		{"not yaml", "collections: [", Spec{Name: "todos"}, "editing"},
		{"top level list", "- a\n- b\n", Spec{Name: "todos"}, "top level is not a mapping"},
		{"collections list", "collections:\n  - todos\n", Spec{Name: "todos"},
			"collections is not a mapping"},
		{"two documents", "a: 1\n---\nb: 2\n", Spec{Name: "todos"}, "more than one YAML document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.yaml")
			if err := os.WriteFile(path, []byte(tt.in), 0o644); err != nil {
				t.Fatal(err)
			}

			_, err := UpdateConfig(path, tt.spec)
			checkErr(t, tt.in, err, tt.wantErr)
			if got, _ := os.ReadFile(path); string(got) != tt.in {
				t.Errorf("file changed to\n%s", got)
			}
		})
	}
}

func TestConfigEntry(t *testing.T) {
	got, err := ConfigEntry(Spec{Name: "todo-items", IDType: "uuid", OwnerField: "owner",
		Fields: map[string]string{"title": "string", "done": "bool"}})
	if err != nil {
		t.Fatal(err)
	}

	want := "todo-items:\n  id_type: uuid\n  owner_field: owner\n  put: replace\n" +
		"  fields:\n    done: bool\n    title: string\n"
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// updateConfig runs UpdateConfig and returns the file it leaves.
func updateConfig(t *testing.T, path string, spec Spec, wantReplaced bool) []byte {
	t.Helper()

	replaced, err := UpdateConfig(path, spec)
	if err != nil {
		t.Fatalf("UpdateConfig(%+v): %v", spec, err)
	}
	if replaced != wantReplaced {
		t.Errorf("UpdateConfig(%+v) replaced = %v, want %v", spec, replaced, wantReplaced)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// checkComments fails t unless every comment of in is still in out.
func checkComments(t *testing.T, in, out []byte) {
	t.Helper()

	for _, line := range strings.Split(string(in), "\n") {
		_, comment, ok := strings.Cut(line, "#")
		comment = strings.TrimSpace(comment)
		if ok && comment != "" && !bytes.Contains(out, []byte(comment)) {
			t.Errorf("comment %q is lost", comment)
		}
	}
}
