package app

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
	"go.mongodb.org/mongo-driver/mongo/readpref"
	"go.mongodb.org/mongo-driver/x/mongo/driver/auth"
	"go.mongodb.org/mongo-driver/x/mongo/driver/connstring"
	"go.mongodb.org/mongo-driver/x/mongo/driver/topology"
)

// DefaultDoctorTimeout bounds each call doctor makes to MongoDB, connecting
// included, when DoctorOptions gives no timeout.
const DefaultDoctorTimeout = 5 * time.Second

// CheckLevel says how a check came out.
type CheckLevel string

// The check levels, from fine to blocking.
const (
	// CheckOK means the item is ready for PowerSync.
	CheckOK CheckLevel = "ok"
	// CheckWarn means a development-only mode or a missing optional thing:
	// sync works, but not as production should have it.
	CheckWarn CheckLevel = "warn"
	// CheckFail means sync breaks, or serve does not start.
	CheckFail CheckLevel = "fail"
)

// The post_images modes of the PowerSync Service's MongoDB connection, as
// DoctorOptions.PostImages takes them.
const (
	PostImagesOff           = "off"
	PostImagesAutoConfigure = "auto_configure"
	PostImagesReadOnly      = "read_only"
)

// Check is one item of psmongo doctor. Every check that is not ok says how
// to fix it.
type Check struct {
	ID      string     `json:"id"`      // what was checked, such as mongodb.version
	Level   CheckLevel `json:"level"`   // ok, warn or fail
	Message string     `json:"message"` // what was found, on one line
	Fix     string     `json:"fix"`     // what to do about it; empty when ok
}

// DoctorOptions tunes Doctor.
type DoctorOptions struct {
	// Timeout bounds each call to MongoDB; zero means DefaultDoctorTimeout.
	Timeout time.Duration
	// PostImages is the post_images setting of the PowerSync Service's
	// MongoDB connection, which psmongo cannot read: off, auto_configure,
	// read_only, or empty when unknown.
	PostImages string
}

// Doctor checks, item by item, that MongoDB, the keys and the settings are
// ready for PowerSync. It reads and never writes: it neither starts the
// embedded store nor creates a development key.
func Doctor(ctx context.Context, cfg *Config, opts DoctorOptions) []Check {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultDoctorTimeout
	}

	checks := []Check{judgeConfigFile(cfg)}
	checks = append(checks, doctorMongo(ctx, cfg, opts)...)
	return append(checks, judgeSettings(cfg)...)
}

// DoctorFile runs Doctor on the configuration that file (or the default
// file) and the environment give. A configuration that does not load is
// itself a failed check.
func DoctorFile(ctx context.Context, file string, opts DoctorOptions) []Check {
	cfg, err := LoadConfig(file)
	if err != nil {
		return []Check{{
			// The check's id already says "config".
			ID: "config", Level: CheckFail, Message: strings.TrimPrefix(err.Error(), "config: "),
			Fix: "correct the key the message names, in the config file or the environment",
		}}
	}
	return Doctor(ctx, cfg, opts)
}

// doctorMongo connects to mongodb.uri, gathers the deployment's answers and
// judges them. A deployment it cannot reach gives one failed check.
func doctorMongo(ctx context.Context, cfg *Config, opts DoctorOptions) []Check {
	if cfg.MongoDB.URI == "" {
		return embeddedStoreChecks(cfg)
	}

	db, hosts, err := doctorConnect(ctx, cfg, opts.Timeout)
	if err != nil {
		return []Check{judgeConnect(err, hosts, opts.Timeout)}
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opts.Timeout)
		defer cancel()
		_ = db.Client().Disconnect(dctx)
	}()

	a := gather(ctx, db, cfg.MongoDB.DeadLetter, opts.Timeout)
	connected := Check{
		ID: "mongodb", Level: CheckOK,
		Message: fmt.Sprintf("connected to %s, database %q", hosts, db.Name()),
	}
	return append([]Check{connected}, judgeDeployment(a, cfg, opts.PostImages)...)
}

