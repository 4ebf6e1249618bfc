package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/psmongo/psmongo/app"
	"github.com/psmongo/psmongo/app/apptest"
	"github.com/psmongo/psmongo/devstore/devstoretest"
)

// doctorConfigFile writes a config that points at uri and lists todos.
func doctorConfigFile(t *testing.T, uri, database string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "config.yaml")
	cfg := fmt.Sprintf("mongodb:\n  uri: %q\n  database: %q\n"+
		"collections:\n  todos: {}\nunlisted_collections: reject\n", uri, database)
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// runDoctor runs psmongo doctor with args in a fresh directory and returns
// what it printed and the error the command ended with.
func runDoctor(t *testing.T, args ...string) (string, error) {
	t.Helper()
	t.Chdir(t.TempDir())
	var out bytes.Buffer
	cmd := newRootCommand()
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(append([]string{"doctor"}, args...))
	err := cmd.ExecuteContext(t.Context())
	return out.String(), err
}

// needStore skips a test that needs the test deployment, which TestMain
// does not start under -short.
func needStore(t *testing.T) {
	t.Helper()
	if devstoretest.URI() == "" {
		t.Skip("needs the test deployment, which -short leaves out")
	}
}

// TestDoctorJSON checks the shape of doctor --json on the test deployment,
// and that it fails where the embedded store cannot serve PowerSync.
func TestDoctorJSON(t *testing.T) {
	needStore(t)
	file := doctorConfigFile(t, devstoretest.URI(), devstoretest.DatabaseName(t))
	out, err := runDoctor(t, "--config", file, "--json")

	var shape map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &shape); err != nil {
		t.Fatalf("doctor --json printed %q: %v", out, err)
	}
	if diff := cmp.Diff([]string{"checks", "failed", "ok", "warnings"}, jsonKeys(shape)); diff != "" {
		t.Errorf("report fields (-want +got):\n%s", diff)
	}
	var checks []map[string]any
	if err := json.Unmarshal(shape["checks"], &checks); err != nil {
		t.Fatal(err)
	}
	for _, c := range checks {
		if diff := cmp.Diff([]string{"fix", "id", "level", "message"}, jsonKeys(c)); diff != "" {
			t.Errorf("check %v fields (-want +got):\n%s", c["id"], diff)
		}
	}

	var r doctorReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	levels := map[string]app.CheckLevel{}
	failed := 0
	for _, c := range r.Checks {
		levels[c.ID] = c.Level
		if c.Level == app.CheckFail {
			failed++
		}
	}
	if r.Failed != failed || r.OK != (failed == 0) {
		t.Errorf("report says ok %v, failed %d; its checks hold %d failures", r.OK, r.Failed, failed)
	}
	if (err != nil) != (failed > 0) {
		t.Errorf("doctor ended with %v after %d failed checks", err, failed)
	}

	want := map[string]app.CheckLevel{
		"mongodb": app.CheckOK, "unlisted_collections": app.CheckOK,
		"mongodb.replica_set": app.CheckFail, "mongodb.change_streams": app.CheckFail,
	}
	if !devstoretest.Embedded() {
		want["mongodb.replica_set"], want["mongodb.change_streams"] = app.CheckOK, app.CheckOK
	}
	for id, level := range want {
		if levels[id] != level {
			t.Errorf("check %s: level %q, want %q", id, levels[id], level)
		}
	}
}

