package app

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// generatedID is what requestID makes: crypto/rand.Text's base32.
var generatedID = regexp.MustCompile(`^[A-Z2-7]{26}$`)

func TestRequestID(t *testing.T) {
	s := newTestServer(t, "", nil)
	tests := []struct {
		name   string
		header string // X-Request-ID sent; "" for none
		keep   bool   // whether the response carries it back unchanged
	}{
		{name: "none"},
		{name: "uuid", header: "0f8fad5b-d9cb-469f-a165-70867728950e", keep: true},
		{name: "dotted", header: "lb.req:42_a", keep: true},
		{name: "longest", header: strings.Repeat("a", maxRequestID), keep: true},
		{name: "too long", header: strings.Repeat("a", maxRequestID+1)},
		{name: "space", header: "a b"},
		{name: "quote and braces", header: `x"}{"admin":true`},
		{name: "not ascii", header: "réq"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			header := map[string]string{}
			if tt.header != "" {
				header["X-Request-ID"] = tt.header
			}
			status, h, _ := s.do(t, "GET", "/healthz", "", header)
			got := h.Get("X-Request-ID")
			switch {
			case status != 200:
				t.Fatalf("GET /healthz with X-Request-ID %q: status %d", tt.header, status)
			case tt.keep && got != tt.header:
				t.Errorf("X-Request-ID %q came back as %q, want it unchanged", tt.header, got)
			case !tt.keep && !generatedID.MatchString(got):
				t.Errorf("X-Request-ID %q came back as %q, want a new id", tt.header, got)
			}
			if line := s.requestLine(t, got); line == nil {
				t.Errorf("no access line with request_id %q", got)
			}
		})
	}
}

// TestAccessLog checks the one line each request gets: what it carries, and
// that it holds no token and no field value.
func TestAccessLog(t *testing.T) {
	s := newTestServer(t, metricsConfig+"server:\n  body_limit: 1KiB\n", nil)
	token := s.token(t, "alice")
	auth := map[string]string{"Authorization": "Bearer " + token}

	tests := []struct {
		name   string
		method string
		path   string
		body   string
		header map[string]string
		want   map[string]any // fields of the line, besides time and request_id
	}{
		{
			name: "upload", method: "POST", path: "/upload", header: auth,
			body: `{"batch":[{"op":"PUT","type":"todos","id":"t1","tx_id":1,"data":{"title":"field-value-q1"}},
				{"op":"PUT","type":"todos","id":"t2","tx_id":2,"data":{"$x":"field-value-q2"}}]}`,
			want: map[string]any{"level": "INFO", "msg": "request", "method": "POST", "route": "/upload",
				"status": 200.0, "user_id": "alice", "ops": 2.0, "applied": 1.0, "rejected": 1.0},
		},
		{
			name: "expired token", method: "POST", path: "/upload", body: `{"batch":[]}`,
			header: map[string]string{"Authorization": "Bearer " + expiredToken(t, s.Server)},
			want: map[string]any{"level": "WARN", "msg": "request", "method": "POST", "route": "/upload",
				"status": 401.0, "error_code": "UNAUTHORIZED", "error_message": "token has expired"},
		},
		{
			name: "malformed batch", method: "PUT", path: "/api/data", header: auth, body: `{"table":"todos"}`,
			want: map[string]any{"level": "WARN", "msg": "request", "method": "PUT", "route": "/api/data",
				"status": 400.0, "user_id": "alice", "error_code": "BAD_REQUEST", "error_message": `missing "id"`},
		},
		{
			name: "no route", method: "GET", path: "/nowhere?user_id=field-value-q3",
			want: map[string]any{"level": "WARN", "msg": "request", "method": "GET", "route": "unmatched",
				"path": "/nowhere", "status": 404.0, "error_code": "NOT_FOUND", "error_message": "Cannot GET /nowhere"},
		},
		{
			name: "body over the limit", method: "POST", path: "/upload", header: auth,
			body: `{"batch":[],"pad":"` + strings.Repeat("field-value-q4", 100) + `"}`,
			want: map[string]any{"level": "WARN", "msg": "request", "method": "POST", "route": "/upload",
				"status": 413.0, "duration_ms": 0.0, "error_code": "BODY_TOO_LARGE",
				"error_message": "request body is larger than server.body_limit (1024 bytes)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, h, _ := s.do(t, tt.method, tt.path, tt.body, tt.header)
			id := h.Get("X-Request-ID")
			line := s.requestLine(t, id)
			if line == nil {
				t.Fatalf("%s %s: no access line with request_id %q", tt.method, tt.path, id)
			}
			if _, ok := tt.want["duration_ms"]; !ok {
				delete(line, "duration_ms")
			}
			delete(line, "time")
			delete(line, "request_id")
			if diff := cmp.Diff(tt.want, line); diff != "" {
				t.Errorf("%s %s: access line (-want +got):\n%s", tt.method, tt.path, diff)
			}
		})
	}

	logs := s.logs.String()
	for _, secret := range []string{token, "field-value-q", "Bearer"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds %.20q:\n%s", secret, logs)
		}
	}
}

// requestLine returns the access line of the request with id, decoded.
func (s *testServer) requestLine(t *testing.T, id string) map[string]any {
	t.Helper()
	for line := range strings.Lines(s.logs.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		if m["msg"] == "request" && m["request_id"] == id {
			return m
		}
	}
	return nil
}

// expiredToken returns a token of the server's own key that expired an hour
// ago.
func expiredToken(t *testing.T, s *Server) string {
	t.Helper()
	token, _, err := s.auth.Signer.Issue("alice", time.Now().Add(-s.cfg.Auth.TokenTTL-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// TestAccessLogCutsLongUserID checks that a user id, which open token mode
// lets the client choose, is cut in the access line.
func TestAccessLogCutsLongUserID(t *testing.T) {
	s := newTestServer(t, metricsConfig, nil)
	user := strings.Repeat("u", 2000)
	auth := map[string]string{"Authorization": "Bearer " + s.token(t, user)}
	_, h, _ := s.do(t, "POST", "/upload", `{"batch":[]}`, auth)

	line := s.requestLine(t, h.Get("X-Request-ID"))
	if line == nil {
		t.Fatal("no access line")
	}
	want := strings.Repeat("u", maxLoggedID) + "..."
	if line["user_id"] != want {
		t.Errorf("user_id logged as %d bytes, want it cut to %d", len(line["user_id"].(string)), maxLoggedID)
	}
}
