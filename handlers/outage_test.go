package handlers_test

import (
	"context"
	"net/url"
	"strconv"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/psmongo/psmongo/devstore"
	"github.com/psmongo/psmongo/devstore/devstoretest"
)

// TestStoreOutage stops MongoDB between uploads: the upload gets a 503 with
// Retry-After and is kept by the client; once MongoDB is back the retried
// upload lands once, with nothing duplicated and nothing missing.
func TestStoreOutage(t *testing.T) {
	dir := t.TempDir()
	store, err := devstore.Start(t.Context(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(store.URI())
	port, _ := strconv.Atoi(u.Port())
	s := newServer(t, store.URI(), "")

	status, _, body := s.do(t, "POST", "/upload", `{"batch":[{"op":"PUT","type":"todos","id":"before","data":{"n":1}}]}`, nil)
	if status != 200 {
		t.Fatalf("upload before the outage: %d %s", status, body)
	}

	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	batch := `{"batch":[
		{"op_id":1,"op":"PUT","type":"todos","id":"a","tx_id":1,"data":{"n":1}},
		{"op_id":2,"op":"PUT","type":"todos","id":"b","tx_id":2,"data":{"$bad":1}},
		{"op_id":3,"op":"PATCH","type":"todos","id":"before","tx_id":3,"data":{"n":2}},
		{"op_id":4,"op":"PUT","type":"todos","id":"c","tx_id":3,"data":{"n":3}}]}`
	status, header, body := s.do(t, "POST", "/upload", batch, nil)
	if status != 503 || header.Get("Retry-After") == "" {
		t.Fatalf("upload during the outage: %d, Retry-After %q, %s; want 503 with Retry-After", status, header.Get("Retry-After"), body)
	}

	store, err = devstore.StartOnPort(t.Context(), dir, port, nil)
	if err != nil {
		t.Fatalf("restarting the store: %v", err)
	}
	t.Cleanup(func() { store.Close() })

	// The client retries the same batch until it gets a 200, as the SDK does.
	for try := 0; ; try++ {
		status, _, body = s.do(t, "POST", "/upload", batch, nil)
		if status == 200 || try == 20 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if status != 200 {
		t.Fatalf("upload after the outage: %d %s", status, body)
	}

	checkOutageState(t, store.URI(), devstoretest.DatabaseName(t))
}

func checkOutageState(t *testing.T, uri, dbName string) {
	t.Helper()
	client, err := mongo.Connect(t.Context(), options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(context.Background())
	db := client.Database(dbName)

	cur, err := db.Collection("todos").Find(t.Context(), bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		t.Fatal(err)
	}
	var docs []bson.M
	if err := cur.All(t.Context(), &docs); err != nil {
		t.Fatal(err)
	}
	want := []bson.M{{"_id": "a", "n": int32(1)}, {"_id": "before", "n": int32(2)}, {"_id": "c", "n": int32(3)}}
	if len(docs) != len(want) {
		t.Fatalf("todos = %v, want %v", docs, want)
	}
	for i := range want {
		if docs[i]["_id"] != want[i]["_id"] || docs[i]["n"] != want[i]["n"] {
			t.Errorf("todos[%d] = %v, want %v", i, docs[i], want[i])
		}
	}

	n, err := db.Collection("powersync_rejected_writes").CountDocuments(t.Context(), bson.D{})
	if err != nil || n != 1 {
		t.Errorf("dead letters = %d, %v; want exactly 1", n, err)
	}
}
