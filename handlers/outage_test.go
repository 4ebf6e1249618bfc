package handlers_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/psmongo/psmongo/devstore"
	"github.com/psmongo/psmongo/devstore/devstoretest"
)

// outageStore is an embedded store of the test's own, which the test stops
// and starts again on the same data directory and port.
type outageStore struct {
	*devstore.Store
	dir  string
	port int
}

func startOutageStore(t *testing.T) *outageStore {
	t.Helper()
	dir := t.TempDir()
	s, err := devstore.Start(t.Context(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(s.URI())
	port, _ := strconv.Atoi(u.Port())
	st := &outageStore{Store: s, dir: dir, port: port}
	t.Cleanup(func() { st.Close() })
	return st
}

// stop stops the store; the data stays in its directory.
func (s *outageStore) stop(t *testing.T) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("stopping the store: %v", err)
	}
}

// restart starts the store again on its data directory and port.
func (s *outageStore) restart(t *testing.T) {
	t.Helper()
	store, err := devstore.StartOnPort(t.Context(), s.dir, s.port, nil)
	if err != nil {
		t.Fatalf("restarting the store: %v", err)
	}
	s.Store = store
}

// outageClient is an HTTP client whose timeout is a hang guard: an answer
// that has not come by then fails the test, since the driver's default
// server selection alone would take 30 s.
var outageClient = &http.Client{Timeout: 25 * time.Second}

