package cli_test

import (
	"bufio"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"

	"github.com/psmongo/psmongo/cli"
	"github.com/psmongo/psmongo/devstore/devstoretest"
)

// slowBatch is the upload in flight when the server is told to stop.
const slowBatch = `{"batch":[
	{"op_id":1,"op":"PUT","type":"todos","id":"drained-1","tx_id":1,"data":{"n":1}},
	{"op_id":2,"op":"PUT","type":"todos","id":"drained-2","tx_id":1,"data":{"n":2}}]}`

// TestServeBinary builds psmongo as the Dockerfile does, static, without
// cgo, and runs it as a process: it shuts down gracefully on SIGTERM, and
// its healthcheck command tells a running server from none.
func TestServeBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs it as a process")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go tool in PATH")
	}
	bin := cli.BuildStatic(t)

	t.Run("static", func(t *testing.T) { checkStatic(t, bin) })
	t.Run("drains a slow upload on SIGTERM", func(t *testing.T) { testDrain(t, bin) })
	t.Run("cuts a stuck request after shutdown_timeout", func(t *testing.T) { testStuck(t, bin) })
	t.Run("healthcheck", func(t *testing.T) { testHealthcheck(t, bin) })
	t.Run("bad log format", func(t *testing.T) {
		out, err := exec.CommandContext(t.Context(), bin, "serve", "--log-format", "yaml").CombinedOutput()
		if code := exitCode(err); code != 1 || !strings.Contains(string(out), `--log-format: "yaml" is not json or text`) {
			t.Errorf("serve --log-format yaml: exit %d, output %q; want 1 naming the flag", code, out)
		}
	})
}

// testDrain sends SIGTERM while an upload's body is half sent: the upload
// still gets its 200 and its writes land, a new connection is refused, and
// the process exits 0.
func testDrain(t *testing.T, bin string) {
	p := startServe(t, bin, nil)

	conn := p.dial(t)
	defer conn.Close()
	half := len(slowBatch) / 2
	r := p.startUpload(t, conn, "drain-1", slowBatch[:half])

	p.signal(t, syscall.SIGTERM)
	p.waitRefused(t)
	if _, err := conn.Write([]byte(slowBatch[half:])); err != nil {
		t.Fatalf("sending the second half of the body: %v", err)
	}
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("reading the answer to the upload in flight: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"applied":2`) || !resp.Close {
		t.Errorf("upload in flight at SIGTERM: %d %s, Connection: close %v; want 200 with 2 applied, closing",
			resp.StatusCode, body, resp.Close)
	}

	if code := p.wait(t); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	checkDrained(t)
	for _, msg := range []string{`"msg":"shutting down"`, `"msg":"http server stopped"`, `"msg":"stopped"`} {
		if !strings.Contains(p.out.String(), msg) {
			t.Errorf("the log has no %s line", msg)
		}
	}
	if strings.Contains(p.out.String(), "shutdown timeout passed") {
		t.Errorf("the drain ran past the timeout")
	}
}

// testStuck leaves a request's body unfinished for good: the process still
// exits 0 once shutdown_timeout has passed, and closes the connection.
func testStuck(t *testing.T, bin string) {
	// The read timeout must not end the request before shutdown_timeout does.
	p := startServe(t, bin, []string{"--log-format", "text"},
		"PSMONGO_SERVER_SHUTDOWN_TIMEOUT=1s", "PSMONGO_SERVER_REQUEST_TIMEOUT=10m")

	conn := p.dial(t)
	defer conn.Close()
	r := p.startUpload(t, conn, "stuck-1", slowBatch[:10])

	p.signal(t, syscall.SIGTERM)
	if code := p.wait(t); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	if !strings.Contains(p.out.String(), `level=WARN msg="shutdown timeout passed" timeout=1s`) {
		t.Errorf("the log does not say that shutdown_timeout cut the request")
	}
	if _, err := r.ReadByte(); err == nil {
		t.Errorf("the stuck request got an answer; want its connection closed")
	}
}

// testHealthcheck runs "psmongo healthcheck" against a running server and
// against none.
func testHealthcheck(t *testing.T, bin string) {
	p := startServe(t, bin, nil)
	env := p.cmd.Env // the same settings, as in a container

	run := func(args ...string) (int, string) {
		cmd := exec.CommandContext(t.Context(), bin, append([]string{"healthcheck"}, args...)...)
		cmd.Env, cmd.Dir = env, p.cmd.Dir
		out, err := cmd.CombinedOutput()
		return exitCode(err), string(out)
	}
	for _, args := range [][]string{nil, {"--ready"}, {"--url", p.url}} {
		if code, out := run(args...); code != 0 {
			t.Errorf("healthcheck %v against a running server: exit %d, %s; want 0", args, code, out)
		}
	}

	p.signal(t, syscall.SIGTERM)
	if code := p.wait(t); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	for _, args := range [][]string{nil, {"--url", p.url}} {
		if code, out := run(args...); code != 1 || !strings.Contains(out, "connection refused") {
			t.Errorf("healthcheck %v with no server: exit %d, %s; want 1, connection refused", args, code, out)
		}
	}
}

