package mongoapply

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/psmongo/psmongo/hooks"
)

// Codes that a refused op carries, in the response and the dead-letter
// collection. Hooks add codes of their own.
const (
	CodeInvalidCollection  = "INVALID_COLLECTION"
	CodeUnknownCollection  = "UNKNOWN_COLLECTION"
	CodeInvalidID          = "INVALID_ID"
	CodeInvalidField       = "INVALID_FIELD"
	CodeTypeMismatch       = "TYPE_MISMATCH"
	CodeUnsupportedType    = "UNSUPPORTED_TYPE"
	CodeForbidden          = "FORBIDDEN"
	CodeHookFailed         = "HOOK_FAILED"
	CodeDocumentValidation = "DOCUMENT_VALIDATION"
	CodeDuplicateKey       = "DUPLICATE_KEY"
	CodeDocumentTooLarge   = "DOCUMENT_TOO_LARGE"
	CodeDocumentTooDeep    = "DOCUMENT_TOO_DEEP"
	CodeInvalidUTF8        = "INVALID_UTF8"
	CodeWriteRejected      = "WRITE_REJECTED"
	CodeUnitRejected       = "UNIT_REJECTED"
)

// refusal is why an op of a unit was refused; index is within the unit.
type refusal struct {
	index   int
	code    string
	message string
}

// write is one op of a unit, ready to go to MongoDB.
type write struct {
	op         *Op
	collection string
	id         bson.RawValue // the document's _id
	stmt       []byte        // its statement in an update or delete command; nil when nothing is written
}

// validate checks every op of a unit and plans its writes. It returns a
// refusal for the first op that may not be written, or an error when
// MongoDB could not be asked what ownership needs. The caller must call
// unlock, never nil, once the unit is written or refused: on the embedded
// store validate returns with the unit's documents locked (see docLocks),
// so that no other unit writes them between the owner check and the
// unit's writes.
func (a *Applier) validate(ctx context.Context, userID string, ops []Op) (writes []write, unlock func(), r *refusal, err error) {
	writes = make([]write, len(ops))
	var arena []byte // the statements, one after the other
	for i := range ops {
		w, r := a.plan(ctx, userID, &ops[i], &arena)
		if r != nil {
			r.index = i
			return nil, func() {}, r, nil
		}
		writes[i] = w
	}

	unlock = func() {}
	if a.docLocks != nil {
		unlock = a.docLocks.lockUnit(writes)
	}
	r, err = a.checkOwners(ctx, userID, writes)
	return writes, unlock, r, err
}

// plan validates one op and builds its write, whose statement it may
// append to *arena (see planDirect).
func (a *Applier) plan(ctx context.Context, userID string, op *Op, arena *[]byte) (write, *refusal) {
	if r := a.cfg.Limits.checkOp(op); r != nil {
		return write{}, r
	}
	rules, r := a.rules(op.Table)
	if r != nil {
		return write{}, r
	}
	if op.tooManyValues {
		msg := fmt.Sprintf("the data holds more than %d values, more than a MongoDB document can", maxValues)
		return write{}, &refusal{code: CodeDocumentTooLarge, message: msg}
	}
	if w, ok := a.planDirect(userID, op, rules, arena); ok {
		return w, nil
	}
	return a.planLong(ctx, userID, op, rules)
}

