package app

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/psmongo/psmongo/devstore/devstoretest"
	"github.com/psmongo/psmongo/hooks"
)

const metricsConfig = `
auth:
  token:
    mode: open
  upload:
    mode: powersync
collections:
  todos: {}
  lists: {}
unlisted_collections: allow
`

// TestMetricsCountUploads uploads batches whose units are applied,
// rejected by validation, by a hook, and by MongoDB, and reads the counters
// from /metrics.
func TestMetricsCountUploads(t *testing.T) {
	reg := &hooks.Registry{}
	reg.Register("todos", func(_ context.Context, op *hooks.Op) error {
		if op.Data["title"] == "no" {
			return hooks.Reject("NO_TITLE", "a todo needs a title")
		}
		return nil
	})
	s := newTestServer(t, metricsConfig, reg)
	uniqueEmail(t)

	token := s.token(t, "alice")
	auth := map[string]string{"Authorization": "Bearer " + token}
	s.upload(t, auth, `{"batch":[
		{"op":"PUT","type":"todos","id":"t1","tx_id":1,"data":{"title":"a"}},
		{"op":"PATCH","type":"todos","id":"t1","tx_id":1,"data":{"title":"b"}},
		{"op":"PUT","type":"lists","id":"l1","tx_id":2,"data":{"$bad":1}},
		{"op":"DELETE","type":"lists","id":"l2","tx_id":2},
		{"op":"PUT","type":"secret_table_x7","id":"s1","tx_id":3,"data":{}},
		{"op":"PUT","type":"todos","id":"t2","tx_id":4,"data":{"title":"no"}}]}`)
	s.upload(t, auth, `{"batch":[
		{"op":"PUT","type":"lists","id":"e1","data":{"email":"a@x"}},
		{"op":"PUT","type":"lists","id":"e2","data":{"email":"a@x"}},
		{"op":"DELETE","type":"todos","id":"t1"}]}`)
	if status, _, body := s.do(t, "POST", "/upload", `{"batch":[]}`,
		map[string]string{"Authorization": "Bearer not.a.token"}); status != 401 {
		t.Fatalf("upload with a malformed token: %d %s, want 401", status, body)
	}
	s.do(t, "GET", "/no-such-route-q9", "", nil)

	// Without transactions MongoDB refuses e2 after e1 is written.
	last := map[string]float64{
		`psmongo_ops_applied_total{collection="lists",kind="PUT"}`:                                1,
		`psmongo_ops_rejected_total{code="DUPLICATE_KEY",collection="lists",kind="PUT"}`:          1,
		`psmongo_ops_rejected_total{code="UNIT_REJECTED",collection="todos",kind="DELETE"}`:       1,
		`psmongo_units_total{outcome="partial"}`:                                                  1,
		`psmongo_ops_rejected_total{code="UNIT_REJECTED",collection="lists",kind="DELETE"}`:       1,
		`psmongo_ops_rejected_total{code="INVALID_FIELD",collection="lists",kind="PUT"}`:          1,
		`psmongo_units_total{outcome="rejected"}`:                                                 2,
		`psmongo_http_request_duration_seconds_count{method="POST",route="/upload",status="200"}`: 2,
	}
	if s.applier.UsesTransactions() {
		delete(last, `psmongo_ops_applied_total{collection="lists",kind="PUT"}`)
		delete(last, `psmongo_units_total{outcome="partial"}`)
		last[`psmongo_ops_rejected_total{code="UNIT_REJECTED",collection="lists",kind="PUT"}`] = 1
		last[`psmongo_units_total{outcome="rejected"}`] = 3
	}
	want := map[string]float64{
		`psmongo_ops_applied_total{collection="todos",kind="PUT"}`:                                 1,
		`psmongo_ops_applied_total{collection="todos",kind="PATCH"}`:                               1,
		`psmongo_ops_applied_total{collection="$unlisted",kind="PUT"}`:                             1,
		`psmongo_ops_rejected_total{code="NO_TITLE",collection="todos",kind="PUT"}`:                1,
		`psmongo_units_total{outcome="applied"}`:                                                   2,
		`psmongo_mongodb_errors_total{class="duplicate_key"}`:                                      1,
		`psmongo_tokens_issued_total`:                                                              1,
		`psmongo_tokens_refused_total{endpoint="upload",reason="malformed"}`:                       1,
		`psmongo_http_requests_in_flight`:                                                          1, // the scrape
		`psmongo_http_request_duration_seconds_count{method="GET",route="unmatched",status="404"}`: 1,
		`psmongo_http_request_duration_seconds_count{method="GET",route="/token",status="200"}`:    1,
		`psmongo_http_request_duration_seconds_count{method="POST",route="/upload",status="401"}`:  1,
	}
	for k, v := range last {
		want[k] = v
	}

	body, got := s.scrape(t)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("/metrics (-want +got):\n%s", diff)
	}
	for _, leak := range []string{"secret_table_x7", "no-such-route-q9", "alice"} {
		if strings.Contains(body, leak) {
			t.Errorf("/metrics names %q, a value the client chose", leak)
		}
	}
}

