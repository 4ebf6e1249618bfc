package app

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
	"go.mongodb.org/mongo-driver/mongo/readpref"
	"go.mongodb.org/mongo-driver/x/mongo/driver/connstring"

	"github.com/psmongo/psmongo/devstore"
)

// defaultDatabase is used when neither the config nor the URI names one.
const defaultDatabase = "powersync"

// Store is the MongoDB the server writes to, and the embedded store behind
// it when there is one.
type Store struct {
	Client *mongo.Client
	DB     *mongo.Database
	dev    *devstore.Store
}

// OpenStore connects to mongodb.uri or, when it is empty, starts the
// embedded development store under the data directory.
func OpenStore(ctx context.Context, cfg *Config, logger *slog.Logger) (*Store, error) {
	s := &Store{}
	uri := cfg.MongoDB.URI
	if uri == "" {
		dir := filepath.Join(cfg.DataDir, "mongo")
		dev, err := devstore.Start(ctx, dir, logger)
		if err != nil {
			return nil, fmt.Errorf("starting the embedded store: %w", err)
		}
		s.dev, uri = dev, dev.URI()
		logger.Warn("using the embedded development store",
			slog.String("note", "no change streams: the PowerSync Service cannot replicate from it; set mongodb.uri"),
			slog.String("dir", dir), slog.String("uri", uri))
	}

	if err := s.connect(ctx, cfg, uri); err != nil {
		s.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	logger.Info("mongodb connected", slog.String("database", s.DB.Name()))
	return s, nil
}

func (s *Store) connect(ctx context.Context, cfg *Config, uri string) error {
	cs, err := connstring.ParseAndValidate(uri)
	if err != nil {
		return fmt.Errorf("config: mongodb.uri: %v", oneLine(err))
	}

	// A request should not wait 30 s, the driver's default, to learn that
	// MongoDB is down: the client retries after a 503 anyway.
	opts := options.Client().SetServerSelectionTimeout(5 * time.Second).ApplyURI(uri)
	s.Client, err = mongo.Connect(ctx, opts)
	if err != nil {
		return fmt.Errorf("connecting to mongodb: %w", err)
	}

	pingCtx, cancel := context.WithTimeout(ctx, cfg.MongoDB.ConnectTimeout)
	defer cancel()
	if err := s.Client.Ping(pingCtx, readpref.Primary()); err != nil {
		return fmt.Errorf("connecting to mongodb at %s: %w", redactedHosts(cs), err)
	}

	s.DB = s.Client.Database(databaseName(cfg, cs))
	return nil
}

// databaseName returns mongodb.database, else the database the URI names,
// else defaultDatabase.
func databaseName(cfg *Config, cs *connstring.ConnString) string {
	return cmp.Or(cfg.MongoDB.Database, cs.Database, defaultDatabase)
}

// Ping checks that MongoDB answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.Client.Ping(ctx, readpref.Primary())
}

// Embedded reports whether the store is the embedded development store.
func (s *Store) Embedded() bool { return s.dev != nil }

// Close disconnects and stops the embedded store, if any.
func (s *Store) Close(ctx context.Context) {
	if s.Client != nil {
		_ = s.Client.Disconnect(ctx)
	}
	if s.dev != nil {
		_ = s.dev.Close()
	}
}

// redactedHosts names the hosts of a connection string without its
// credentials, for messages.
func redactedHosts(cs *connstring.ConnString) string {
	return fmt.Sprint(cs.Hosts)
}
