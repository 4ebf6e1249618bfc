package mongoapply

import (
	"context"
	"errors"
	"strconv"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/bsontype"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/x/bsonx/bsoncore"

	"github.com/psmongo/psmongo/hooks"
)

// Writes go to MongoDB as update and delete commands of statements that
// plan encoded, rather than through the driver's BulkWrite: BulkWrite
// takes a model per op, encodes each filter and document again through
// its codecs and decodes the id of every upserted document by
// reflection, which cost more CPU time per op than all the rest of
// psmongo. A command here is the statements copied into one array, which
// the driver sends as it is (see runWrites), and its reply is read for the
// two counts that matter.

// command names the command that carries the write: update for a PUT or
// a PATCH, delete for a DELETE.
func (w *write) command() string {
	if w.op.Kind == hooks.Delete {
		return "delete"
	}
	return "update"
}

// writeReply is what a write command's reply says.
type writeReply struct {
	n        int64          // documents matched or upserted (update), or deleted
	upserted int64          // documents upserted
	upserts  bsoncore.Array // what the reply says of each: {index, _id}
}

// runWrites sends writes, all of one command kind on collection coll, as
// one ordered command. A write that MongoDB refused comes back as a
// mongo.WriteException (see firstWriteError) whose index counts the
// writes that have a statement.
func (a *Applier) runWrites(ctx context.Context, coll string, writes []write) (writeReply, error) {
	cmd := a.commandDoc(coll, writes)

	// The driver copies each of the command's four elements into its
	// message as they are.
	res := a.db.RunCommand(ctx, bson.Raw(cmd))
	if err := res.Err(); err != nil && a.retryWrite(ctx, err) {
		res = a.db.RunCommand(ctx, bson.Raw(cmd))
	}
	if err := res.Err(); err != nil {
		return writeReply{}, err
	}
	raw, err := res.Raw()
	if err != nil {
		return writeReply{}, err
	}
	return readWriteReply(bsoncore.Document(raw)), nil
}

// commandDoc returns the command that writes writes, all of one command
// kind, on collection coll: their statements, in order, leaving out the
// writes without one.
func (a *Applier) commandDoc(coll string, writes []write) []byte {
	name, list := writes[0].command(), "updates"
	if name == "delete" {
		list = "deletes"
	}

	size := len(coll) + 64
	for _, w := range writes {
		size += statementBytes(w)
	}
	start, cmd := bsoncore.AppendDocumentStart(make([]byte, 0, size))
	cmd = bsoncore.AppendStringElement(cmd, name, coll)
	arr, cmd := bsoncore.AppendArrayElementStart(cmd, list)
	n := 0
	for _, w := range writes {
		if w.stmt == nil {
			continue
		}
		cmd = append(cmd, byte(bsontype.EmbeddedDocument))
		cmd = append(strconv.AppendInt(cmd, int64(n), 10), 0)
		cmd = append(cmd, w.stmt...)
		n++
	}
	cmd, _ = bsoncore.AppendArrayEnd(cmd, arr)
	cmd = bsoncore.AppendBooleanElement(cmd, "ordered", true)
	// RunCommand leaves the write concern to the command; inside a
	// transaction only its commit may carry one.
	if wc := a.db.WriteConcern(); wc != nil && !a.useTx {
		if t, v, err := wc.MarshalBSONValue(); err == nil {
			cmd = bsoncore.AppendValueElement(cmd, "writeConcern", bsoncore.Value{Type: t, Data: v})
		}
	}
	cmd, _ = bsoncore.AppendDocumentEnd(cmd, start)
	return cmd
}

// retryWrite reports whether a write command that failed with err goes
// again at once, where the driver would retry its own writes once: on a
// replica set or a sharded cluster, outside a transaction, after a network
// error or a primary stepping down. The driver's retries carry a
// transaction number, by which the server applies a write only once;
// these need none, since every op is idempotent and the command repeats
// from its first. In a transaction, WithTransaction retries the whole
// unit; a standalone server, such as the embedded store, has no primary
// to fail over to, and its client gets the 503 at once.
func (a *Applier) retryWrite(ctx context.Context, err error) bool {
	// A command that timed out is not sent again: its time is the
	// request's, and its connection may still be reading the reply.
	if !a.caps.Transactions || a.useTx || ctx.Err() != nil || mongo.IsTimeout(err) {
		return false
	}
	return mongo.IsNetworkError(err) || hasTransientCode(err)
}

// readWriteReply reads the counts of a write command's reply.
func readWriteReply(doc bsoncore.Document) writeReply {
	var r writeReply
	if v, err := doc.LookupErr("n"); err == nil {
		r.n, _ = v.AsInt64OK()
	}
	if v, err := doc.LookupErr("upserted"); err == nil {
		if arr, ok := v.ArrayOK(); ok {
			r.upserted, r.upserts = countElements(arr), arr
		}
	}
	return r
}

// countElements counts the elements of arr without decoding them.
func countElements(arr bsoncore.Array) int64 {
	if len(arr) < 5 {
		return 0
	}
	n, rem := int64(0), arr[4:len(arr)-1]
	for len(rem) > 0 {
		var ok bool
		if _, rem, ok = bsoncore.ReadElement(rem); !ok {
			break
		}
		n++
	}
	return n
}

// upsertedIDs returns the ids of the documents the command upserted, as
// docKey gives them with no collection.
func (r writeReply) upsertedIDs() map[string]bool {
	ids := make(map[string]bool, r.upserted)
	vals, _ := r.upserts.Values()
	for _, v := range vals {
		if doc, ok := v.DocumentOK(); ok {
			id := doc.Lookup("_id")
			ids[docKey("", bson.RawValue{Type: id.Type, Value: id.Data})] = true
		}
	}
	return ids
}

// firstWriteError returns the first write error of a command's error, if
// MongoDB refused a write rather than the command.
func firstWriteError(err error) (mongo.WriteError, bool) {
	var we mongo.WriteException
	if !errors.As(err, &we) || len(we.WriteErrors) == 0 || we.WriteConcernError != nil {
		return mongo.WriteError{}, false
	}
	return we.WriteErrors[0], true
}

// writeAt returns the index in writes of the statement at index i of their
// command, which leaves out writes without a statement.
func writeAt(writes []write, i int) (int, bool) {
	for at, w := range writes {
		if w.stmt == nil {
			continue
		}
		if i == 0 {
			return at, true
		}
		i--
	}
	return 0, false
}
