package handlers_test

import (
	"context"
	"testing"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/psmongo/psmongo/devstore/devstoretest"
)

// TestSchemaValidators starts the server with schema: validators: field
// types come from the collection's $jsonSchema, read at start-up.
func TestSchemaValidators(t *testing.T) {
	cfg := "collections:\n  todos:\n    schema: validators\n"
	if devstoretest.Embedded() {
		// The embedded store refuses validators: the server starts, warns,
		// and values keep their JSON types.
		s := newServer(t, "", cfg)
		runScenarios(t, s, []scenario{{name: "write without a validator", method: "POST", path: "/upload",
			body: `{"batch":[{"op":"PUT","type":"todos","id":"a","data":{"done":1}}]}`, status: 200,
			want: []string{`"applied":1`}}})
		t.Skip("the embedded store has no validators; set " + devstoretest.EnvURI + " to test reading them")
	}

	db := devstoretest.Database(t)
	schema := bson.D{{Key: "$jsonSchema", Value: bson.D{{Key: "bsonType", Value: "object"}, {Key: "properties", Value: bson.D{
		{Key: "done", Value: bson.D{{Key: "bsonType", Value: "bool"}}},
		{Key: "at", Value: bson.D{{Key: "bsonType", Value: bson.A{"date", "null"}}}},
	}}}}}
	if err := db.CreateCollection(t.Context(), "todos", options.CreateCollection().SetValidator(schema)); err != nil {
		t.Fatal(err)
	}
	s := newServer(t, "", cfg)
	runScenarios(t, s, []scenario{{name: "typed by the validator", method: "POST", path: "/upload",
		body:   `{"batch":[{"op":"PUT","type":"todos","id":"a","data":{"done":1,"at":"2026-12-04 15:55:11"}}]}`,
		status: 200, want: []string{`"applied":1`}}})

	var doc bson.M
	if err := db.Collection("todos").FindOne(context.Background(), bson.M{"_id": "a"}).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if doc["done"] != true {
		t.Errorf("done = %v (%T), want true from the validator's bool", doc["done"], doc["done"])
	}
}
