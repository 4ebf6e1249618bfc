package mongoapply

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"

	"github.com/psmongo/psmongo/hooks"
)

// outcome is what writing a unit did.
type outcome struct {
	applied   int   // ops of the unit now in MongoDB, from the first
	unmatched []int // unit indexes of PATCHes that matched no document
}

// writeRefused is MongoDB refusing one write of a unit, such as a document
// validation failure or a duplicate key.
type writeRefused struct {
	refusal
	applied int // ops before it that were written
}

func (e *writeRefused) Error() string { return e.code + ": " + e.message }

// writeUnit writes a validated unit, in a transaction when the deployment
// has them. A *writeRefused error means MongoDB refused one of its writes;
// in a transaction nothing of the unit was then written.
func (a *Applier) writeUnit(ctx context.Context, writes []write) (outcome, error) {
	if !a.useTx {
		// Without a transaction a unit is not isolated on MongoDB: the
		// writes of other requests to its documents can fall between its
		// ops, each of which is atomic on its document alone. That matters
		// when two clients write the same documents at once
		// (RELIABILITY.md). On the embedded store, which one process owns,
		// the documents' locks, taken in validate, isolate the unit.
		return a.writeRuns(ctx, writes)
	}

	sess, err := a.db.Client().StartSession()
	if err != nil {
		return outcome{}, classify(fmt.Errorf("starting session: %w", err))
	}
	defer sess.EndSession(ctx)

	var out outcome
	_, err = sess.WithTransaction(ctx, func(sc mongo.SessionContext) (any, error) {
		var err error
		out, err = a.writeRuns(sc, writes)
		return nil, err
	})
	var refused *writeRefused
	if errors.As(err, &refused) {
		refused.applied = 0 // the transaction was aborted
		return outcome{}, refused
	}
	if err != nil {
		return outcome{}, classify(fmt.Errorf("writing in a transaction: %w", err))
	}
	return out, nil
}

// writeRuns writes each run of consecutive ops on one collection in order
// (see bulkWrite).
func (a *Applier) writeRuns(ctx context.Context, writes []write) (outcome, error) {
	var out outcome
	for start := 0; start < len(writes); {
		end := start + 1
		for end < len(writes) && writes[end].collection == writes[start].collection &&
			(a.maxRun == 0 || end-start < a.maxRun) {
			end++
		}

		unmatched, err := a.writeRun(ctx, writes[start:end], start)
		out.unmatched = append(out.unmatched, unmatched...)
		if err != nil {
			out.applied = start
			var refused *writeRefused
			if errors.As(err, &refused) {
				refused.applied += start
				out.applied = refused.applied
			}
			return out, err
		}
		start = end
	}
	out.applied = len(writes)
	return out, nil
}

// writeRun writes ops on one collection; offset is the index of the run's
// first op in its unit. On FerretDB it keeps to the bounds described at
// ferretDBMaxRun.
func (a *Applier) writeRun(ctx context.Context, run []write, offset int) ([]int, error) {
	if a.slots == nil {
		return a.bulkWrite(ctx, run, offset)
	}

	n := int64(len(run) + 1)
	if err := a.slots.Acquire(ctx, n); err != nil {
		return nil, classify(fmt.Errorf("waiting for the store: %w", err))
	}
	defer a.slots.Release(n)
	// The unit holds its documents' locks (see validate) through both
	// tries below, so that the second cannot write over what another
	// request wrote in between.

	unmatched, err := a.bulkWrite(ctx, run, offset)
	if err == nil || len(run) == 1 {
		return unmatched, err
	}
	// FerretDB reports a failed update as the command's first statement,
	// wherever it stood, so the run goes again op by op to learn which op
	// failed and how many were applied; every op is idempotent.
	return a.writeEach(ctx, run, offset)
}