// planLong is plan's route through maps of decoded values, which hooks
// take, and which refuses what may not be written.
func (a *Applier) planLong(ctx context.Context, userID string, op *Op, rules Collection) (write, *refusal) {
	id, err := documentID(op.ID, rules.IDType)
	if err != nil {
		return write{}, &refusal{code: CodeInvalidID, message: err.Error()}
	}
	var sent map[string]any
	if op.Kind != hooks.Delete {
		if sent, err = op.Values(); err != nil {
			// ParseBatch and ParseOne decoded the data before.
			return write{}, &refusal{code: CodeTypeMismatch, message: "the data cannot be read: " + err.Error()}
		}
		if sent == nil {
			sent = map[string]any{} // hooks of PUTs and PATCHes get a map
		}
	}
	data, r := a.restoreData(sent, rules)
	if r != nil {
		return write{}, r
	}
	if r := a.cfg.Limits.checkData(rules, sent, data); r != nil {
		return write{}, r
	}
	data, r = a.runHook(ctx, userID, op, data)
	if r != nil {
		return write{}, r
	}
	if r := checkOwnerData(rules, userID, op, data); r != nil {
		return write{}, r
	}
	if a.ferretDB {
		if r := checkFerretDBNames(data); r != nil {
			return write{}, r
		}
	}

	if r := checkSize(op, data); r != nil {
		return write{}, r
	}

	w := write{op: op, collection: op.Table, id: rawValue(id)}
	w.stmt, err = buildStatement(op.Kind, rules, userID, w.id, data, !a.ferretDB)
	if err != nil {
		// checkHookData has encoded what a hook set; this is a bug.
		return write{}, &refusal{code: CodeHookFailed, message: "the write cannot be encoded as BSON: " + errorMessage(err)}
	}
	return w, nil
}

// measuredOpBytes is the size of JSON from which checkSize measures an
// op's document: smaller JSON does not grow past the limit as BSON.
const measuredOpBytes = 1 << 20

// maxDocument is MongoDB's document size limit, less room for the _id.
const maxDocument = 16<<20 - 1<<10

// checkSize refuses an op whose document would be larger than MongoDB
// takes, which the driver would otherwise report for the whole request.
// JSON can grow several times as BSON (an array of small numbers does), so
// only large ops are measured, by encoding them.
func checkSize(op *Op, data map[string]any) *refusal {
	if len(op.Raw) < measuredOpBytes {
		return nil
	}
	b, err := bson.Marshal(data)
	if err == nil && len(b) <= maxDocument {
		return nil
	}
	msg := fmt.Sprintf("the document would be %d bytes as BSON, more than the %d that MongoDB's 16 MiB limit leaves with room for the write around it",
		len(b), maxDocument)
	if err != nil {
		msg = "the document cannot be encoded as BSON: " + errorMessage(err)
	}
	return &refusal{code: CodeDocumentTooLarge, message: msg}
}

// rules returns the rules of a collection, or why clients may not write it.
func (a *Applier) rules(name string) (Collection, *refusal) {
	if err := a.checkNamespace(name); err != nil {
		return Collection{}, &refusal{code: CodeInvalidCollection, message: err.Error()}
	}

	rules, ok := a.cfg.Collections[name]
	if !ok && a.cfg.RejectUnlisted {
		msg := fmt.Sprintf("collection %q is not configured", name)
		return Collection{}, &refusal{code: CodeUnknownCollection, message: msg}
	}
	return rules, nil
}

// checkNamespace refuses a collection name that clients may not write or
// that the deployment would refuse.
func (a *Applier) checkNamespace(name string) error {
	if err := CheckCollectionName(name, a.cfg.DeadLetter); err != nil {
		return err
	}
	// MongoDB limits "database.collection" to 255 bytes.
	if n := len(a.db.Name()) + 1 + len(name); n > 255 {
		return fmt.Errorf("collection name is too long: with the database name it makes %d bytes, more than 255", n)
	}
	if a.ferretDB && strings.HasPrefix(strings.ToLower(name), "_ferretdb_") {
		return fmt.Errorf("collection %s is reserved by FerretDB", quoteShort(name))
	}
	// FerretDB on SQLite quotes a new collection's table name with Go's %q,
	// whose \" SQLite does not read: creating it fails with an internal
	// error, which would be a 500 that the client retries for ever.
	// https://github.com/FerretDB/FerretDB/blob/v1.24.2/internal/backends/sqlite/metadata/registry.go
	if a.ferretDB && strings.Contains(name, `"`) {
		return fmt.Errorf("collection name %s holds a double quote, which FerretDB cannot store", quoteShort(name))
	}
	return nil
}

