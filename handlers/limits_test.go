package handlers_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// hangGuard bounds how long a test waits on a connection; reaching it
// means the server held the connection, and fails the test.
const hangGuard = 20 * time.Second

// dial opens a raw connection to the test server.
func dial(t *testing.T, s *testServer) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := conn.SetDeadline(time.Now().Add(hangGuard)); err != nil {
		t.Fatal(err)
	}
	return conn
}

// rawRequest sends text as is and returns the status and body of the answer.
func rawRequest(t *testing.T, s *testServer, text string) (int, string) {
	t.Helper()
	conn := dial(t, s)
	if _, err := io.WriteString(conn, text); err != nil {
		t.Fatal(err)
	}
	return readResponse(t, conn)
}

func readResponse(t *testing.T, conn net.Conn) (int, string) {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// padded returns an upload body of exactly size bytes.
func padded(t *testing.T, size int) string {
	t.Helper()
	body := `{"batch":[{"op":"PUT","table":"t","id":"1","data":{"x":"a"}}]}`
	if len(body) > size {
		t.Fatalf("padded(%d): the body alone is %d bytes", size, len(body))
	}
	return strings.Replace(body, `{"batch"`, `{`+strings.Repeat(" ", size-len(body))+`"batch"`, 1)
}

func TestBodyLimitAtAndPast(t *testing.T) {
	t.Setenv("PSMONGO_SERVER_BODY_LIMIT", "1KiB")
	s := newServer(t, "", "")
	runScenarios(t, s, []scenario{
		{name: "at the limit", method: "POST", path: "/upload", body: padded(t, 1024), status: 200,
			want: []string{`"applied":1`}},
		{name: "one past the limit", method: "POST", path: "/upload", body: padded(t, 1025), status: 413,
			want: []string{`"code":"BODY_TOO_LARGE"`, "server.body_limit (1024 bytes)"}},
	})
}

func TestMaxOpsAtAndPast(t *testing.T) {
	t.Setenv("PSMONGO_SERVER_MAX_OPS", "3")
	s := newServer(t, "", "")
	ops := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, `,{"op":"PUT","table":"t","id":"%d","tx_id":%d}`, i, i)
		}
		return `{"batch":[` + b.String()[1:] + `]}`
	}
	runScenarios(t, s, []scenario{
		{name: "at the limit", method: "POST", path: "/upload", body: ops(3), status: 200,
			want: []string{`"applied":3`}},
		{name: "one past the limit", method: "POST", path: "/upload", body: ops(4), status: 400,
			want: []string{`"code":"BAD_REQUEST"`, `op 3: the batch holds more than 3 ops`}},
		{name: "one op on its own", method: "PUT", path: "/api/data", body: `{"table":"t","id":"x"}`, status: 200},
	})
}

// TestOpLimitsOverHTTP sends an op at each limit of one op and one past it,
// set through the configuration: the op past it is rejected in the 200.
func TestOpLimitsOverHTTP(t *testing.T) {
	t.Setenv("PSMONGO_SERVER_MAX_DEPTH", "3")
	t.Setenv("PSMONGO_SERVER_MAX_ID_BYTES", "10")
	t.Setenv("PSMONGO_SERVER_MAX_FIELD_NAME_BYTES", "5")
	s := newServer(t, "", "")
	upload := func(name, at, past, code string) scenario {
		return scenario{name: name, method: "POST", path: "/upload", status: 200,
			body: `{"batch":[` + at + `,` + past + `]}`,
			want: []string{`"applied":1`, `"index":1`, `"code":"` + code + `"`}}
	}
	runScenarios(t, s, []scenario{
		upload("depth", `{"op":"PUT","table":"t","id":"a","tx_id":1,"data":{"v":{"w":{}}}}`,
			`{"op":"PUT","table":"t","id":"b","tx_id":2,"data":{"v":{"w":{"x":{}}}}}`, "DOCUMENT_TOO_DEEP"),
		upload("id", `{"op":"PUT","table":"t","id":"0123456789","tx_id":1}`,
			`{"op":"PUT","table":"t","id":"0123456789a","tx_id":2}`, "INVALID_ID"),
		upload("field name", `{"op":"PUT","table":"t","id":"c","tx_id":1,"data":{"abcde":1}}`,
			`{"op":"PUT","table":"t","id":"d","tx_id":2,"data":{"abcdef":1}}`, "INVALID_FIELD"),
		upload("UTF-8", `{"op":"PUT","table":"t","id":"e","tx_id":1,"data":{"v":"\u00e9"}}`,
			`{"op":"PUT","table":"t","id":"f","tx_id":2,"data":{"v":"`+"\xe9"+`"}}`, "INVALID_UTF8"),
	})
}

// TestHeaderLimitAtAndPast sends request lines and headers of exactly
// server.max_header_bytes, and one byte more.
func TestHeaderLimitAtAndPast(t *testing.T) {
	t.Setenv("PSMONGO_SERVER_MAX_HEADER_BYTES", "2KiB")
	t.Setenv("PSMONGO_SERVER_MAX_URL_BYTES", "1KiB")
	s := newServer(t, "", "")
	request := func(size int) string {
		head := "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: \r\n\r\n"
		return strings.Replace(head, "X-Pad: ", "X-Pad: "+strings.Repeat("p", size-len(head)), 1)
	}

	if status, body := rawRequest(t, s, request(2048)); status != 200 {
		t.Errorf("headers of 2048 bytes: %d %s, want 200", status, body)
	}
	status, body := rawRequest(t, s, request(2049))
	if status != 431 || !strings.Contains(body, `"code":"HEADERS_TOO_LARGE"`) ||
		!strings.Contains(body, "server.max_header_bytes (2048 bytes)") {
		t.Errorf("headers of 2049 bytes: %d %s, want 431 naming the limit", status, body)
	}
}

