package cli

import (
	"bufio"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// TestDevstoreCommand runs the store alone, writes through the URI it
// prints, and stops it by cancelling the command's context, as a signal does.
func TestDevstoreCommand(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	out, w := io.Pipe()
	cmd := newRootCommand()
	cmd.SetOut(w)
	cmd.SetArgs([]string{"devstore", "--data-dir", filepath.Join(t.TempDir(), "mongo")})
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()

	uri, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the URI: %v", err)
	}
	uri = strings.TrimSpace(uri)
	if !strings.HasPrefix(uri, "mongodb://127.0.0.1:") {
		t.Fatalf("printed %q, want a mongodb:// URI on 127.0.0.1", uri)
	}

	client, err := mongo.Connect(ctx, options.Client().ApplyURI(uri).SetServerSelectionTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = client.Disconnect(context.Background()) }()
	if _, err := client.Database("d").Collection("c").InsertOne(ctx, bson.D{{Key: "_id", Value: "a"}}); err != nil {
		t.Fatalf("insert through the printed URI: %v", err)
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("devstore after cancel: %v", err)
	}
}