// checkStatic fails unless bin is an ELF file with no dynamic loader, on
// systems that build ELF.
func checkStatic(t *testing.T, bin string) {
	f, err := elf.Open(bin)
	if err != nil {
		t.Skipf("not an ELF binary on this system: %v", err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP || prog.Type == elf.PT_DYNAMIC {
			t.Errorf("%s has a %v program header; want a static binary", bin, prog.Type)
		}
	}
}

// serveProcess is a running "psmongo serve".
type serveProcess struct {
	cmd    *exec.Cmd
	addr   string // 127.0.0.1:port
	url    string
	out    *lockedBuffer
	exited chan error
}

// startServe starts bin serve with flags on a free loopback port, writing
// to the test's database on the test deployment, with env added to its
// environment, and waits until it is ready.
func startServe(t *testing.T, bin string, flags []string, env ...string) *serveProcess {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "config.yaml"), "auth:\n  upload:\n    mode: none\n")
	port := freePort(t)

	cmd := exec.Command(bin, append([]string{"serve", "--config", filepath.Join(dir, "config.yaml")}, flags...)...)
	cmd.Dir = dir
	cmd.Env = slices.Concat(cleanEnv(), []string{
		"PSMONGO_SERVER_HOST=127.0.0.1",
		"PSMONGO_SERVER_PORT=" + strconv.Itoa(port),
		"PSMONGO_MONGODB_URI=" + devstoretest.URI(),
		"PSMONGO_MONGODB_DATABASE=" + devstoretest.DatabaseName(t),
		"PSMONGO_DATA_DIR=" + filepath.Join(dir, "data"),
	}, env)
	p := &serveProcess{cmd: cmd, addr: fmt.Sprintf("127.0.0.1:%d", port), out: new(lockedBuffer),
		exited: make(chan error, 1)}
	p.url = "http://" + p.addr
	cmd.Stdout, cmd.Stderr = p.out, p.out
	devstoretest.Database(t) // dropped when the test ends

	if err := cmd.Start(); err != nil {
		t.Fatalf("starting psmongo serve: %v", err)
	}
	go func() { p.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case err := <-p.exited:
			p.exited <- err
		default:
			_ = cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("psmongo serve output:\n%s", p.out)
		}
	})
	p.waitReady(t)
	return p
}

// cleanEnv is the test's environment without psmongo's settings, which
// would change what the server under test does.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "PSMONGO_") || strings.HasPrefix(name, "POWERSYNC_") ||
			name == "MONGO_URI" || name == "PORT" {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// waitReady polls /readyz until it answers 200, or fails the test when
// the process exits or a minute passes.
func (p *serveProcess) waitReady(t *testing.T) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
		select {
		case err := <-p.exited:
			p.exited <- err
			t.Fatalf("psmongo serve exited before it was ready: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
		resp, err := client.Get(p.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
	}
	t.Fatalf("psmongo serve was not ready at %s/readyz within a minute", p.url)
}

func (p *serveProcess) dial(t *testing.T) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatalf("connecting to psmongo serve: %v", err)
	}
	return conn
}

// startUpload sends the head of POST /upload for slowBatch and first, the
// start of its body. Expect: 100-continue makes the server say when it has
// read the head, so the request is surely in flight when this returns. The
// reader reads the rest of what the server sends.
func (p *serveProcess) startUpload(t *testing.T, conn net.Conn, requestID, first string) *bufio.Reader {
	t.Helper()
	head := "POST /upload HTTP/1.1\r\nHost: " + p.addr + "\r\n" +
		"Content-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(slowBatch)) + "\r\n" +
		"X-Request-ID: " + requestID + "\r\nExpect: 100-continue\r\n\r\n"
	if _, err := conn.Write([]byte(head)); err != nil {
		t.Fatalf("sending the upload's head: %v", err)
	}
	r := bufio.NewReader(conn)
	line, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100 ") {
		t.Fatalf("want 100 Continue after the head, got %q, %v", line, err)
	}
	if blank, err := r.ReadString('\n'); err != nil || blank != "\r\n" {
		t.Fatalf("100 Continue: want a blank line, got %q, %v", blank, err)
	}
	if _, err := conn.Write([]byte(first)); err != nil {
		t.Fatalf("sending the first part of the body: %v", err)
	}
	return r
}

func (p *serveProcess) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signalling psmongo serve: %v", err)
	}
}

// waitRefused waits until a new connection is refused, which the server
// does once it has taken the signal.
func (p *serveProcess) waitRefused(t *testing.T) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		conn, err := net.Dial("tcp", p.addr)
		if errors.Is(err, syscall.ECONNREFUSED) {
			return
		}
		if err != nil {
			t.Fatalf("connecting after SIGTERM: %v, want connection refused", err)
		}
		conn.Close()
	}
	t.Fatalf("psmongo serve still accepted connections a minute after SIGTERM")
}

// wait waits for the process to exit and returns its exit code. It fails
// the test when the process runs on for two minutes, far past any timeout.
func (p *serveProcess) wait(t *testing.T) int {
	t.Helper()
	select {
	case err := <-p.exited:
		p.exited <- err
		return exitCode(err)
	case <-time.After(2 * time.Minute):
		t.Fatalf("psmongo serve did not exit within two minutes of the signal")
		return -1
	}
}

func exitCode(err error) int {
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.ExitCode()
	}
	return -1
}

// checkDrained checks that the upload in flight at SIGTERM was written.
func checkDrained(t *testing.T) {
	t.Helper()
	db := devstoretest.Client().Database(devstoretest.DatabaseName(t))
	cur, err := db.Collection("todos").Find(t.Context(), bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	var docs []struct {
		ID string `bson:"_id"`
		N  int    `bson:"n"`
	}
	if err := cur.All(t.Context(), &docs); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(docs)
	if want := `[{"ID":"drained-1","N":1},{"ID":"drained-2","N":2}]`; string(got) != want {
		t.Errorf("todos after the shutdown = %s, want %s", got, want)
	}
}
