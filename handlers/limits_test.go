package handlers_test

import (
	"bufio"
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

// TestMalformedRequestIsNotEchoed sends a request fasthttp cannot parse,
// with a token in it: the 400 must not quote the request back.
func TestMalformedRequestIsNotEchoed(t *testing.T) {
	s := newServer(t, "", "")
	status, body := rawRequest(t, s, "POST /upload HTTP/1.1\r\nAuthorization: Bearer secret-token\r\nContent-Length: x\r\n\r\n")
	if status != 400 || strings.Contains(body, "secret-token") || !strings.Contains(body, "malformed HTTP request") {
		t.Errorf("malformed request: %d %s, want a 400 that does not quote it", status, body)
	}
}