// restoreData checks the field names of sent, an op's data, and restores
// their types. The row id is never a field, whether sent as "id" or "_id".
func (a *Applier) restoreData(sent map[string]any, rules Collection) (map[string]any, *refusal) {
	if sent == nil {
		return nil, nil
	}

	data := make(map[string]any, len(sent))
	for k, v := range sent {
		if k == "id" || k == "_id" {
			continue
		}
		restored, r := a.restoreField(k, v, rules)
		if r != nil {
			return nil, a.firstRefusal(sent, rules)
		}
		data[k] = restored
	}
	return data, nil
}

// firstRefusal returns the refusal of the first field of sent, in key
// order, that cannot be restored: the one a refused op is reported by,
// whatever the order of its map.
func (a *Applier) firstRefusal(sent map[string]any, rules Collection) *refusal {
	for _, k := range sortedKeys(sent) {
		if k == "id" || k == "_id" {
			continue
		}
		if _, r := a.restoreField(k, sent[k], rules); r != nil {
			return r
		}
	}
	return nil
}

// restoreField checks a field's name and restores its value.
func (a *Applier) restoreField(k string, v any, rules Collection) (any, *refusal) {
	if err := checkKey(k); err != nil {
		return nil, &refusal{code: CodeInvalidField, message: err.Error()}
	}
	restored, err := restore(k, v, rules.Fields[k])
	if err != nil {
		return nil, restoreRefusal(err)
	}
	if a.ferretDB && hasDecimal(restored) {
		msg := fmt.Sprintf("field %q: this deployment (FerretDB) cannot hold decimal values", k)
		return nil, &refusal{code: CodeUnsupportedType, message: msg}
	}
	return restored, nil
}

// restoreRefusal refuses a value that restore could not restore.
func restoreRefusal(err error) *refusal {
	var bad *keyError
	if errors.As(err, &bad) {
		return &refusal{code: CodeInvalidField, message: err.Error()}
	}
	return &refusal{code: CodeTypeMismatch, message: err.Error()}
}

// runHook calls the collection's hook, if any. A hook that panics or fails
// refuses its op with HOOK_FAILED; the panic is logged, never propagated.
func (a *Applier) runHook(ctx context.Context, userID string, op *Op, data map[string]any) (out map[string]any, r *refusal) {
	hook, ok := a.cfg.Hooks.Lookup(op.Table)
	if !ok {
		return data, nil
	}

	hop := &hooks.Op{
		Kind: op.Kind, Collection: op.Table, ID: op.ID, Data: data,
		UserID: userID, OpID: string(op.OpID), TxID: op.TxID, Metadata: op.Metadata,
	}
	defer func() {
		if p := recover(); p != nil {
			a.log.ErrorContext(ctx, "hook panicked", slog.String("collection", op.Table),
				slog.String("panic", fmt.Sprint(p)), slog.String("stack", string(debug.Stack())))
			r = &refusal{code: CodeHookFailed, message: "the collection's hook failed"}
		}
	}()

	if err := hook(ctx, hop); err != nil {
		return nil, a.hookRefusal(ctx, op.Table, err)
	}
	return hop.Data, checkHookData(op.Kind, hop.Data)
}

// hookRefusal turns a hook's error into a refusal. A *hooks.Rejection is
// meant for the client; any other error is the hook failing, whose text
// may be internal, so it goes to the log and the client gets HOOK_FAILED.
func (a *Applier) hookRefusal(ctx context.Context, collection string, err error) *refusal {
	if rej, ok := hooks.AsRejection(err); ok {
		return &refusal{code: rej.Code, message: rej.Message}
	}
	a.log.WarnContext(ctx, "hook failed", slog.String("collection", collection), slog.Any("error", err))
	return &refusal{code: CodeHookFailed, message: "the collection's hook failed"}
}

