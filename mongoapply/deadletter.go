package mongoapply

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
)

// deadLetter stores a refused unit as one document. Its _id is a hash of
// the user and the ops as received, so a batch that the client retries
// (after a 503 on a later unit, say) is stored once, not once per try.
func (a *Applier) deadLetter(ctx context.Context, userID string, ops []Op, r refusal, applied int) error {
	raw := make(bson.A, len(ops))
	sum := sha256.New()
	fmt.Fprintf(sum, "%s\x00", userID)
	for i, op := range ops {
		// JSON tolerates invalid UTF-8 in strings; BSON strings must not
		// carry it, or the dead letter itself would be refused.
		raw[i] = strings.ToValidUTF8(string(op.Raw), "\uFFFD")
		sum.Write(op.Raw)
		sum.Write([]byte{0})
	}

	doc := bson.D{
		{Key: "_id", Value: hex.EncodeToString(sum.Sum(nil))},
		{Key: "user_id", Value: userID},
		{Key: "received_at", Value: time.Now().UTC()},
		{Key: "ops", Value: raw},
		{Key: "failed_index", Value: r.index},
		{Key: "code", Value: r.code},
		{Key: "message", Value: r.message},
	}
	if applied > 0 {
		doc = append(doc, bson.E{Key: "partial", Value: true}, bson.E{Key: "applied", Value: applied})
	}

	_, err := a.db.Collection(a.cfg.DeadLetter).InsertOne(ctx, doc)
	if err != nil && !mongo.IsDuplicateKeyError(err) {
		return classify(fmt.Errorf("storing rejected unit: %w", err))
	}
	return nil
}