// embeddedStoreChecks judges the embedded store that serve starts without
// mongodb.uri, by what it is known to lack, without starting it: starting
// it would write under the data directory.
func embeddedStoreChecks(cfg *Config) []Check {
	ferret := &serverAnswers{
		Hello:        answer{Doc: mustMarshal(bson.D{{Key: "isWritablePrimary", Value: true}})},
		BuildInfo:    answer{Doc: mustMarshal(bson.D{{Key: "ferretdbVersion", Value: "unknown"}})},
		ChangeStream: answer{Err: errors.New("not implemented")},
	}
	return []Check{
		{
			ID: "mongodb", Level: CheckWarn,
			Message: fmt.Sprintf("no mongodb.uri: serve starts the embedded development store under %s",
				filepath.Join(cfg.DataDir, "mongo")),
			Fix: "set MONGO_URI (mongodb.uri) to a MongoDB 6.0+ replica set",
		},
		judgeReplicaSet(ferret),
		judgeChangeStream(ferret),
		judgeTransactions(ferret, cfg.MongoDB.Transactions),
	}
}

// mustMarshal marshals a document that is known to marshal.
func mustMarshal(d bson.D) bson.Raw {
	raw, err := bson.Marshal(d)
	if err != nil {
		panic(err)
	}
	return raw
}

// doctorConnect connects to mongodb.uri and pings the primary, within
// timeout however the URI sets its own timeouts. hosts names the
// deployment's hosts, without credentials, for messages.
func doctorConnect(
	ctx context.Context, cfg *Config, timeout time.Duration,
) (db *mongo.Database, hosts string, err error) {
	cs, err := connstring.ParseAndValidate(cfg.MongoDB.URI)
	if err != nil {
		return nil, "", fmt.Errorf("config: mongodb.uri: %v", oneLine(err))
	}
	hosts = strings.Join(cs.Hosts, ",")

	opts := options.Client().ApplyURI(cfg.MongoDB.URI).
		SetServerSelectionTimeout(timeout).SetConnectTimeout(timeout)
	client, err := mongo.Connect(ctx, opts)
	if err != nil {
		return nil, hosts, err
	}

	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := client.Ping(pctx, readpref.Primary()); err != nil {
		_ = client.Disconnect(context.WithoutCancel(pctx))
		return nil, hosts, err
	}
	return client.Database(databaseName(cfg, cs)), hosts, nil
}

// judgeConnect turns a failure to connect into its check, telling bad
// credentials from a deployment that does not answer.
func judgeConnect(err error, hosts string, timeout time.Duration) Check {
	c := Check{ID: "mongodb", Level: CheckFail}
	var authErr *auth.Error
	var selErr topology.ServerSelectionError
	switch {
	case hosts == "":
		c.Message = err.Error()
		c.Fix = "correct mongodb.uri (MONGO_URI): mongodb://user:password@host:27017/db?replicaSet=rs0"
	case errors.As(err, &authErr):
		c.Message = fmt.Sprintf("%s refused the credentials: %s", hosts, oneLine(err))
		c.Fix = "check the user, password and authSource in mongodb.uri (MONGO_URI)"
	case errors.As(err, &selErr):
		c.Message = fmt.Sprintf("no primary among %s within %s: a replica set without one, "+
			"or a wrong replicaSet name", hosts, timeout)
		if last := lastServerError(selErr); last != "" {
			c.Message = fmt.Sprintf("no answer from %s within %s: %s", hosts, timeout, last)
		}
		c.Fix = "check that MongoDB runs and that mongodb.uri (MONGO_URI) names its hosts, " +
			"port, TLS settings and replicaSet; and that this machine can reach them"
	default:
		c.Message = fmt.Sprintf("connecting to %s: %s", hosts, oneLine(err))
		c.Fix = "check mongodb.uri (MONGO_URI) and that MongoDB runs"
	}
	return c
}

// lastServerError returns the first last error of the servers the driver
// tried, which says more than the selection timeout that wraps it, or ""
// when every server answered.
func lastServerError(e topology.ServerSelectionError) string {
	for _, s := range e.Desc.Servers {
		if s.LastError != nil {
			return oneLine(s.LastError)
		}
	}
	return ""
}
