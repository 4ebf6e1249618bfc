package mongoapply

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// deadLetterBudget is how many bytes of ops one dead letter holds, under
// MongoDB's 16 MiB document limit with room for the other fields.
var deadLetterBudget = 15 << 20

// deadLetter stores a refused unit. Its _id is a hash of the user and the
// ops as received, so a batch that the client retries (after a 503 on a
// later unit, say) is stored once, not once per try.
//
// Each op is kept as the JSON text the client sent: a string, or binary
// data where the text is not valid UTF-8, so nothing is lost or changed. A
// unit too large for one document is stored in parts instead (see
// deadLetterParts).
func (a *Applier) deadLetter(ctx context.Context, userID string, ops []Op, r refusal, applied int) error {
	id, size := deadLetterID(userID, ops)
	meta := bson.D{
		{Key: "user_id", Value: userID},
		{Key: "received_at", Value: time.Now().UTC()},
		{Key: "failed_index", Value: r.index},
		{Key: "code", Value: r.code},
		{Key: "message", Value: r.message},
	}
	if applied > 0 {
		meta = append(meta, bson.E{Key: "partial", Value: true}, bson.E{Key: "applied", Value: applied})
	}

	if size > deadLetterBudget {
		return a.deadLetterParts(ctx, id, meta, ops)
	}
	raw := make(bson.A, len(ops))
	for i, op := range ops {
		raw[i] = opText(op.Raw)
	}
	doc := append(bson.D{{Key: "_id", Value: id}}, meta...)
	return a.insertDeadLetter(ctx, append(doc, bson.E{Key: "ops", Value: raw}))
}

// deadLetterParts stores a unit too large for one document as several,
// whose ops_json fields, joined in the order of part, are the JSON array of
// the unit's ops as received. Each part carries the refusal as well.
func (a *Applier) deadLetterParts(ctx context.Context, id string, meta bson.D, ops []Op) error {
	var all bytes.Buffer
	all.WriteByte('[')
	for i, op := range ops {
		if i > 0 {
			all.WriteByte(',')
		}
		all.Write(op.Raw)
	}
	all.WriteByte(']')

	text := all.Bytes()
	parts := (len(text) + deadLetterBudget - 1) / deadLetterBudget
	for p := range parts {
		chunk := text[p*deadLetterBudget : min((p+1)*deadLetterBudget, len(text))]
		doc := append(bson.D{{Key: "_id", Value: fmt.Sprintf("%s-%d", id, p)}}, meta...)
		doc = append(doc,
			bson.E{Key: "part", Value: p}, bson.E{Key: "parts", Value: parts},
			bson.E{Key: "ops_json", Value: primitive.Binary{Data: chunk}})
		if err := a.insertDeadLetter(ctx, doc); err != nil {
			return err
		}
	}
	return nil
}

func (a *Applier) insertDeadLetter(ctx context.Context, doc bson.D) error {
	_, err := a.db.Collection(a.cfg.DeadLetter).InsertOne(ctx, doc)
	if err != nil && !mongo.IsDuplicateKeyError(err) {
		return classify(fmt.Errorf("storing rejected unit: %w", err))
	}
	return nil
}

// deadLetterID hashes the user and the ops; it also returns their size.
func deadLetterID(userID string, ops []Op) (string, int) {
	sum := sha256.New()
	fmt.Fprintf(sum, "%d:%s", len(userID), userID) // length first: user ids may hold anything
	size := 0
	for _, op := range ops {
		sum.Write(op.Raw)
		sum.Write([]byte{0})
		size += len(op.Raw) + 16 // and BSON's per-element overhead
	}
	return hex.EncodeToString(sum.Sum(nil)), size
}

// opText returns an op's JSON as BSON: a string when it is valid UTF-8,
// else the bytes themselves, which BSON strings cannot carry.
func opText(raw []byte) any {
	if utf8.Valid(raw) {
		return string(raw)
	}
	return primitive.Binary{Data: bytes.Clone(raw)}
}

// DeadLetterIndex is the name of the index on the dead-letter collection,
// by user and newest first: how refused units are looked at and cleaned up.
const DeadLetterIndex = "user_id_received_at"

// ensureDeadLetterIndex creates the dead-letter collection's index if it is
// missing. A deployment that refuses it (a user without the createIndex
// privilege) costs only slower reviews, so that is logged, not fatal.
func (a *Applier) ensureDeadLetterIndex(ctx context.Context) error {
	_, err := a.db.Collection(a.cfg.DeadLetter).Indexes().CreateOne(ctx, mongo.IndexModel{
		Keys:    bson.D{{Key: "user_id", Value: 1}, {Key: "received_at", Value: -1}},
		Options: options.Index().SetName(DeadLetterIndex),
	})
	if err == nil {
		return nil
	}
	if err := classify(err); errors.Is(err, ErrUnavailable) {
		return err
	}
	a.log.Warn("dead-letter index not created", slog.String("collection", a.cfg.DeadLetter), slog.Any("error", err))
	return nil
}
