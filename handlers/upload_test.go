package handlers_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/bson"

	"github.com/psmongo/psmongo/devstore/devstoretest"
)

// scenario is one HTTP exchange and what it must answer.
type scenario struct {
	name    string
	method  string
	path    string
	headers map[string]string
	body    string
	status  int
	want    []string // fragments of the response body
}

func runScenarios(t *testing.T, s *testServer, scenarios []scenario) {
	t.Helper()
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			status, _, body := s.do(t, sc.method, sc.path, sc.body, sc.headers)
			if status != sc.status {
				t.Errorf("%s %s %.80s: status %d, want %d (body %s)", sc.method, sc.path, sc.body, status, sc.status, body)
			}
			for _, frag := range sc.want {
				if !strings.Contains(body, frag) {
					t.Errorf("%s %s %.80s: body %s, want it to contain %s", sc.method, sc.path, sc.body, body, frag)
				}
			}
		})
	}
}

func TestUploadRoutes(t *testing.T) {
	s := newServer(t, "", "collections:\n  todos:\n    fields:\n      done: bool\n")
	runScenarios(t, s, []scenario{
		{name: "batch on /upload", method: "POST", path: "/upload", status: 200,
			body: `{"batch":[{"op":"PUT","type":"todos","id":"a","data":{"done":1}}]}`,
			want: []string{`"applied":1`, `"rejected":[]`}},
		{name: "batch on /api/data", method: "POST", path: "/api/data", status: 200,
			body: `{"batch":[{"op":"PATCH","table":"todos","id":"a","data":{"done":0}}]}`,
			want: []string{`"applied":1`}},
		{name: "PUT one", method: "PUT", path: "/api/data", status: 200,
			body: `{"table":"todos","id":"b","data":{"done":true}}`, want: []string{`"applied":1`}},
		{name: "PATCH one with id in data", method: "PATCH", path: "/api/data", status: 200,
			body: `{"table":"todos","data":{"id":"b","done":false}}`, want: []string{`"applied":1`}},
		{name: "DELETE one", method: "DELETE", path: "/api/data", status: 200,
			body: `{"table":"todos","id":"b"}`, want: []string{`"applied":1`}},
		{name: "PATCH of a missing document", method: "PATCH", path: "/api/data", status: 200,
			body: `{"table":"todos","id":"ghost","data":{"done":1}}`, want: []string{`"unmatched":[{"index":0`}},
		{name: "type mismatch", method: "POST", path: "/upload", status: 200,
			body: `{"batch":[{"op_id":9,"op":"PUT","type":"todos","id":"c","data":{"done":"perhaps"}}]}`,
			want: []string{`"applied":0`, `"op_id":9`, `"code":"TYPE_MISMATCH"`, `field \"done\"`}},
		{name: "health", method: "GET", path: "/healthz", status: 200, want: []string{`"ok"`}},
		{name: "ready", method: "GET", path: "/readyz", status: 200, want: []string{`"ready"`}},
		{name: "unknown route", method: "GET", path: "/nope", status: 404, want: []string{`"code":"NOT_FOUND"`}},
	})

	var doc bson.M
	err := devstoretest.Client().Database(devstoretest.DatabaseName(t)).Collection("todos").
		FindOne(context.Background(), bson.M{"_id": "a"}).Decode(&doc)
	if err != nil || doc["done"] != false {
		t.Errorf("todos a = %v, %v; want done false", doc, err)
	}
}

func TestUploadBadRequests(t *testing.T) {
	s := newServer(t, "", "")
	bad := func(name, body, msg string) scenario {
		return scenario{name: name, method: "POST", path: "/upload", body: body, status: http.StatusBadRequest,
			want: []string{`"code":"BAD_REQUEST"`, msg}}
	}
	runScenarios(t, s, []scenario{
		bad("not JSON", `batch=1`, "body is not a JSON object"),
		bad("empty body", ``, "body is not a JSON object"),
		bad("no batch", `{"ops":[]}`, `no \"batch\" array`),
		bad("batch not an array", `{"batch":"x"}`, `\"batch\" is not an array`),
		bad("op without op", `{"batch":[{"op":"PUT","table":"t","id":"1"},{"table":"t","id":"2"}]}`, `op 1: missing \"op\"`),
		bad("op without table", `{"batch":[{"op":"PUT","id":"1"}]}`, `op 0: missing \"table\"`),
		bad("op without id", `{"batch":[{"op":"PUT","table":"t","data":{"x":1}}]}`, `op 0: missing \"id\"`),
		bad("unknown op", `{"batch":[{"op":"MERGE","table":"t","id":"1"}]}`, `op 0: unknown op \"MERGE\"`),
		{name: "single op without table", method: "PUT", path: "/api/data", body: `{"id":"1"}`,
			status: 400, want: []string{`missing \"table\"`}},
	})

	n, err := devstoretest.Client().Database(devstoretest.DatabaseName(t)).Collection("t").CountDocuments(context.Background(), bson.M{})
	if err != nil || n != 0 {
		t.Errorf("documents after bad requests = %d, %v; want none: a 400 writes nothing", n, err)
	}
}

func TestUploadBodyLimit(t *testing.T) {
	t.Setenv("PSMONGO_SERVER_BODY_LIMIT", "1KiB")
	s := newServer(t, "", "")
	big := `{"batch":[{"op":"PUT","table":"t","id":"1","data":{"x":"` + strings.Repeat("a", 2048) + `"}}]}`
	runScenarios(t, s, []scenario{
		{name: "over the limit", method: "POST", path: "/upload", body: big, status: http.StatusRequestEntityTooLarge,
			want: []string{`"code":"BODY_TOO_LARGE"`, "server.body_limit (1024 bytes)"}},
		{name: "under the limit", method: "POST", path: "/upload", status: 200,
			body: `{"batch":[{"op":"PUT","table":"t","id":"1","data":{"x":"a"}}]}`},
	})
}

func TestUploadRefusesCompressedBodies(t *testing.T) {
	s := newServer(t, "", "")
	runScenarios(t, s, []scenario{
		{name: "gzip", method: "POST", path: "/upload", headers: map[string]string{"Content-Encoding": "gzip"},
			body: "\x1f\x8b", status: http.StatusUnsupportedMediaType, want: []string{`"code":"UNSUPPORTED_ENCODING"`}},
		{name: "deflate on one op", method: "PUT", path: "/api/data", headers: map[string]string{"Content-Encoding": "deflate"},
			body: "x", status: http.StatusUnsupportedMediaType},
		{name: "identity", method: "POST", path: "/upload", headers: map[string]string{"Content-Encoding": "identity"},
			body: `{"batch":[]}`, status: 200},
	})
}

// TestMetricsSurviveBufferReuse sends requests with methods of different
// lengths; label values must not alias Fiber's reused request buffers.
func TestMetricsSurviveBufferReuse(t *testing.T) {
	s := newServer(t, "", "")
	for _, m := range []string{"DELETE", "GET", "GET", "PATCH", "GET", "PUT", "GET"} {
		path := "/healthz"
		if m != "GET" {
			path = "/api/data"
		}
		s.do(t, m, path, `{}`, nil)
	}
	status, _, body := s.do(t, "GET", "/metrics", "", nil)
	if status != 200 || strings.Contains(body, `method="GETETE"`) || !strings.Contains(body, `method="DELETE"`) {
		t.Errorf("GET /metrics = %d, want 200 with exact method labels:\n%.2000s", status, body)
	}
}