// checkHookData refuses field names a hook put into the data.
func checkHookData(kind hooks.Kind, data map[string]any) *refusal {
	if kind == hooks.Delete {
		return nil
	}
	for k := range data {
		if err := CheckFieldName(k); err != nil {
			return &refusal{code: CodeHookFailed, message: "hook set an invalid field: " + err.Error()}
		}
	}
	// A value the hook set that BSON cannot hold would fail the whole
	// request with a 500, which the client retries forever.
	if _, err := bson.Marshal(data); err != nil {
		return &refusal{code: CodeHookFailed, message: "hook set a value BSON cannot hold: " + errorMessage(err)}
	}
	return nil
}

// checkOwnerData refuses writes that ownership forbids before MongoDB is
// asked: any write without a user, and a PATCH that hands a document over.
func checkOwnerData(rules Collection, userID string, op *Op, data map[string]any) *refusal {
	if rules.OwnerField == "" {
		return nil
	}
	if userID == "" {
		msg := fmt.Sprintf("collection %q has an owner field and the upload has no user", op.Table)
		return &refusal{code: CodeForbidden, message: msg}
	}
	if v, ok := data[rules.OwnerField]; ok && op.Kind == hooks.Patch && v != userID {
		msg := fmt.Sprintf("field %q is the owner and may not be changed", rules.OwnerField)
		return &refusal{code: CodeForbidden, message: msg}
	}
	return nil
}

// checkFerretDBNames refuses a field name that FerretDB 1.24 on SQLite
// cannot store: it writes a document's top-level keys into its JSON
// unescaped, so a double quote or a backslash makes JSON SQLite refuses,
// and a control character makes JSON SQLite keeps but FerretDB cannot
// read back, after which every write of the document fails. Either is an
// internal error, which the client would retry for ever. The direct route
// takes no such name: in JSON each needs an escape, on which it gives up.
// https://github.com/FerretDB/FerretDB/blob/v1.24.2/internal/handler/sjson/sjson.go
func checkFerretDBNames(data map[string]any) *refusal {
	for k := range data {
		if !ferretDBName(k) {
			// Report the first in key order, the same on every try.
			for _, k := range sortedKeys(data) {
				if !ferretDBName(k) {
					msg := fmt.Sprintf("field name %s holds a quote, a backslash or a control character, "+
						"which this deployment (FerretDB) cannot store in a top-level field name", quoteShort(k))
					return &refusal{code: CodeInvalidField, message: msg}
				}
			}
		}
	}
	return nil
}

// ferretDBName reports whether FerretDB can store k as a top-level field
// name (see checkFerretDBNames).
func ferretDBName(k string) bool {
	return !strings.ContainsFunc(k, func(c rune) bool { return c < 0x20 || c == '"' || c == '\\' })
}

// buildStatement returns the statement of one op's write in an update or
// delete command, or nil when it writes nothing. ownerFilter adds the
// owner to the write's filter, on top of checkOwners.
func buildStatement(kind hooks.Kind, rules Collection, userID string, id bson.RawValue, data map[string]any, ownerFilter bool) ([]byte, error) {
	filter := bson.D{{Key: "_id", Value: id}}
	if rules.OwnerField != "" {
		if ownerFilter {
			filter = append(filter, bson.E{Key: rules.OwnerField, Value: userID})
		}
		if kind == hooks.Put {
			data[rules.OwnerField] = userID
		}
	}
	if kind == hooks.Delete {
		return encodeDoc(bson.D{{Key: "q", Value: filter}, {Key: "limit", Value: int32(1)}})
	}

	// doc is the replacement {_id, ...data}; the fields after its _id are
	// what a PATCH or a merging PUT sets.
	doc := make(bson.D, 1, len(data)+1)
	doc[0] = bson.E{Key: "_id", Value: id}
	for _, k := range sortedKeys(data) {
		doc = append(doc, bson.E{Key: k, Value: data[k]})
	}
	fields := doc[1:]

	var update any = doc
	switch {
	case kind == hooks.Patch && len(fields) == 0:
		return nil, nil // PowerSync sends empty PATCHes for no-op updates
	case kind == hooks.Patch:
		update = bson.D{{Key: "$set", Value: fields}}
	case rules.Put == PutMerge && len(fields) > 0:
		update = bson.D{{Key: "$set", Value: fields}}
	case rules.Put == PutMerge:
		update = bson.D{{Key: "$setOnInsert", Value: bson.D{{Key: "_id", Value: id}}}}
	}
	stmt := bson.D{{Key: "q", Value: filter}, {Key: "u", Value: update}}
	if kind == hooks.Put {
		stmt = append(stmt, bson.E{Key: "upsert", Value: true})
	}
	return encodeDoc(stmt)
}