func TestURLLimitAtAndPast(t *testing.T) {
	t.Setenv("PSMONGO_SERVER_MAX_URL_BYTES", "1KiB")
	s := newServer(t, "", "")
	url := func(size int) string { return "/healthz?pad=" + strings.Repeat("p", size-len("/healthz?pad=")) }
	runScenarios(t, s, []scenario{
		{name: "at the limit", method: "GET", path: url(1024), status: 200},
		{name: "one past the limit", method: "GET", path: url(1025), status: 414,
			want: []string{`"code":"URL_TOO_LONG"`, "the URL is 1025 bytes, longer than the limit of 1024"}},
	})
}

// TestMalformedRequestIsNotEchoed sends a request fasthttp cannot parse,
// with a token in it: the 400 must not quote the request back.
func TestMalformedRequestIsNotEchoed(t *testing.T) {
	s := newServer(t, "", "")
	request := "POST /upload HTTP/1.1\r\nAuthorization: Bearer secret-token\r\nContent-Length: x\r\n\r\n"
	status, body := rawRequest(t, s, request)
	if status != 400 || strings.Contains(body, "secret-token") ||
		!strings.Contains(body, "malformed HTTP request") {
		t.Errorf("malformed request: %d %s, want a 400 that does not quote it", status, body)
	}
}

// TestSlowClientsAreCut stalls a request in its headers, in its body, and
// between requests: the server answers what it can and closes the
// connection, holding nothing for the client.
func TestSlowClientsAreCut(t *testing.T) {
	t.Setenv("PSMONGO_SERVER_READ_TIMEOUT", "500ms")
	t.Setenv("PSMONGO_SERVER_IDLE_TIMEOUT", "500ms")
	s := newServer(t, "", "")

	t.Run("stalled in the headers", func(t *testing.T) {
		conn := dial(t, s)
		io.WriteString(conn, "POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\n")
		status, body := readResponse(t, conn)
		if status != 408 || !strings.Contains(body, "server.read_timeout (500ms)") {
			t.Errorf("stalled headers: %d %s, want 408 naming the limit", status, body)
		}
		checkClosed(t, conn)
	})

	t.Run("stalled in the body", func(t *testing.T) {
		conn := dial(t, s)
		io.WriteString(conn, "POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{\"batch\":")
		status, _ := readResponse(t, conn)
		if status != 408 {
			t.Errorf("stalled body: %d, want 408", status)
		}
		checkClosed(t, conn)
	})

	t.Run("idle after a request", func(t *testing.T) {
		conn := dial(t, s)
		io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
		if status, _ := readResponse(t, conn); status != 200 {
			t.Fatalf("first request: %d, want 200", status)
		}
		checkClosed(t, conn)
	})

	t.Run("slow but within the limit", func(t *testing.T) {
		conn := dial(t, s)
		for _, part := range []string{"GET /healthz HTTP/1.1\r\n", "Host: 127.0.0.1\r\n", "\r\n"} {
			io.WriteString(conn, part)
			time.Sleep(20 * time.Millisecond)
		}
		if status, body := readResponse(t, conn); status != 200 {
			t.Errorf("request in pieces: %d %s, want 200", status, body)
		}
	})
}

// checkClosed reads until the server closes conn; the hang guard fails
// the test if it never does.
func checkClosed(t *testing.T, conn net.Conn) {
	t.Helper()
	if _, err := io.Copy(io.Discard, conn); err != nil {
		t.Errorf("waiting for the server to close the connection: %v", err)
	}
}

func TestServerTimeoutsAreSet(t *testing.T) {
	t.Setenv("PSMONGO_SERVER_WRITE_TIMEOUT", "7s")
	s := newServer(t, "", "")
	cfg := s.HTTP().Config()
	if cfg.ReadTimeout != 30*time.Second || cfg.WriteTimeout != 7*time.Second ||
		cfg.IdleTimeout != 2*time.Minute || cfg.ReadBufferSize != 16<<10 {
		t.Errorf("Fiber config: read %v, write %v, idle %v, header buffer %d; want 30s, 7s, 2m, 16384",
			cfg.ReadTimeout, cfg.WriteTimeout, cfg.IdleTimeout, cfg.ReadBufferSize)
	}
}

// TestDeepDataIsRejectedNot500 sends data nested 400 levels deep, which
// the embedded store failed to write with an SQL error, a 500 that the
// client retried for ever: it is now rejected in the 200 by the default
// server.max_depth.
func TestDeepDataIsRejectedNot500(t *testing.T) {
	s := newServer(t, "", "")
	data := strings.Repeat(`{"a":`, 399) + `{}` + strings.Repeat(`}`, 399)
	runScenarios(t, s, []scenario{
		{name: "400 levels", method: "POST", path: "/upload", status: 200,
			body: `{"batch":[{"op":"PUT","table":"t","id":"a","data":` + data + `}]}`,
			want: []string{`"applied":0`, `"code":"DOCUMENT_TOO_DEEP"`, "limit of 64 levels"}},
	})
}