// TestCodeLabelsAreBounded gives the code label more hook codes than it
// takes: the later ones share one value.
func TestCodeLabelsAreBounded(t *testing.T) {
	l := newCodeLabels()
	for i := range maxHookCodes {
		if code := fmt.Sprintf("HOOK_%d", i); l.label(code) != code {
			t.Fatalf("label(%q) = %q, want it kept", code, l.label(code))
		}
	}
	tests := []struct{ code, want string }{
		{"HOOK_0", "HOOK_0"},
		{"ONE_TOO_MANY", otherCode},
		{"TYPE_MISMATCH", "TYPE_MISMATCH"},
	}
	for _, tt := range tests {
		if got := l.label(tt.code); got != tt.want {
			t.Errorf("label(%q) = %q, want %q", tt.code, got, tt.want)
		}
	}
}

// token gets a token for user from /token.
func (s *testServer) token(t *testing.T, user string) string {
	t.Helper()
	status, _, body := s.do(t, "GET", "/token?user_id="+user, "", nil)
	var res struct{ Token string }
	if err := json.Unmarshal([]byte(body), &res); err != nil || status != 200 {
		t.Fatalf("GET /token: %d %s", status, body)
	}
	return res.Token
}

// upload posts a batch and fails the test unless it is answered with 200.
func (s *testServer) upload(t *testing.T, header map[string]string, batch string) {
	t.Helper()
	if status, _, body := s.do(t, "POST", "/upload", batch, header); status != 200 {
		t.Fatalf("POST /upload: %d %s", status, body)
	}
}

// scrape reads /metrics and returns its text and the samples of psmongo's
// counters and gauges, and the counts of its request histogram.
func (s *testServer) scrape(t *testing.T) (string, map[string]float64) {
	t.Helper()
	status, _, body := s.do(t, "GET", "/metrics", "", nil)
	if status != 200 {
		t.Fatalf("GET /metrics: %d %s", status, body)
	}
	samples := make(map[string]float64)
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "psmongo_") || strings.Contains(line, "_bucket{") ||
			strings.Contains(line, "_seconds_sum{") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("/metrics line %q: %v", line, err)
		}
		samples[line[:i]] = v
	}
	return body, samples
}

// uniqueEmail makes MongoDB refuse a second list with the same email.
func uniqueEmail(t *testing.T) {
	t.Helper()
	db := devstoretest.Client().Database(devstoretest.DatabaseName(t))
	_, err := db.Collection("lists").Indexes().CreateOne(t.Context(), mongo.IndexModel{
		Keys: bson.D{{Key: "email", Value: 1}}, Options: options.Index().SetUnique(true)})
	if err != nil {
		t.Fatal(err)
	}
}
