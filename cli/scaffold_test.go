package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/psmongo/psmongo/devstore"
)

func TestParseFields(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    map[string]string
		wantErr string
	}{
		{"empty", "", map[string]string{}, ""},
		{"two", "done:bool, due : date", map[string]string{"done": "bool", "due": "date"}, ""},
		{"colon in name", "a:b:string", map[string]string{"a:b": "string"}, ""},
		{"no type", "done", nil, `"done" is not name:type`},
		{"twice", "a:int,a:long", nil, `field "a" is given twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseFields(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("parseFields(%q): got error %v, want %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseFields(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseFields(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestScaffoldCollection(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "config.yaml")
	const before = "# Collections.\ncollections:\n  lists: {}\n"
	if err := os.WriteFile(config, []byte(before), 0o644); err != nil {
		t.Fatal(err)
	}
	hook := filepath.Join(dir, "hooks", "todo_items.go")

	out := runScaffoldCommand(t, dir, "todo-items", "--fields", "done:bool,title:string")
	for _, want := range []string{
		"wrote " + hook + "\n",
		"wrote " + filepath.Join(dir, "hooks", "todo_items_test.go") + "\n",
		config + ": added collections.todo-items:\n",
		"      done: bool\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	firstHook, firstConfig := readFile(t, hook), readFile(t, config)

	err := scaffoldError(t, dir, "todo-items", "--fields", "done:bool")
	if err == nil || !strings.Contains(err.Error(), "use --force") {
		t.Errorf("second run: got %v, want an error asking for --force", err)
	}
	if readFile(t, hook) != firstHook || readFile(t, config) != firstConfig {
		t.Error("second run without --force changed files")
	}

	out = runScaffoldCommand(t, dir, "todo-items", "--fields", "done:bool", "--force")
	if !strings.Contains(out, ": replaced collections.todo-items:") {
		t.Errorf("forced run: output lacks the replaced entry:\n%s", out)
	}
	if readFile(t, hook) == firstHook {
		t.Error("forced run left the hook as it was")
	}
	if got := readFile(t, config); !strings.HasPrefix(got, before) {
		t.Errorf("config lost its first lines:\n%s", got)
	}
}

func TestScaffoldCollectionFromMongo(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded store")
	}
	for _, env := range []string{"MONGO_URI", "PSMONGO_MONGODB_URI", "PSMONGO_MONGODB_DATABASE"} {
		t.Setenv(env, "")
	}

	store, err := devstore.Start(t.Context(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	client, err := mongo.Connect(t.Context(), options.Client().ApplyURI(store.URI()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Disconnect(context.Background()) })

	docs := []any{
		bson.D{{Key: "_id", Value: "1"}, {Key: "title", Value: "a"}, {Key: "done", Value: true},
			{Key: "id", Value: "1"}, {Key: "created_by", Value: "u1"}},
		bson.D{{Key: "_id", Value: "2"}, {Key: "title", Value: int32(2)}, {Key: "n", Value: int32(1)}},
		bson.D{{Key: "_id", Value: "3"}, {Key: "title", Value: "c"}, {Key: "n", Value: 1.5}},
	}
	coll := client.Database("scaffold").Collection("todos")
	if _, err := coll.InsertMany(t.Context(), docs); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	config := filepath.Join(dir, "config.yaml")
	yaml := "mongodb:\n  uri: " + store.URI() + "\n  database: scaffold\n"
	if err := os.WriteFile(config, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}

	out := runScaffoldCommand(t, dir, "todos", "--from-mongo", "--owner-field", "created_by",
		"--fields", "due:date")
	for _, want := range []string{
		"fields from a sample of up to 100 documents of todos\n",
		`  field "n" seen as double 1, int 1: typed double` + "\n",
		`  field "title" seen as string 2, int 1: typed string` + "\n",
		`  field "id" left out: field "id" is the document id, not a field` + "\n",
		"    fields:\n      created_by: string\n      done: bool\n      due: date\n" +
			"      n: double\n      title: string\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestScaffoldCollectionRefuses(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"system collection", []string{"system.views"}, "system collection"},
		{"bad type", []string{"todos", "--fields", "a:text"}, `unknown type "text"`},
		{"bad field", []string{"todos", "--fields", "_id:string"}, "document id"},
		{"bad put", []string{"todos", "--put", "upsert"}, "unknown put mode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			err := scaffoldError(t, dir, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("scaffold collection %v: got %v, want %q", tt.args, err, tt.wantErr)
			}
			if entries, _ := os.ReadDir(dir); len(entries) > 0 {
				t.Errorf("scaffold collection %v wrote %d entries", tt.args, len(entries))
			}
		})
	}
}

// scaffoldCommand returns "scaffold collection --dir dir args...", ready to
// run, and the buffer that takes its output.
func scaffoldCommand(t *testing.T, dir string, args ...string) (*cobra.Command, *bytes.Buffer) {
	t.Helper()

	cmd := newScaffoldCommand()
	cmd.SetArgs(append([]string{"collection", "--dir", dir}, args...))
	out := new(bytes.Buffer)
	cmd.SetOut(out)
	cmd.SetErr(out)
	cmd.SetContext(t.Context())
	return cmd, out
}

// runScaffoldCommand runs "scaffold collection" and returns its output.
func runScaffoldCommand(t *testing.T, dir string, args ...string) string {
	t.Helper()

	cmd, out := scaffoldCommand(t, dir, args...)
	if err := cmd.Execute(); err != nil {
		t.Fatalf("scaffold collection %v: %v\n%s", args, err, out)
	}
	return out.String()
}

// scaffoldError runs "scaffold collection" and returns its error.
func scaffoldError(t *testing.T, dir string, args ...string) error {
	t.Helper()

	cmd, _ := scaffoldCommand(t, dir, args...)
	return cmd.Execute()
}

func readFile(t *testing.T, name string) string {
	t.Helper()

	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