// writeEach writes a run one op per command, in order.
// TODO(mongoapply): a PATCH that found its document on the first try of the run
// and not on this one (a DELETE later in the run removed it) is listed as
// unmatched; it needs both tries' results, and only refused runs on
// FerretDB go twice.
func (a *Applier) writeEach(ctx context.Context, run []write, offset int) ([]int, error) {
	var unmatched []int
	for i := range run {
		u, err := a.bulkWrite(ctx, run[i:i+1], offset+i)
		unmatched = append(unmatched, u...)
		var refused *writeRefused
		if errors.As(err, &refused) {
			refused.applied += i
		}
		if err != nil {
			return unmatched, err
		}
	}
	return unmatched, nil
}

// bulkWrite writes a run in order, as one command for each stretch of
// writes of one command kind: update (PUT, PATCH) or delete.
func (a *Applier) bulkWrite(ctx context.Context, run []write, offset int) ([]int, error) {
	var unmatched []int
	for start := 0; start < len(run); {
		end, size := commandEnd(run, start)
		if size > 0 {
			u, err := a.writeCommand(ctx, run, start, end, offset)
			unmatched = append(unmatched, u...)
			if err != nil {
				return unmatched, err
			}
		}
		start = end
	}
	return unmatched, nil
}

// writeCommand writes run[start:end], writes of one command kind, as one
// ordered command; offset is the index of the run's first op in its unit.
func (a *Applier) writeCommand(ctx context.Context, run []write, start, end, offset int) ([]int, error) {
	coll := run[start].collection
	reply, err := a.runWrites(ctx, coll, run[start:end])
	// In a transaction the error has aborted it; WithTransaction retries.
	for try := 1; try < maxUpsertTries && !a.useTx; try++ {
		// Two upserts of one new _id raced, as when clients PUT one new
		// id at once: the loser's duplicate key means the document now
		// exists, and another try updates it. The ops before it were
		// written; the rest go again. A DELETE and another PUT can race
		// that try too, hence a few.
		// TODO(mongoapply): PATCHes before the race that matched nothing
		// are not listed as unmatched; it needs both replies of the run.
		at, ok := upsertRace(err, run[start:end])
		if !ok {
			break
		}
		start += at
		reply, err = a.runWrites(ctx, coll, run[start:end])
	}
	if err != nil {
		return nil, runError(err, run[start:end], start, offset)
	}
	return a.unmatchedPatches(ctx, coll, run[start:end], reply, offset+start)
}

// commandEnd returns where the command that writes run[start:] ends, and
// the bytes of its statements: it takes writes of one command kind (update
// or delete) while their statements are at most maxCommandStatements and
// their array stays within maxCommandBytes.
func commandEnd(run []write, start int) (end, size int) {
	name := run[start].command()
	statements := 0
	for end = start; end < len(run); end++ {
		w := run[end]
		if w.stmt == nil {
			continue
		}
		if w.command() != name || statements == maxCommandStatements ||
			size > 0 && size+statementBytes(w) > maxCommandBytes {
			break
		}
		size += statementBytes(w)
		statements++
	}
	return end, size
}

// statementBytes is what a write's statement takes in a command's array:
// the statement, and its element's type byte, index and NUL, the index
// counted at its most, ten digits.
func statementBytes(w write) int {
	if w.stmt == nil {
		return 0
	}
	return len(w.stmt) + 12
}

// maxCommandStatements is the most statements MongoDB takes in one write
// command (its maxWriteBatchSize); server.max_ops may allow more ops.
const maxCommandStatements = 100_000

// maxCommandBytes bounds the array of statements of one command. MongoDB
// takes a command of up to 16 MiB and 16 KiB, which leaves room for the
// command's other fields: its name and collection, ordered, the write
// concern, the session and the cluster time. A larger statement, which a
// document near the 16 MiB limit makes, goes in a command of its own.
const maxCommandBytes = 16 << 20

// maxUpsertTries is how often a run is tried while its upserts lose races.
const maxUpsertTries = 8

// upsertRace reports whether a command failed on a duplicate key of a PUT,
// which upserts, and returns the index of its write.
func upsertRace(err error, writes []write) (int, bool) {
	we, ok := firstWriteError(err)
	if !ok || we.Code != 11000 {
		return 0, false
	}
	at, ok := writeAt(writes, we.Index)
	return at, ok && writes[at].op.Kind == hooks.Put
}

