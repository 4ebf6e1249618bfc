package mongoapply

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"golang.org/x/sync/semaphore"
)

// Result is what applying a batch did. Every op of the batch is either
// counted in Applied or listed in Rejected.
type Result struct {
	Applied   int         `json:"applied"`
	Rejected  []Rejection `json:"rejected"`
	Unmatched []OpRef     `json:"unmatched,omitempty"` // PATCHes that found no document
}

// OpRef names one op of a batch.
type OpRef struct {
	Index int             `json:"index"`
	OpID  json.RawMessage `json:"op_id"`
	Table string          `json:"table"`
	ID    string          `json:"id"`
}

// Rejection is an op that was not applied, and why. The ops of a unit
// refused because of another of its ops carry code UNIT_REJECTED.
type Rejection struct {
	OpRef
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Applier applies batches of ops to one MongoDB database.
type Applier struct {
	db       *mongo.Database
	cfg      Config
	useTx    bool
	caps     Capabilities
	ferretDB bool      // the server is FerretDB: no Decimal128, narrow _id pushdown
	maxRun   int       // most ops in one command; 0 for no limit
	docLocks *docLocks // on FerretDB, which updates a document in two steps
	log      *slog.Logger

	// slots bounds the statements in flight to FerretDB; nil elsewhere.
	slots *semaphore.Weighted
}

// New returns an Applier for db. It asks the server what it supports: with
// cfg.Transactions auto, units use transactions where the deployment is a
// replica set; with always, New fails where it is not.
func New(ctx context.Context, db *mongo.Database, cfg Config) (*Applier, error) {
	if cfg.DeadLetter == "" {
		cfg.DeadLetter = DefaultDeadLetter
	}
	if cfg.Logger == nil {
		cfg.Logger = discardLogger()
	}
	cfg.Limits = cfg.Limits.withDefaults()
	a := &Applier{db: db, cfg: cfg, log: cfg.Logger.With("component", "mongoapply")}

	// With w: 0 MongoDB answers before it writes: a refused write, or a
	// PATCH that found nothing, would pass unseen, and a 200 would drop
	// from the client's queue ops that never reached the database.
	if wc := db.WriteConcern(); wc != nil && !wc.Acknowledged() {
		return nil, errors.New("config: mongodb.uri asks for unacknowledged writes (w=0), which cannot confirm an upload; use w=1 or w=majority")
	}
	caps, err := Probe(ctx, db.Client())
	if err != nil {
		return nil, err
	}
	if !caps.Transactions && cfg.Transactions == TxAlways {
		return nil, errors.New("config: mongodb.transactions: always, but the deployment is not a replica set")
	}
	a.useTx = caps.Transactions && cfg.Transactions != TxNever
	a.caps, a.ferretDB = caps, caps.FerretDB
	if a.ferretDB {
		a.maxRun, a.docLocks = ferretDBMaxRun, newDocLocks()
		a.slots = semaphore.NewWeighted(ferretDBSlots)
	}
	if err := a.ensureDeadLetterIndex(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

// FerretDB 1.24 on SQLite keeps the read of every update statement that
// matched a document open until its command ends, each on one of the 100
// connections of the database's pool, and needs one more for each write:
// an update command that matches about 100 documents hangs, holding the
// pool, and so do commands that together match as many. So psmongo sends
// at most ferretDBMaxRun ops in one command, and at most ferretDBSlots
// statements, counting one more per command for its write, are in flight
// at once. Commands of one op each would cost a round trip per op, which
// took three times psmongo's CPU time per op for PUT batches of 100.
// https://github.com/FerretDB/FerretDB/blob/v1.24.2/internal/handler/msg_update.go
const (
	ferretDBMaxRun = 50
	ferretDBSlots  = 90
)

// UsesTransactions reports whether units are written in transactions.
func (a *Applier) UsesTransactions() bool { return a.useTx }

// Capabilities returns what the deployment supports.
func (a *Applier) Capabilities() Capabilities { return a.caps }

// Capabilities is what a deployment supports, as far as writes care.
type Capabilities struct {
	Transactions bool // a replica set or a sharded cluster
	FerretDB     bool // FerretDB, such as the embedded store: no Decimal128
}

// Probe asks the deployment what it supports.
func Probe(ctx context.Context, client *mongo.Client) (Capabilities, error) {
	admin := client.Database("admin")
	var hello struct {
		SetName string `bson:"setName"`
		Msg     string `bson:"msg"`
	}
	if err := admin.RunCommand(ctx, bson.D{{Key: "hello", Value: 1}}).Decode(&hello); err != nil {
		return Capabilities{}, classify(fmt.Errorf("asking the deployment for its topology: %w", err))
	}

	var build bson.M
	if err := admin.RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Decode(&build); err != nil {
		return Capabilities{}, classify(fmt.Errorf("asking the deployment for its build: %w", err))
	}
	_, ferret := build["ferretdbVersion"]
	return Capabilities{Transactions: hello.SetName != "" || hello.Msg == "isdbgrid", FerretDB: ferret}, nil
}

// Apply applies ops as the user userID ("" when uploads are not
// authenticated). It returns an error wrapping ErrUnavailable when MongoDB
// failed in a way a retry may fix; units before that one may have been
// applied, which a retry repeats harmlessly.
//
// A retry repeats the batch from its first op. With put: merge, a PATCH of
// an id that a later PUT of the batch creates finds the document the first
// try made and sets its fields, which the first try did not: after the
// retry the document has them. Replacing PUTs, PATCHes and DELETEs leave
// exactly what one try would.
func (a *Applier) Apply(ctx context.Context, userID string, ops []Op) (*Result, error) {
	res := &Result{Rejected: []Rejection{}}
	for _, u := range splitUnits(ops) {
		if err := a.applyUnit(ctx, userID, ops[u.start:u.end], u.start, res); err != nil {
			a.observer().MongoError(ErrorClass(err))
			return nil, err
		}
	}
	return res, nil
}

// unit is a client transaction: ops[start:end] of a batch.
type unit struct{ start, end int }

// splitUnits cuts a batch where the transaction id changes. A batch without
// transaction ids is one unit.
func splitUnits(ops []Op) []unit {
	var units []unit
	for start := 0; start < len(ops); {
		end := start + 1
		for end < len(ops) && ops[end].TxID == ops[start].TxID {
			end++
		}
		units = append(units, unit{start, end})
		start = end
	}
	return units
}

// applyUnit validates and writes one unit; offset is its index in the batch.
func (a *Applier) applyUnit(ctx context.Context, userID string, ops []Op, offset int, res *Result) error {
	writes, unlock, r, err := a.validate(ctx, userID, ops)
	defer unlock()
	if err != nil {
		return err
	}
	if r != nil {
		return a.refuse(ctx, userID, ops, offset, *r, 0, res)
	}

	out, err := a.writeUnit(ctx, writes)
	for _, i := range out.unmatched {
		res.Unmatched = append(res.Unmatched, ref(&ops[i], offset+i))
	}
	var refused *writeRefused
	if errors.As(err, &refused) {
		a.observer().MongoError(refusalClass(refused.code))
		res.Applied += refused.applied
		return a.refuse(ctx, userID, ops, offset, refused.refusal, refused.applied, res)
	}
	if err != nil {
		return err
	}
	res.Applied += out.applied
	a.observer().Unit(UnitOutcome{Ops: ops, Applied: len(ops), Refused: -1})
	return nil
}

// refuse stores a refused unit in the dead-letter collection and lists its
// ops that were not applied, the ones from applied on.
func (a *Applier) refuse(ctx context.Context, userID string, ops []Op, offset int, r refusal, applied int, res *Result) error {
	r.message = shorten(r.message, maxMessage)
	if err := a.deadLetter(ctx, userID, ops, r, applied); err != nil {
		return err
	}
	a.log.WarnContext(ctx, "unit rejected",
		slog.String("code", r.code), slog.String("table", shorten(ops[r.index].Table, maxLoggedName)),
		slog.Int("op_index", offset+r.index), slog.Int("ops", len(ops)),
		slog.Int("applied", applied), slog.String("user_id", shorten(userID, maxLoggedName)))
	a.observer().Unit(UnitOutcome{Ops: ops, Applied: applied, Refused: r.index, Code: r.code})

	for i := applied; i < len(ops); i++ {
		rej := Rejection{OpRef: ref(&ops[i], offset+i), Code: r.code, Message: r.message}
		if i != r.index {
			rej.Code = CodeUnitRejected
			rej.Message = fmt.Sprintf("not applied: op %d of the same transaction was rejected", offset+r.index)
		}
		res.Rejected = append(res.Rejected, rej)
	}
	return nil
}

// maxMessage caps a refusal message: MongoDB's own may quote a whole value.
const maxMessage = 500

// maxLoggedName is how much of a name the client chose, a table or a user
// id, a log line holds: the body limit is all that bounds a table name.
const maxLoggedName = 128

// shorten cuts s to at most n bytes on a rune boundary.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

func ref(op *Op, index int) OpRef {
	opID := op.OpID
	if !utf8.Valid(opID) {
		// Bytes that are not UTF-8 can stand only inside a JSON string;
		// the answer must be valid JSON text, as the id's U+FFFD is.
		opID = bytes.ToValidUTF8(opID, []byte("\uFFFD"))
	}
	return OpRef{Index: index, OpID: opID, Table: op.Table, ID: op.ID}
}

func discardLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}