// TestDoctorText checks that doctor prints one line per check, each with
// its level, and a fix on each line that is not ok.
func TestDoctorText(t *testing.T) {
	needStore(t)
	file := doctorConfigFile(t, devstoretest.URI(), devstoretest.DatabaseName(t))
	jsonOut, _ := runDoctor(t, "--config", file, "--json")
	var r doctorReport
	if err := json.Unmarshal([]byte(jsonOut), &r); err != nil {
		t.Fatal(err)
	}

	out, err := runDoctor(t, "--config", file)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != len(r.Checks) {
		t.Fatalf("doctor printed %d lines for %d checks:\n%s", len(lines), len(r.Checks), out)
	}
	for i, c := range r.Checks {
		prefix := map[app.CheckLevel]string{app.CheckOK: "ok    ", app.CheckWarn: "WARN  ", app.CheckFail: "FAIL  "}[c.Level]
		if !strings.HasPrefix(lines[i], prefix+c.ID+": ") {
			t.Errorf("line %d is %q; want it to start with %q", i+1, lines[i], prefix+c.ID+": ")
		}
		if hasFix := strings.Contains(lines[i], "; fix: "); hasFix != (c.Level != app.CheckOK) {
			t.Errorf("line %d is %q: a fix exactly when not ok", i+1, lines[i])
		}
	}
	if devstoretest.Embedded() && (err == nil || !strings.Contains(out, "FAIL  mongodb.replica_set: ")) {
		t.Errorf("doctor on the embedded store ended with %v and printed:\n%s", err, out)
	}
}

// TestDoctorUnreachable points doctor at a port on 127.0.0.1 that nobody
// listens on: one failing line for MongoDB, and a failure.
func TestDoctorUnreachable(t *testing.T) {
	addr := apptest.FreeAddr(t)
	file := doctorConfigFile(t, "mongodb://"+addr+"/", "app")
	out, err := runDoctor(t, "--config", file, "--timeout", "300ms")
	if err == nil || !strings.Contains(err.Error(), "checks failed") {
		t.Errorf("doctor ended with %v; want failed checks", err)
	}

	var mongoLines []string
	for line := range strings.Lines(out) {
		if strings.Contains(line, " mongodb") || strings.Contains(line, " collections") {
			mongoLines = append(mongoLines, line)
		}
	}
	want := "FAIL  mongodb: no answer from " + addr + " within 300ms"
	if len(mongoLines) != 1 || !strings.HasPrefix(mongoLines[0], want) {
		t.Errorf("MongoDB lines: %q; want one starting %q", mongoLines, want)
	}
}

// TestDoctorFlags checks doctor's refusal of a bad flag value, and a
// configuration that does not load.
func TestDoctorFlags(t *testing.T) {
	_, err := runDoctor(t, "--post-images", "sometimes")
	if err == nil || !strings.Contains(err.Error(), `--post-images: "sometimes" is not off, auto_configure or read_only`) {
		t.Errorf("--post-images sometimes: got %v", err)
	}

	bad := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(bad, []byte("server:\n  prot: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runDoctor(t, "--config", bad)
	want := "FAIL  config: server.prot: unknown key; fix: correct the key the message names"
	if err == nil || !strings.HasPrefix(out, want) || strings.Count(out, "\n") != 1 {
		t.Errorf("doctor with a bad config ended with %v and printed %q; want one line %q", err, out, want)
	}
}

// TestDoctorExitStatus builds psmongo and runs doctor as a process: its exit
// status is 1 exactly when a check fails, as on the embedded store.
func TestDoctorExitStatus(t *testing.T) {
	needStore(t)
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go tool in PATH")
	}
	bin := buildStatic(t)

	file := doctorConfigFile(t, devstoretest.URI(), devstoretest.DatabaseName(t))
	cmd := exec.CommandContext(t.Context(), bin, "doctor", "--config", file, "--json")
	cmd.Dir = t.TempDir()
	cmd.Env = doctorEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()

	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	var r doctorReport
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("stdout %q: %v", stdout.String(), err)
	}
	want := 0
	if r.Failed > 0 {
		want = 1
	}
	if code != want || (devstoretest.Embedded() && code != 1) {
		t.Errorf("exit status %d with %d failed checks; want %d\nstderr: %s", code, r.Failed, want, stderr.String())
	}
	if code == 1 && !strings.Contains(stderr.String(), "checks failed") {
		t.Errorf("stderr %q does not say that checks failed", stderr.String())
	}
}

// doctorEnv is this process's environment without psmongo's settings, so
// that only the config file counts.
func doctorEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return strings.HasPrefix(name, "PSMONGO_") || strings.HasPrefix(name, "POWERSYNC_") ||
			name == "MONGO_URI" || name == "PORT"
	})
}

// jsonKeys returns the keys of a decoded JSON object, sorted.
func jsonKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
