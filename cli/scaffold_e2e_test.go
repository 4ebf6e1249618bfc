package cli_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/psmongo/psmongo/app"
	"github.com/psmongo/psmongo/app/apptest"
	"github.com/psmongo/psmongo/cli"
	"github.com/psmongo/psmongo/devstore/devstoretest"
)

// TestMain starts the test deployment, unless the tests run with -short and
// none of them needs it.
func TestMain(m *testing.M) {
	flag.Parse()
	code := 0
	if testing.Short() {
		code = m.Run()
	} else {
		code = devstoretest.Main(m)
	}
	cli.RemoveStaticBinary()
	os.Exit(code)
}

// e2eConfig is the config.yaml of the copy: one collection with a comment
// above it, and unlisted collections refused, so that a scaffolded
// collection takes writes only through the entry the scaffolder adds.
const e2eConfig = `# psmongo configuration of the scaffolding test.
log:
  level: info

collections:
  # Shopping lists keep the JSON types their clients send.
  lists: {}

unlisted_collections: reject
`

// listsComment is the part of e2eConfig that scaffolding must keep.
const listsComment = "  # Shopping lists keep the JSON types their clients send.\n  lists: {}\n"

// hookEdit is the rule a user adds to the scaffolded hook of todo-items,
// above its field checks.
const hookEdit = `	if op.Data["title"] == "forbidden" {
		return Reject("TITLE_FORBIDDEN", "the title %q is not allowed", "forbidden")
	}

	return FirstError(
`

// TestScaffoldEndToEnd scaffolds collections into a copy of the module, builds
// and tests the result with the go tool, edits a hook as a user would, and
// checks that the rebuilt server enforces the hooks, the field types and
// ownership on uploads.
func TestScaffoldEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("copies the module, builds it twice and starts the server")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go tool in PATH")
	}
	db := devstoretest.Database(t)
	seedCollections(t, db)

	p := newProject(t, db.Name())
	p.scaffoldAll(t)
	p.checkRescaffoldKeepsFiles(t)
	p.checkConfigLoads(t)

	p.goTool(t, "build", "./...")
	p.goTool(t, "test", "./hooks/...")
	p.editHook(t, "hooks/todo_items.go")
	p.goTool(t, "test", "./hooks/...")
	p.goTool(t, "build", "-o", p.bin, ".")

	s := startServer(t, p)
	s.checkUploads(t, db)
}

// seedCollections fills the collections that --from-mongo reads: one with
// documents only, and, where the deployment allows validators, one with a
// $jsonSchema validator.
func seedCollections(t *testing.T, db *mongo.Database) {
	t.Helper()
	ctx := t.Context()

	when := time.Date(2026, 12, 4, 15, 55, 11, 0, time.UTC)
	plain := []any{
		bson.D{{Key: "_id", Value: "1"}, {Key: "name", Value: "Ann"}, {Key: "n", Value: int32(1)},
			{Key: "done", Value: true}, {Key: "at", Value: when}},
		bson.D{{Key: "_id", Value: "2"}, {Key: "name", Value: "Bob"}, {Key: "n", Value: int32(2)},
			{Key: "done", Value: false}},
	}
	if _, err := db.Collection("seeded_plain").InsertMany(ctx, plain); err != nil {
		t.Fatalf("seeding seeded_plain: %v", err)
	}
	if devstoretest.Embedded() {
		return // the embedded store refuses validators
	}

	schema := bson.D{{Key: "$jsonSchema", Value: bson.D{
		{Key: "bsonType", Value: "object"},
		{Key: "required", Value: bson.A{"title"}},
		{Key: "properties", Value: bson.D{
			{Key: "title", Value: bson.D{{Key: "bsonType", Value: "string"}}},
			{Key: "qty", Value: bson.D{{Key: "bsonType", Value: "int"}}},
			{Key: "due", Value: bson.D{{Key: "bsonType", Value: "date"}}},
		}},
	}}}
	opts := options.CreateCollection().SetValidator(schema)
	if err := db.CreateCollection(ctx, "seeded_validated", opts); err != nil {
		t.Fatalf("creating seeded_validated with a validator: %v", err)
	}
}

