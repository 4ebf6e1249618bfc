package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/psmongo/psmongo/mongoapply"
)

// Check levels, from fine to blocking.
const (
	CheckOK   = "ok"
	CheckWarn = "warn"
	CheckFail = "FAIL"
)

// Check is one item of psmongo doctor.
type Check struct {
	Level  string
	Item   string
	Detail string
}

// Doctor checks, item by item, that MongoDB and the keys are ready for
// PowerSync. It never starts the embedded store.
func Doctor(ctx context.Context, cfg *Config) []Check {
	var checks []Check
	add := func(level, item, format string, args ...any) {
		checks = append(checks, Check{Level: level, Item: item, Detail: fmt.Sprintf(format, args...)})
	}

	doctorConfig(cfg, add)
	doctorKeys(cfg, add)
	if cfg.MongoDB.URI == "" {
		add(CheckFail, "mongodb", "no mongodb.uri: serve would use the embedded development store, "+
			"which has no change streams, so the PowerSync Service cannot replicate from it")
		return checks
	}

	ctx, cancel := context.WithTimeout(ctx, cfg.MongoDB.ConnectTimeout)
	defer cancel()
	s := &Store{}
	if err := s.connect(ctx, cfg, cfg.MongoDB.URI); err != nil {
		add(CheckFail, "mongodb", "%v", oneLine(err))
		return checks
	}
	defer s.Close(context.WithoutCancel(ctx))
	add(CheckOK, "mongodb", "connected, database %q", s.DB.Name())
	doctorMongo(ctx, cfg, s, add)
	return checks
}

type addFunc func(level, item, format string, args ...any)

func doctorConfig(cfg *Config, add addFunc) {
	if cfg.File == "" {
		add(CheckWarn, "config", "no config file; defaults and the environment only")
	} else {
		add(CheckOK, "config", "%s loads", cfg.File)
	}
	if strings.Contains(cfg.PowerSyncURL, "://localhost") || strings.Contains(cfg.PowerSyncURL, "://127.") {
		add(CheckWarn, "powersync.url", "%s is local; set POWERSYNC_URL to your PowerSync instance, the tokens' audience", cfg.PowerSyncURL)
	} else {
		add(CheckOK, "powersync.url", "%s", cfg.PowerSyncURL)
	}
	if cfg.Auth.TokenMode == TokenOpen {
		add(CheckWarn, "auth.token.mode", "open: anyone can get a token for any user; use upstream in production")
	}
	if cfg.Auth.UploadMode == UploadNone {
		add(CheckWarn, "auth.upload.mode", "none: uploads are not authenticated")
	}
	if !cfg.RejectUnlisted {
		add(CheckWarn, "unlisted_collections", "allow: clients can write any collection; list yours and set reject")
	}
}

func doctorKeys(cfg *Config, add addFunc) {
	if cfg.Auth.PrivateKey == "" {
		add(CheckWarn, "keys", "no POWERSYNC_PRIVATE_KEY: serve uses a development key under %s; "+
			"generate one with psmongo keys generate", cfg.DataDir)
		return
	}
	set, err := LoadKeys(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		add(CheckFail, "keys", "%v", err)
		return
	}
	add(CheckOK, "keys", "kid %s (%s), %d key(s) in the JWKS", set.Current().ID, set.Current().Alg, len(set.Keys()))
}

func doctorMongo(ctx context.Context, cfg *Config, s *Store, add addFunc) {
	caps, err := mongoapply.Probe(ctx, s.Client)
	if err != nil {
		add(CheckFail, "mongodb", "%v", err)
		return
	}
	if caps.FerretDB {
		add(CheckFail, "deployment", "FerretDB: no change streams for PowerSync, no Decimal128")
	}
	if caps.Transactions {
		add(CheckOK, "replica set", "yes: change streams and transactions are available")
	} else {
		add(CheckFail, "replica set", "no: PowerSync needs a replica set for change streams")
		if cfg.MongoDB.Transactions == mongoapply.TxAlways {
			add(CheckFail, "mongodb.transactions", "always, but the deployment has no transactions")
		}
	}
	doctorVersion(ctx, s, add)
	if caps.Transactions && !caps.FerretDB {
		doctorChangeStream(ctx, s, add)
	}
	doctorCollections(ctx, cfg, s, add)
}

// doctorVersion checks the server version; PowerSync needs MongoDB 6.0.
func doctorVersion(ctx context.Context, s *Store, add addFunc) {
	var build struct {
		Version string `bson:"version"`
	}
	if err := s.Client.Database("admin").RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Decode(&build); err != nil {
		add(CheckWarn, "version", "unknown: %v", oneLine(err))
		return
	}
	major, _ := strconv.Atoi(strings.SplitN(build.Version, ".", 2)[0])
	if major < 6 {
		add(CheckFail, "version", "MongoDB %s; PowerSync needs 6.0 or later", build.Version)
		return
	}
	add(CheckOK, "version", "MongoDB %s", build.Version)
}

// doctorChangeStream opens and closes a change stream on the database, as
// the PowerSync Service will.
func doctorChangeStream(ctx context.Context, s *Store, add addFunc) {
	opts := options.ChangeStream().SetMaxAwaitTime(100 * time.Millisecond)
	cs, err := s.DB.Watch(ctx, mongo.Pipeline{}, opts)
	if err != nil {
		add(CheckFail, "change streams", "cannot watch %q: %v", s.DB.Name(), oneLine(err))
		return
	}
	_ = cs.Close(ctx)
	add(CheckOK, "change streams", "the database can be watched")
}

func doctorCollections(ctx context.Context, cfg *Config, s *Store, add addFunc) {
	names, err := s.DB.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		add(CheckWarn, "collections", "cannot list: %v", oneLine(err))
		return
	}
	have := make(map[string]bool, len(names))
	for _, n := range names {
		have[n] = true
	}
	for _, name := range sortedKeys(cfg.Collections) {
		c := cfg.Collections[name]
		switch {
		case !have[name]:
			add(CheckWarn, "collections."+name, "does not exist yet; the first write creates it")
		case c.Schema == "validators":
			_, ok, err := mongoapply.CollectionValidator(ctx, s.DB, name)
			if err != nil || !ok {
				add(CheckWarn, "collections."+name, "schema: validators, but it has no validator")
				continue
			}
			add(CheckOK, "collections."+name, "exists, with a validator")
		default:
			add(CheckOK, "collections."+name, "exists")
		}
	}

	n, err := s.DB.Collection(cfg.MongoDB.DeadLetter).CountDocuments(ctx, bson.D{})
	switch {
	case err != nil:
		add(CheckWarn, "dead letters", "cannot count: %v", oneLine(err))
	case n > 0:
		add(CheckWarn, "dead letters", "%d refused unit(s) in %q await review", n, cfg.MongoDB.DeadLetter)
	default:
		add(CheckOK, "dead letters", "none in %q", cfg.MongoDB.DeadLetter)
	}
}