func (s *testServer) doGuarded(t *testing.T, method, path, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := outageClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v (no answer: the server hangs)", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", method, path, err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// retryUntilOK posts body as the SDK does after a failure, until a 200.
func retryUntilOK(t *testing.T, s *testServer, body string) string {
	t.Helper()
	for try := 0; ; try++ {
		status, _, answer := s.doGuarded(t, "POST", "/upload", body)
		if status == 200 {
			return answer
		}
		if try == 60 {
			t.Fatalf("upload after the outage: %d %s", status, answer)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// TestStoreOutage stops MongoDB between uploads: the upload gets a 503 with
// Retry-After and is kept by the client, and /readyz turns red; once
// MongoDB is back /readyz is green again and the retried upload lands
// once, with nothing duplicated and nothing missing.
func TestStoreOutage(t *testing.T) {
	store := startOutageStore(t)
	s := newServer(t, store.URI(), "")

	first := `{"batch":[{"op":"PUT","type":"todos","id":"before","data":{"n":1}}]}`
	status, _, body := s.doGuarded(t, "POST", "/upload", first)
	if status != 200 {
		t.Fatalf("upload before the outage: %d %s", status, body)
	}

	store.stop(t)
	batch := `{"batch":[
		{"op_id":1,"op":"PUT","type":"todos","id":"a","tx_id":1,"data":{"n":1}},
		{"op_id":2,"op":"PUT","type":"todos","id":"b","tx_id":2,"data":{"$bad":1}},
		{"op_id":3,"op":"PATCH","type":"todos","id":"before","tx_id":3,"data":{"n":2}},
		{"op_id":4,"op":"PUT","type":"todos","id":"c","tx_id":3,"data":{"n":3}}]}`
	status, header, body := s.doGuarded(t, "POST", "/upload", batch)
	if status != 503 || header.Get("Retry-After") == "" || !strings.Contains(body, `"code":"UNAVAILABLE"`) {
		t.Fatalf("upload during the outage: %d, Retry-After %q, %s; want 503 with Retry-After",
			status, header.Get("Retry-After"), body)
	}
	if status, _, body := s.doGuarded(t, "GET", "/readyz", ""); status != 503 {
		t.Errorf("GET /readyz during the outage: %d %s, want 503", status, body)
	}

	store.restart(t)
	retryUntilOK(t, s, batch)
	if status, _, body := s.doGuarded(t, "GET", "/readyz", ""); status != 200 {
		t.Errorf("GET /readyz after the outage: %d %s, want 200", status, body)
	}

	db := connect(t, store.URI()).Database(devstoretest.DatabaseName(t))
	want := map[string]bson.M{
		"a":      {"_id": "a", "n": int32(1)},
		"before": {"_id": "before", "n": int32(2)},
		"c":      {"_id": "c", "n": int32(3)},
	}
	compareDocuments(t, db.Collection("todos"), want)
	if n := countDeadLetters(t, db); n != 1 {
		t.Errorf("dead letters = %d, want exactly 1", n)
	}
}

// TestStoreHangs puts a network that drops everything between psmongo and
// MongoDB: uploads and /readyz answer 503 within server.request_timeout
// instead of waiting, and recover when the network does.
func TestStoreHangs(t *testing.T) {
	store := startOutageStore(t)
	proxy := newWireProxy(t, hostPort(store.URI()), devstoretest.DatabaseName(t))
	t.Setenv("PSMONGO_SERVER_REQUEST_TIMEOUT", "1s")
	s := newServer(t, proxy.URI(), "")
	batch := `{"batch":[{"op":"PUT","type":"todos","id":"a","data":{"n":1}}]}`

	proxy.Hang()
	status, header, body := s.doGuarded(t, "POST", "/upload", batch)
	if status != 503 || header.Get("Retry-After") == "" {
		t.Errorf("upload while MongoDB hangs: %d %s, want 503 with Retry-After", status, body)
	}
	if status, _, body := s.doGuarded(t, "GET", "/readyz", ""); status != 503 {
		t.Errorf("GET /readyz while MongoDB hangs: %d %s, want 503", status, body)
	}

	proxy.Resume()
	retryUntilOK(t, s, batch)
	if status, _, _ := s.doGuarded(t, "GET", "/readyz", ""); status != 200 {
		t.Errorf("GET /readyz after MongoDB came back: %d, want 200", status)
	}
	db := connect(t, store.URI()).Database(devstoretest.DatabaseName(t))
	compareDocuments(t, db.Collection("todos"), map[string]bson.M{"a": {"_id": "a", "n": int32(1)}})
}

// midBatch is the batch TestStoreDiesMidBatch cuts: four units that PUT,
// PATCH and DELETE, one of them refused by validation.
const midBatch = `{"batch":[
	{"op_id":1,"op":"PUT","type":"todos","id":"a","tx_id":1,"data":{"n":1,"s":"x"}},
	{"op_id":2,"op":"PATCH","type":"todos","id":"p1","tx_id":1,"data":{"n":2}},
	{"op_id":3,"op":"DELETE","type":"todos","id":"gone","tx_id":1},
	{"op_id":4,"op":"PUT","type":"todos","id":"b","tx_id":2,"data":{"$bad":1}},
	{"op_id":5,"op":"PATCH","type":"todos","id":"a","tx_id":3,"data":{"m":3}},
	{"op_id":6,"op":"PUT","type":"todos","id":"c","tx_id":3,"data":{"n":3}},
	{"op_id":7,"op":"DELETE","type":"todos","id":"p1","tx_id":3},
	{"op_id":8,"op":"PUT","type":"todos","id":"p1","tx_id":3,"data":{"n":9}},
	{"op_id":9,"op":"PATCH","type":"todos","id":"ghost","tx_id":3,"data":{"n":1}},
	{"op_id":10,"op":"PUT","type":"todos","id":"d","tx_id":4,"data":{"n":4}},
	{"op_id":11,"op":"PATCH","type":"todos","id":"d","tx_id":4,"data":{"n":5}}]}`

// midBatchWant is the state the batch describes, from the state before it.
var midBatchWant = map[string]bson.M{
	"a":  {"_id": "a", "n": int32(1), "s": "x", "m": int32(3)},
	"c":  {"_id": "c", "n": int32(3)},
	"p1": {"_id": "p1", "n": int32(9)},
	"d":  {"_id": "d", "n": int32(5)},
}

// TestStoreDiesMidBatch cuts MongoDB off at each write of a batch in turn,
// once before the write reaches it and once after it applied the write but
// before psmongo heard so: the store is stopped there, inside a unit, and
// started again on the same data directory and port. The client gets a 503
// and retries until it gets a 200; the final state must be the one the
// batch describes, document by document, with its refused unit stored
// once.
//
// The embedded store has no transactions, so a unit cut there is partly
// applied until the retry. The retry repeats every op, each idempotent (a
// PUT replaces, a PATCH sets, a DELETE deletes), in the batch's order, and
// every id this batch PATCHes first is PUT or DELETEd after in the batch:
// repeating an applied prefix changes nothing the rest does not set again.
func TestStoreDiesMidBatch(t *testing.T) {
	writes := midBatchWrites(t)
	for _, after := range []bool{false, true} {
		for at := 1; at <= writes; at++ {
			name := fmt.Sprintf("before write %d", at)
			if after {
				name = fmt.Sprintf("after write %d", at)
			}
			t.Run(name, func(t *testing.T) { cutMidBatch(t, at, after) })
		}
	}
}

// midBatchWrites counts the write commands a whole run of midBatch sends.
func midBatchWrites(t *testing.T) int {
	t.Helper()
	store := startOutageStore(t)
	proxy := newWireProxy(t, hostPort(store.URI()), devstoretest.DatabaseName(t))
	s := newServer(t, proxy.URI(), "")
	seedMidBatch(t, s)
	before := proxy.Writes()
	retryUntilOK(t, s, midBatch)
	return proxy.Writes() - before
}

func seedMidBatch(t *testing.T, s *testServer) {
	t.Helper()
	status, _, body := s.doGuarded(t, "POST", "/upload", `{"batch":[
		{"op":"PUT","type":"todos","id":"p1","data":{"n":1}},
		{"op":"PUT","type":"todos","id":"gone","data":{"n":1}}]}`)
	if status != 200 {
		t.Fatalf("seeding: %d %s", status, body)
	}
}

func cutMidBatch(t *testing.T, at int, after bool) {
	store := startOutageStore(t)
	proxy := newWireProxy(t, hostPort(store.URI()), devstoretest.DatabaseName(t))
	s := newServer(t, proxy.URI(), "")
	seedMidBatch(t, s)

	cut := proxy.CutAt(at, after)
	status, header, body := s.doGuarded(t, "POST", "/upload", midBatch)
	if status != 503 || header.Get("Retry-After") == "" {
		t.Fatalf("upload cut at write %d: %d %s, want 503 with Retry-After", at, status, body)
	}
	select {
	case <-cut:
	case <-time.After(hangGuard):
		t.Fatalf("the upload got a 503, but the proxy never cut at write %d", at)
	}
	store.stop(t)
	store.restart(t)
	proxy.Resume()

	answer := retryUntilOK(t, s, midBatch)
	if !strings.Contains(answer, `"applied":10`) || !strings.Contains(answer, `"code":"INVALID_FIELD"`) {
		t.Errorf("retried upload = %s, want 10 applied and op 3 rejected", answer)
	}
	db := connect(t, store.URI()).Database(devstoretest.DatabaseName(t))
	compareDocuments(t, db.Collection("todos"), midBatchWant)
	if n := countDeadLetters(t, db); n != 1 {
		t.Errorf("dead letters = %d, want the refused unit once", n)
	}
}

func hostPort(uri string) string {
	return strings.TrimSuffix(strings.TrimPrefix(uri, "mongodb://"), "/")
}

// connect returns a client of the store at uri, disconnected when the
// test ends.
func connect(t *testing.T, uri string) *mongo.Client {
	t.Helper()
	opts := options.Client().ApplyURI(uri).SetServerSelectionTimeout(10 * time.Second)
	client, err := mongo.Connect(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Disconnect(context.Background()) })
	return client
}

func countDeadLetters(t *testing.T, db *mongo.Database) int64 {
	t.Helper()
	n, err := db.Collection("powersync_rejected_writes").CountDocuments(t.Context(), bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// allDocuments reads every document of coll.
func allDocuments(t *testing.T, coll *mongo.Collection) []bson.M {
	t.Helper()
	cur, err := coll.Find(t.Context(), bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	var docs []bson.M
	if err := cur.All(t.Context(), &docs); err != nil {
		t.Fatal(err)
	}
	return docs
}

// compareDocuments compares every document of coll with want, by _id.
func compareDocuments(t *testing.T, coll *mongo.Collection, want map[string]bson.M) {
	t.Helper()
	docs := allDocuments(t, coll)
	got := make(map[string]bson.M, len(docs))
	for _, d := range docs {
		got[fmt.Sprint(d["_id"])] = d
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", coll.Name(), diff)
	}
}