// project is a copy of the module, with the psmongo binary built from it.
type project struct {
	dir string   // the copy
	bin string   // psmongo built from the copy
	env []string // for the go tool and psmongo, on the test's database
}

// newProject copies the module into a temporary directory, writes its
// config.yaml and builds psmongo from it, to run on the database dbName.
func newProject(t *testing.T, dbName string) *project {
	t.Helper()

	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	p := &project{
		dir: t.TempDir(),
		bin: filepath.Join(t.TempDir(), "psmongo"),
		env: childEnv(dbName),
	}
	copyModule(t, root, p.dir)
	writeFile(t, filepath.Join(p.dir, "config.yaml"), e2eConfig)

	p.goTool(t, "build", "-o", p.bin, ".")
	return p
}

// childEnv returns the environment of the go tool and psmongo: this
// process's, without psmongo's own settings, with the shared build and
// module caches and no network for modules, and the test deployment's
// database dbName.
func childEnv(dbName string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "PSMONGO_"), strings.HasPrefix(name, "POWERSYNC_"),
			name == "MONGO_URI", name == "PORT":
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"GOFLAGS=-mod=mod -buildvcs=false", "GOPROXY=off", "GOTOOLCHAIN=local", "GOWORK=off",
		"PSMONGO_MONGODB_URI="+devstoretest.URI(),
		"PSMONGO_MONGODB_DATABASE="+dbName,
		"POWERSYNC_URL=http://127.0.0.1:8080",
	)
}

// copyModule copies the module at root to dir, leaving out version control,
// the data directory, build outputs, and the hooks the checkout has
// scaffolded, which could clash with the test's.
func copyModule(t *testing.T, root, dir string) {
	t.Helper()

	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			if rel == ".git" || rel == "data" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		if !d.Type().IsRegular() || leftOut(root, rel) {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, rel), b, 0o644)
	})
	if err != nil {
		t.Fatalf("copying the module: %v", err)
	}
}

// leftOut reports whether the file rel of the module stays out of the copy:
// a built binary, or a hook file that registers a collection, with its test.
func leftOut(root, rel string) bool {
	switch {
	case rel == "psmongo", strings.HasSuffix(rel, ".test"), strings.HasSuffix(rel, ".out"):
		return true
	case filepath.Dir(rel) != "hooks" || rel == filepath.Join("hooks", "hooks.go"):
		return false
	}

	hook := strings.TrimSuffix(rel, "_test.go")
	if hook != rel {
		hook += ".go"
	}
	b, err := os.ReadFile(filepath.Join(root, hook))
	return err == nil && bytes.Contains(b, []byte("Register("))
}