// checkOwners refuses the first write to a document that another user
// owns. The write's own filter also names the owner, so a document taken
// between this check and the write is not changed either.
func (a *Applier) checkOwners(ctx context.Context, userID string, writes []write) (*refusal, error) {
	byColl := make(map[string][]any)
	for _, w := range writes {
		if a.cfg.Collections[w.collection].OwnerField != "" {
			byColl[w.collection] = append(byColl[w.collection], w.id)
		}
	}

	foreign := make(map[string]bool) // docKey of documents owned by others
	for _, name := range sortedKeys(byColl) {
		owned, err := a.foreignIDs(ctx, name, userID, byColl[name])
		if err != nil {
			return nil, err
		}
		for _, id := range owned {
			foreign[docKey(name, id)] = true
		}
	}

	if len(foreign) == 0 {
		return nil, nil
	}
	for i, w := range writes {
		if foreign[docKey(w.collection, w.id)] {
			msg := fmt.Sprintf("document %s in %q is not owned by this user", quoteShort(w.op.ID), w.collection)
			return &refusal{index: i, code: CodeForbidden, message: msg}, nil
		}
	}
	return nil, nil
}

// foreignIDs returns the _ids among ids of the documents whose owner is
// not userID.
func (a *Applier) foreignIDs(ctx context.Context, name, userID string, ids []any) ([]bson.RawValue, error) {
	owner := a.cfg.Collections[name].OwnerField
	if a.ferretDB {
		return a.foreignIDsByOne(ctx, name, owner, userID, ids)
	}

	filter := bson.D{
		{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}},
		{Key: owner, Value: bson.D{{Key: "$ne", Value: userID}}},
	}
	opts := options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}})
	cur, err := a.db.Collection(name).Find(ctx, filter, opts)
	if err != nil {
		return nil, classify(fmt.Errorf("reading owners of %q: %w", name, err))
	}

	var docs []struct {
		ID bson.RawValue `bson:"_id"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, classify(fmt.Errorf("reading owners of %q: %w", name, err))
	}
	out := make([]bson.RawValue, len(docs))
	for i, d := range docs {
		out[i] = d.ID
	}
	return out, nil
}

// foreignIDsByOne is foreignIDs for FerretDB, which runs a filter on the
// database only when it is exactly {_id: value} and otherwise reads the
// whole collection: it looks the documents up one by one. Writes there are
// then filtered by _id alone; the unit holds its documents' locks from
// before this check until it is written (see validate), so no other unit
// of this process can take a document in between.
// https://github.com/FerretDB/FerretDB/blob/v1.24.2/internal/backends/sqlite/collection.go
func (a *Applier) foreignIDsByOne(ctx context.Context, name, owner, userID string, ids []any) ([]bson.RawValue, error) {
	var out []bson.RawValue
	opts := options.FindOne().SetProjection(bson.D{{Key: owner, Value: 1}})
	for _, id := range ids {
		var doc bson.M
		err := a.db.Collection(name).FindOne(ctx, bson.D{{Key: "_id", Value: id}}, opts).Decode(&doc)
		if errors.Is(err, mongo.ErrNoDocuments) {
			continue
		}
		if err != nil {
			return nil, classify(fmt.Errorf("reading the owner in %q: %w", name, err))
		}
		if doc[owner] != userID {
			out = append(out, id.(bson.RawValue))
		}
	}
	return out, nil
}

// errorMessage keeps an error's first line for a refusal message.
func errorMessage(err error) string {
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return msg
}