// sqliteUniqueFailed is in the message of FerretDB's InternalError for a
// write that breaks a unique index.
const sqliteUniqueFailed = "UNIQUE constraint failed"

// runError turns the error of the command that wrote writes, run[start:],
// into a *writeRefused when MongoDB refused a document, and classifies
// anything else.
func runError(err error, writes []write, start, offset int) error {
	first, _ := writeAt(writes, 0)

	// A command error that is about the namespace, not a document, refuses
	// the command's first op, before which nothing of it was written: a
	// name MongoDB does not allow (InvalidNamespace), or a view, which
	// takes no writes (CommandNotSupportedOnView).
	var ce mongo.CommandError
	if errors.As(err, &ce) && (ce.Code == 73 || ce.Code == 166) {
		msg := "MongoDB refused the collection: " + errorMessage(ce)
		return &writeRefused{refusal: refusal{index: offset + start + first, code: CodeInvalidCollection, message: msg}, applied: start + first}
	}

	// FerretDB on SQLite answers an update that breaks a unique index with
	// an InternalError carrying SQLite's message, not code 11000; it would
	// otherwise be a 500 that the client retries for ever. Its runs fail
	// alone (see writeRun), so the run's first op is the one refused.
	if errors.As(err, &ce) && ce.Name == "InternalError" && strings.Contains(ce.Message, sqliteUniqueFailed) {
		msg := "MongoDB refused the write (code 11000): a unique index already holds the value"
		return &writeRefused{refusal: refusal{index: offset + start + first, code: CodeDuplicateKey, message: msg}, applied: start + first}
	}

	we, ok := firstWriteError(err)
	if !ok || isTransient(err) {
		return classify(fmt.Errorf("write command: %w", err))
	}
	at, _ := writeAt(writes, we.Index)
	code := CodeWriteRejected
	switch we.Code {
	case 121:
		code = CodeDocumentValidation
	case 11000, 11001:
		code = CodeDuplicateKey
	}
	msg := fmt.Sprintf("MongoDB refused the write (code %d): %s", we.Code, errorMessage(errors.New(we.Message)))
	return &writeRefused{refusal: refusal{index: offset + start + at, code: code, message: msg}, applied: start + at}
}

// unmatchedPatches finds the PATCHes of a command's writes that matched no
// document. The counts of the reply say whether there are any; only then
// is each PATCHed document looked up.
func (a *Applier) unmatchedPatches(ctx context.Context, coll string, writes []write, reply writeReply, offset int) ([]int, error) {
	var puts, patches int64
	for _, w := range writes {
		switch {
		case w.stmt == nil:
		case w.op.Kind == hooks.Put:
			puts++
		case w.op.Kind == hooks.Patch:
			patches++
		}
	}
	matchedPatches := reply.n - reply.upserted - (puts - reply.upserted)
	if patches == 0 || matchedPatches >= patches {
		return nil, nil
	}

	// A document the command upserted did not exist until its first PUT
	// in the command: a PATCH of it before that matched nothing, though the
	// document is there by the time it is looked up. FerretDB numbers the
	// upserted documents of its reply apart from the statements, so the
	// PUTs are followed here rather than the reply's indexes read.
	upserted := reply.upsertedIDs()
	put := make(map[string]bool) // ids the command PUT before w
	var unmatched []int
	for i, w := range writes {
		key := docKey("", w.id)
		switch {
		case w.stmt == nil:
			continue
		case w.op.Kind == hooks.Put:
			put[key] = true
			continue
		case w.op.Kind != hooks.Patch:
			continue
		case upserted[key] && !put[key]:
			unmatched = append(unmatched, offset+i)
			continue
		}
		n, err := a.db.Collection(coll).CountDocuments(ctx, bson.D{{Key: "_id", Value: w.id}})
		if err != nil {
			return nil, classify(fmt.Errorf("checking unmatched patch: %w", err))
		}
		if n == 0 {
			unmatched = append(unmatched, offset+i)
		}
	}
	return unmatched, nil
}