// goTool runs the go tool in the copy and fails the test if it fails.
func (p *project) goTool(t *testing.T, args ...string) {
	t.Helper()

	start := time.Now()
	if out, err := p.run(t, "go", args...); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("go %s: %v", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
}

// psmongo runs the built binary in the copy and returns its output and
// error.
func (p *project) psmongo(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return p.run(t, p.bin, args...)
}

func (p *project) run(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()

	cmd := exec.CommandContext(t.Context(), name, args...)
	cmd.Dir = p.dir
	cmd.Env = p.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// scaffoldCase is one "psmongo scaffold collection" run.
type scaffoldCase struct {
	name     string
	args     []string
	skip     string   // why the case cannot run on this deployment, if it cannot
	hook     string   // the hook file it writes
	wantOut  []string // fragments of its output
	wantConf string   // the entry it adds to config.yaml
}

// scaffoldAll scaffolds the test's collections into the copy.
func (p *project) scaffoldAll(t *testing.T) {
	t.Helper()

	var embedded string
	if devstoretest.Embedded() {
		embedded = "the embedded store refuses collection validators; " +
			"set " + devstoretest.EnvURI + " to a MongoDB deployment to run this case"
	}
	tests := []scaffoldCase{
		{
			name: "todo-items",
			args: []string{"--fields", "title:string,done:bool,due:date"},
			hook: "hooks/todo_items.go",
			wantConf: "  todo-items:\n    id_type: string\n    put: replace\n    fields:\n" +
				"      done: bool\n      due: date\n      title: string\n",
		},
		{
			name: "everything",
			args: []string{"--owner-field", "owner", "--fields",
				"flag:bool,when:date,count:int,big:long,ratio:double,price:decimal," +
					"meta:object,tags:array,ref:objectid,title:string"},
			hook: "hooks/everything.go",
			wantConf: "  everything:\n    id_type: string\n    owner_field: owner\n" +
				"    put: replace\n    fields:\n" +
				"      big: long\n      count: int\n      flag: bool\n      meta: object\n" +
				"      price: decimal\n      ratio: double\n      ref: objectid\n" +
				"      tags: array\n      title: string\n      when: date\n",
		},
		{
			name:    "seeded_plain",
			args:    []string{"--from-mongo"},
			hook:    "hooks/seeded_plain.go",
			wantOut: []string{"fields from a sample of up to 100 documents of seeded_plain\n"},
			wantConf: "  seeded_plain:\n    id_type: string\n    put: replace\n    fields:\n" +
				"      at: date\n      done: bool\n      n: int\n      name: string\n",
		},
		{
			name:    "seeded_validated",
			args:    []string{"--from-mongo"},
			skip:    embedded,
			hook:    "hooks/seeded_validated.go",
			wantOut: []string{"fields from the $jsonSchema validator of seeded_validated\n"},
			wantConf: "  seeded_validated:\n    id_type: string\n    put: replace\n    fields:\n" +
				"      due: date\n      qty: int\n      title: string\n",
		},
	}
	for _, tt := range tests {
		t.Run("scaffold "+tt.name, func(t *testing.T) {
			if tt.skip != "" {
				t.Skip(tt.skip)
			}
			p.scaffold(t, tt)
		})
	}
	if t.Failed() {
		t.FailNow()
	}
}

// scaffold runs one case and checks what it wrote.
func (p *project) scaffold(t *testing.T, tt scaffoldCase) {
	t.Helper()

	args := append([]string{"scaffold", "collection", tt.name}, tt.args...)
	run := "psmongo " + strings.Join(args, " ")
	out, err := p.psmongo(t, args...)
	if err != nil {
		t.Fatalf("%s: %v\n%s", run, err, out)
	}
	for _, want := range tt.wantOut {
		if !strings.Contains(out, want) {
			t.Errorf("%s: output lacks %q:\n%s", run, want, out)
		}
	}

	for _, f := range []string{tt.hook, strings.TrimSuffix(tt.hook, ".go") + "_test.go"} {
		if _, err := os.Stat(filepath.Join(p.dir, f)); err != nil {
			t.Errorf("%s: %v", run, err)
		}
	}
	config := readText(t, filepath.Join(p.dir, "config.yaml"))
	if !strings.Contains(config, tt.wantConf) {
		t.Errorf("%s: config.yaml lacks\n%s\ngot:\n%s", run, tt.wantConf, config)
	}
}

// checkRescaffoldKeepsFiles scaffolds todo-items again, differently and
// without --force, and checks that it fails and changes no file.
func (p *project) checkRescaffoldKeepsFiles(t *testing.T) {
	t.Helper()

	files := []string{"hooks/todo_items.go", "hooks/todo_items_test.go", "config.yaml"}
	before := make(map[string]string)
	for _, f := range files {
		before[f] = readText(t, filepath.Join(p.dir, f))
	}

	args := []string{"scaffold", "collection", "todo-items", "--fields", "title:string"}
	out, err := p.psmongo(t, args...)
	if err == nil || !strings.Contains(out, "--force") {
		t.Errorf("psmongo %s again: got error %v and output %q, want a failure asking for --force",
			strings.Join(args, " "), err, out)
	}
	for _, f := range files {
		if got := readText(t, filepath.Join(p.dir, f)); got != before[f] {
			t.Errorf("psmongo %s again changed %s (-before +after):\n%s",
				strings.Join(args, " "), f, cmp.Diff(before[f], got))
		}
	}
}

// checkConfigLoads loads the config the scaffolder wrote, as the server
// will, and checks the entries and the comment above the other collection.
func (p *project) checkConfigLoads(t *testing.T) {
	t.Helper()

	file := filepath.Join(p.dir, "config.yaml")
	cfg, err := app.LoadConfig(file)
	if err != nil {
		t.Fatalf("LoadConfig of the scaffolded config: %v\n%s", err, readText(t, file))
	}

	want := []string{"everything", "lists", "seeded_plain", "todo-items"}
	if !devstoretest.Embedded() {
		want = append(want, "seeded_validated")
	}
	for _, name := range want {
		if _, ok := cfg.Collections[name]; !ok {
			t.Errorf("LoadConfig: collection %q missing; got %v", name, cfg.Collections)
		}
	}
	if got := cfg.Collections["everything"].OwnerField; got != "owner" {
		t.Errorf("LoadConfig: everything has owner field %q, want %q", got, "owner")
	}
	if got := string(cfg.Collections["todo-items"].Fields["due"]); got != "date" {
		t.Errorf("LoadConfig: todo-items field due has type %q, want date", got)
	}

	if config := readText(t, file); !strings.Contains(config, listsComment) {
		t.Errorf("config.yaml lost the comment above lists; want\n%s\ngot:\n%s",
			listsComment, config)
	}
}

// editHook adds hookEdit to the hook file, at the return of its checks.
func (p *project) editHook(t *testing.T, file string) {
	t.Helper()

	path := filepath.Join(p.dir, file)
	src := readText(t, path)
	const mark = "\treturn FirstError(\n"
	if strings.Count(src, mark) != 1 {
		t.Fatalf("%s: want one %q to edit, got:\n%s", file, mark, src)
	}
	writeFile(t, path, strings.Replace(src, mark, hookEdit, 1))
}

// server is a running "psmongo serve".
type server struct {
	url    string
	client *http.Client
}

// startServer starts the project's binary on a free loopback port, and
// stops it when the test ends.
func startServer(t *testing.T, p *project) *server {
	t.Helper()

	port := freePort(t)
	cmd := exec.Command(p.bin, "serve", "--config", filepath.Join(p.dir, "config.yaml"))
	cmd.Dir = p.dir
	cmd.Env = slices.Concat(p.env, []string{
		"PSMONGO_SERVER_HOST=127.0.0.1",
		"PSMONGO_SERVER_PORT=" + strconv.Itoa(port),
		"PSMONGO_DATA_DIR=" + t.TempDir(),
		"PSMONGO_AUTH_TOKEN_MODE=open",
		"PSMONGO_AUTH_UPLOAD_MODE=powersync",
	})
	out := new(lockedBuffer)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting psmongo serve: %v", err)
	}

	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		stopServer(t, cmd, exited)
		if t.Failed() {
			t.Logf("psmongo serve output:\n%s", out)
		}
	})

	s := &server{
		url:    fmt.Sprintf("http://127.0.0.1:%d", port),
		client: &http.Client{Timeout: 30 * time.Second},
	}
	s.waitReady(t, exited)
	return s
}

// stopServer interrupts the server and kills it if it does not stop.
func stopServer(t *testing.T, cmd *exec.Cmd, exited chan error) {
	t.Helper()

	_ = cmd.Process.Signal(os.Interrupt)
	select {
	case <-exited:
	case <-time.After(15 * time.Second):
		t.Errorf("psmongo serve did not stop on an interrupt; killing it")
		_ = cmd.Process.Kill()
		<-exited
	}
}

// freePort returns a port of 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	_, port, _ := net.SplitHostPort(apptest.FreeAddr(t))
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// waitReady polls /readyz until the server answers 200, it exits, or a
// minute passes.
func (s *server) waitReady(t *testing.T, exited chan error) {
	t.Helper()

	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			exited <- err // for the cleanup
			t.Fatalf("psmongo serve exited before it was ready: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
		resp, err := s.client.Get(s.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
	}
	t.Fatalf("psmongo serve was not ready at %s/readyz within a minute", s.url)
}

// token gets a token for user from /token, as fetchCredentials does.
func (s *server) token(t *testing.T, user string) string {
	t.Helper()

	resp, err := s.client.Get(s.url + "/token?user_id=" + user)
	if err != nil {
		t.Fatalf("GET /token?user_id=%s: %v", user, err)
	}
	defer resp.Body.Close()

	var body struct {
		Token string `json:"token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /token?user_id=%s: status %d, decoding: %v", user, resp.StatusCode, err)
	}
	return body.Token
}

// uploadResult is the 200 body of POST /upload.
type uploadResult struct {
	Applied  int         `json:"applied"`
	Rejected []rejection `json:"rejected"`
}

type rejection struct {
	Index   int             `json:"index"`
	OpID    json.RawMessage `json:"op_id"`
	Table   string          `json:"table"`
	ID      string          `json:"id"`
	Code    string          `json:"code"`
	Message string          `json:"message"`
}

// upload posts a batch of the one op raw with token and returns the 200 body.
func (s *server) upload(t *testing.T, token string, raw []byte) uploadResult {
	t.Helper()

	body := append(append([]byte(`{"batch":[`), raw...), "]}"...)
	url := s.url + "/upload"
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")

	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("POST /upload %s: %v", body, err)
	}
	defer resp.Body.Close()
	var got uploadResult
	err = json.NewDecoder(resp.Body).Decode(&got)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /upload %s: status %d, decoding: %v", body, resp.StatusCode, err)
	}
	return got
}

// uploadCase is one op that a user uploads, with its expected outcome.
type uploadCase struct {
	name        string
	skip        string // why the case cannot run on this deployment, if it cannot
	user        string
	op          crudOp
	wantCode    string // "" when the op is applied
	wantMessage string // a fragment of the rejection's message
}

// crudOp is a client write, as the SDK's CrudEntry has it.
type crudOp struct {
	kind, table, id string
	data            map[string]any
}

// checkUploads uploads the cases in order, each in a batch of its own, and
// checks the answer, the document and the dead-letter collection.
func (s *server) checkUploads(t *testing.T, db *mongo.Database) {
	t.Helper()

	var noDecimal, noValidator string
	if devstoretest.Embedded() {
		noDecimal = "the embedded store refuses Decimal128"
		noValidator = "the embedded store refuses validators, so seeded_validated has no hook"
	}
	long := strings.Repeat("x", 10_001)
	everything := map[string]any{
		"flag": 1, "when": "2026-12-04 15:55:11", "count": 42, "big": int64(123_456_789_012_345),
		"ratio": 0.5, "meta": `{"color":"red"}`, "tags": `["a","b"]`,
		"ref": "5f1d7f0c1a2b3c4d5e6f7a8b", "title": "Everything",
	}

	tests := []uploadCase{
		{name: "todo item is applied", user: "alice", op: crudOp{"PUT", "todo-items", "t1",
			map[string]any{"title": "Buy milk", "done": 0, "due": "2026-12-04 15:55:11"}}},
		{name: "every field type is applied", user: "alice",
			op: crudOp{"PUT", "everything", "e1", everything}},
		{name: "owned document is applied", user: "alice",
			op: crudOp{"PUT", "everything", "e2", map[string]any{"title": "Alice's"}}},
		{name: "decimal is applied", skip: noDecimal, user: "alice",
			op: crudOp{"PATCH", "everything", "e1", map[string]any{"price": "12.34"}}},
		{name: "seeded document is patched", user: "alice",
			op: crudOp{"PATCH", "seeded_plain", "1", map[string]any{"n": 3, "done": 0}}},
		{name: "validated document is applied", skip: noValidator, user: "alice",
			op: crudOp{"PUT", "seeded_validated", "v1", map[string]any{"title": "Ok", "qty": 3}}},

		{name: "edited hook rejects a title", user: "alice",
			op:       crudOp{"PATCH", "todo-items", "t1", map[string]any{"title": "forbidden"}},
			wantCode: "TITLE_FORBIDDEN", wantMessage: `the title "forbidden" is not allowed`},
		{name: "edited hook rejects a new document", user: "alice",
			op:       crudOp{"PUT", "todo-items", "t2", map[string]any{"title": "forbidden"}},
			wantCode: "TITLE_FORBIDDEN", wantMessage: "is not allowed"},
		{name: "string check rejects a long title", user: "alice",
			op:       crudOp{"PATCH", "todo-items", "t1", map[string]any{"title": long}},
			wantCode: "INVALID_FIELD", wantMessage: `"title" must be at most 10000 characters`},
		{name: "date check rejects a far date", user: "alice",
			op: crudOp{"PUT", "todo-items", "t3",
				map[string]any{"title": "Later", "due": "2300-01-01 00:00:00"}},
			wantCode: "INVALID_FIELD", wantMessage: `"due" must not be later than`},
		{name: "int check rejects a count out of range", user: "alice",
			op:       crudOp{"PATCH", "everything", "e1", map[string]any{"count": 2_000_000_000}},
			wantCode: "INVALID_FIELD", wantMessage: `"count" must be from`},
		{name: "array check rejects too many tags", user: "alice",
			op: crudOp{"PATCH", "everything", "e1",
				map[string]any{"tags": "[" + strings.Repeat("1,", 1_000) + "1]"}},
			wantCode: "INVALID_FIELD", wantMessage: `"tags" must have at most 1000 items`},
		{name: "bool type rejects a word", user: "alice",
			op:       crudOp{"PATCH", "everything", "e1", map[string]any{"flag": "perhaps"}},
			wantCode: "TYPE_MISMATCH", wantMessage: "flag"},
		{name: "seeded type rejects a word", user: "alice",
			op:       crudOp{"PATCH", "seeded_plain", "1", map[string]any{"n": "many"}},
			wantCode: "TYPE_MISMATCH", wantMessage: `"n"`},
		{name: "seeded string check rejects a long name", user: "alice",
			op:       crudOp{"PATCH", "seeded_plain", "2", map[string]any{"name": long}},
			wantCode: "INVALID_FIELD", wantMessage: `"name" must be at most`},
		{name: "validated string check rejects a long title", skip: noValidator, user: "alice",
			op:       crudOp{"PATCH", "seeded_validated", "v1", map[string]any{"title": long}},
			wantCode: "INVALID_FIELD", wantMessage: `"title" must be at most`},
		{name: "unlisted collection is refused", user: "alice",
			op:       crudOp{"PUT", "notes", "n1", map[string]any{"title": "Hi"}},
			wantCode: "UNKNOWN_COLLECTION", wantMessage: "notes"},

		{name: "bob may not patch alice's document", user: "bob",
			op:       crudOp{"PATCH", "everything", "e2", map[string]any{"title": "Mine"}},
			wantCode: "FORBIDDEN"},
		{name: "bob may not replace alice's document", user: "bob",
			op:       crudOp{"PUT", "everything", "e2", map[string]any{"title": "Mine"}},
			wantCode: "FORBIDDEN"},
		{name: "bob may not delete alice's document", user: "bob",
			op:       crudOp{"DELETE", "everything", "e2", nil},
			wantCode: "FORBIDDEN"},
	}

	tokens := map[string]string{"alice": s.token(t, "alice"), "bob": s.token(t, "bob")}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.skip != "" {
				t.Skip(tt.skip)
			}
			s.checkUpload(t, db, tokens[tt.user], i+1, tt)
		})
	}
	checkStoredTypes(t, db.Collection("everything"))
}

// checkUpload uploads one case as op opID and checks its outcome.
func (s *server) checkUpload(
	t *testing.T, db *mongo.Database, token string, opID int, tt uploadCase,
) {
	t.Helper()

	raw := marshalOp(t, opID, tt.op)
	coll := db.Collection(tt.op.table)
	before := findDocument(t, coll, tt.op.id)

	got := s.upload(t, token, raw)
	if tt.wantCode == "" {
		if diff := cmp.Diff(uploadResult{Applied: 1, Rejected: []rejection{}}, got); diff != "" {
			t.Errorf("POST /upload %s (-want +got):\n%s", raw, diff)
		}
		checkNoDeadLetter(t, db, raw)
		return
	}

	want := uploadResult{Rejected: []rejection{{
		OpID:  json.RawMessage(strconv.Itoa(opID)),
		Table: tt.op.table,
		ID:    tt.op.id,
		Code:  tt.wantCode,
	}}}
	if len(got.Rejected) == 1 && strings.Contains(got.Rejected[0].Message, tt.wantMessage) {
		want.Rejected[0].Message = got.Rejected[0].Message
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("POST /upload %s (-want +got, a message containing %q):\n%s",
			raw, tt.wantMessage, diff)
	}
	if after := findDocument(t, coll, tt.op.id); after != before {
		t.Errorf("POST /upload %s changed the document:\nbefore %s\nafter  %s", raw, before, after)
	}
	checkDeadLetter(t, db, raw, tt.user, tt.wantCode)
}

// marshalOp returns op as the JSON of one batch entry, with the id opID.
func marshalOp(t *testing.T, opID int, op crudOp) []byte {
	t.Helper()

	m := map[string]any{"op_id": opID, "op": op.kind, "type": op.table, "id": op.id}
	if op.data != nil {
		m["data"] = op.data
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// checkStoredTypes checks that the documents of the everything collection
// hold the types of its config entry, and alice as their owner.
func checkStoredTypes(t *testing.T, coll *mongo.Collection) {
	t.Helper()

	var e1 bson.M
	if err := coll.FindOne(t.Context(), bson.D{{Key: "_id", Value: "e1"}}).Decode(&e1); err != nil {
		t.Fatalf("finding everything e1: %v", err)
	}
	got := make(map[string]string)
	for k, v := range e1 {
		got[k] = fmt.Sprintf("%T", v)
	}
	want := map[string]string{
		"_id": "string", "owner": "string", "flag": "bool", "when": "primitive.DateTime",
		"count": "int32", "big": "int64", "ratio": "float64", "meta": "primitive.M",
		"tags": "primitive.A", "ref": "primitive.ObjectID", "title": "string",
	}
	if !devstoretest.Embedded() {
		want["price"] = "primitive.Decimal128"
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("everything e1 %v: types (-want +got):\n%s", e1, diff)
	}

	for _, id := range []string{"e1", "e2"} {
		var doc struct {
			Owner string `bson:"owner"`
		}
		err := coll.FindOne(t.Context(), bson.D{{Key: "_id", Value: id}}).Decode(&doc)
		if err != nil || doc.Owner != "alice" {
			t.Errorf("everything %s: owner %q, %v; want alice", id, doc.Owner, err)
		}
	}
}

// findDocument returns the document id of coll as extended JSON, or "" if
// there is none.
func findDocument(t *testing.T, coll *mongo.Collection, id string) string {
	t.Helper()

	raw, err := coll.FindOne(t.Context(), bson.D{{Key: "_id", Value: id}}).Raw()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return ""
	}
	if err != nil {
		t.Fatalf("finding %s %q: %v", coll.Name(), id, err)
	}
	return raw.String()
}

// deadLetter is a refused unit as the dead-letter collection keeps it.
type deadLetter struct {
	UserID      string   `bson:"user_id"`
	Ops         []string `bson:"ops"`
	FailedIndex int      `bson:"failed_index"`
	Code        string   `bson:"code"`
}

// checkDeadLetter checks that the op raw was kept, as sent, with the user
// and the code.
func checkDeadLetter(t *testing.T, db *mongo.Database, raw []byte, user, code string) {
	t.Helper()

	var got deadLetter
	err := db.Collection("powersync_rejected_writes").
		FindOne(t.Context(), bson.D{{Key: "ops", Value: string(raw)}}).Decode(&got)
	if err != nil {
		t.Errorf("dead letter of %s: %v", raw, err)
		return
	}
	want := deadLetter{UserID: user, Ops: []string{string(raw)}, FailedIndex: 0, Code: code}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("dead letter of %s (-want +got):\n%s", raw, diff)
	}
}

// checkNoDeadLetter checks that the op raw was not kept as refused.
func checkNoDeadLetter(t *testing.T, db *mongo.Database, raw []byte) {
	t.Helper()

	n, err := db.Collection("powersync_rejected_writes").
		CountDocuments(t.Context(), bson.D{{Key: "ops", Value: string(raw)}})
	if err != nil || n != 0 {
		t.Errorf("dead letters of the applied %s: %d, %v; want none", raw, n, err)
	}
}

func writeFile(t *testing.T, name, data string) {
	t.Helper()

	if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func readText(t *testing.T, name string) string {
	t.Helper()

	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
