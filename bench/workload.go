package bench

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
)

// Op kinds, as the SDK names them.
const (
	opPut    = "PUT"
	opPatch  = "PATCH"
	opDelete = "DELETE"
)

// op is one generated write.
type op struct {
	kind string
	id   string
	todo todo // PUT: the document; PATCH: Completed and Description
}

// todo is a row of the todos table of the PowerSync demo apps, as SQLite
// holds it: a flag as 0 or 1, a date as text, the tags as JSON text.
type todo struct {
	Description string // 40 characters
	Completed   int
	CreatedAt   time.Time
	ListID      string
	Tags        []string
}

// workload is what one phase of a run sends: per worker, its batches in
// the order it sends them.
type workload struct {
	ops     int
	batches [][][]op
}

// newWorkload spreads ops over the workers and cuts each worker's share
// into batches. run goes into every id, so runs never touch each other's
// documents.
func newWorkload(run uint32, ops, batch, workers int, mix Mix) workload {
	wl := workload{ops: ops, batches: make([][][]op, workers)}
	for w := range workers {
		g := newGenerator(run, w)
		n := ops / workers
		if w < ops%workers {
			n++
		}
		for n > 0 {
			size := min(batch, n)
			wl.batches[w] = append(wl.batches[w], g.batch(size, mix))
			n -= size
		}
	}
	return wl
}

// requests returns how many batches each worker sends.
func (wl workload) requests() []int {
	n := make([]int, len(wl.batches))
	for w, b := range wl.batches {
		n[w] = len(b)
	}
	return n
}

// generator makes the ops of one worker. Its PATCHes and DELETEs name
// documents that its own earlier ops PUT and did not delete: those exist
// whatever the other workers do, since a worker sends one batch at a time.
type generator struct {
	rng    *rand.Rand
	run    uint32
	worker int
	ids    uint64   // ids handed out so far
	live   []string // PUT and not deleted
	lists  []string
}

func newGenerator(run uint32, worker int) *generator {
	g := &generator{rng: rand.New(rand.NewPCG(uint64(run), uint64(worker))), run: run, worker: worker}
	for range 10 {
		g.lists = append(g.lists, g.newID())
	}
	return g
}

func (g *generator) batch(n int, mix Mix) []op {
	ops := make([]op, n)
	for i := range ops {
		ops[i] = g.next(mix)
	}
	return ops
}

// next returns the next op; a PATCH or DELETE with no document left to
// name becomes a PUT.
func (g *generator) next(mix Mix) op {
	r := g.rng.IntN(mix.total())
	switch {
	case len(g.live) == 0 || r < mix.Put:
		o := op{kind: opPut, id: g.newID(), todo: g.newTodo()}
		g.live = append(g.live, o.id)
		return o
	case r < mix.Put+mix.Patch:
		id := g.live[g.rng.IntN(len(g.live))]
		return op{kind: opPatch, id: id, todo: todo{Description: g.description(), Completed: 1}}
	}
	i := g.rng.IntN(len(g.live))
	id := g.live[i]
	g.live[i] = g.live[len(g.live)-1]
	g.live = g.live[:len(g.live)-1]
	return op{kind: opDelete, id: id}
}

// newID returns a version 4 UUID, as the SDK's uuid() gives, made of the
// run, the worker and a counter so that it is unique per run.
func (g *generator) newID() string {
	g.ids++
	return fmt.Sprintf("%08x-%04x-4000-8000-%012x", g.run, g.worker&0xffff, g.ids)
}

var (
	words = strings.Fields("buy milk call the plumber water plants book flights renew passport " +
		"fix the bike pay rent return library books plan the trip clean the garage")
	tagNames = []string{"home", "work", "urgent", "errand", "later", "family"}
	epoch    = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
)

func (g *generator) newTodo() todo {
	t := todo{
		Description: g.description(),
		Completed:   g.rng.IntN(2),
		CreatedAt:   epoch.Add(time.Duration(g.rng.IntN(365*24*3600)) * time.Second),
		ListID:      g.lists[g.rng.IntN(len(g.lists))],
		Tags:        []string{},
	}
	for _, i := range g.rng.Perm(len(tagNames))[:g.rng.IntN(4)] {
		t.Tags = append(t.Tags, tagNames[i])
	}
	return t
}

// description returns 40 characters of words.
func (g *generator) description() string {
	var b strings.Builder
	for b.Len() < 40 {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(words[g.rng.IntN(len(words))])
	}
	return b.String()[:40]
}

// wireOp is an op as an upload carries it, in either shape.
type wireOp struct {
	OpID  int64  `json:"op_id,omitempty"`
	Op    string `json:"op"`
	Table string `json:"table,omitempty"`
	Type  string `json:"type,omitempty"`
	ID    string `json:"id"`
	TxID  int64  `json:"tx_id,omitempty"`
	Data  any    `json:"data,omitempty"`
}

type putData struct {
	Completed   int    `json:"completed"`
	CreatedAt   string `json:"created_at"`
	Description string `json:"description"`
	ListID      string `json:"list_id"`
	Tags        string `json:"tags"`
}

type patchData struct {
	Completed   int    `json:"completed"`
	Description string `json:"description"`
}

// sqliteTime is how SQLite's datetime() writes a time.
const sqliteTime = "2006-01-02 15:04:05"

// body returns the upload of a batch. The SDK shape numbers the ops from
// firstOpID and makes the batch one client transaction, txID.
func body(ops []op, shape, collection string, firstOpID, txID int64) []byte {
	wire := make([]wireOp, len(ops))
	for i, o := range ops {
		w := wireOp{Op: o.kind, ID: o.id}
		if shape == ShapeSDK {
			w.OpID, w.Type, w.TxID = firstOpID+int64(i), collection, txID
		} else {
			w.Table = collection
		}
		switch o.kind {
		case opPut:
			tags, _ := json.Marshal(o.todo.Tags)
			w.Data = putData{Completed: o.todo.Completed, CreatedAt: o.todo.CreatedAt.Format(sqliteTime),
				Description: o.todo.Description, ListID: o.todo.ListID, Tags: string(tags)}
		case opPatch:
			w.Data = patchData{Completed: o.todo.Completed, Description: o.todo.Description}
		}
		wire[i] = w
	}
	b, err := json.Marshal(struct {
		Batch []wireOp `json:"batch"`
	}{wire})
	if err != nil {
		panic(fmt.Sprintf("bench: encoding a generated batch: %v", err)) // plain strings and numbers
	}
	return b
}

// models returns the writes psmongo makes of a batch, with the types a
// collection configured with completed: bool, created_at: date and
// tags: array restores.
func models(ops []op) []mongo.WriteModel {
	out := make([]mongo.WriteModel, len(ops))
	for i, o := range ops {
		filter := bson.D{{Key: "_id", Value: o.id}}
		switch o.kind {
		case opPut:
			tags := make(bson.A, len(o.todo.Tags))
			for j, t := range o.todo.Tags {
				tags[j] = t
			}
			doc := bson.D{
				{Key: "_id", Value: o.id},
				{Key: "completed", Value: o.todo.Completed == 1},
				{Key: "created_at", Value: o.todo.CreatedAt},
				{Key: "description", Value: o.todo.Description},
				{Key: "list_id", Value: o.todo.ListID},
				{Key: "tags", Value: tags},
			}
			out[i] = mongo.NewReplaceOneModel().SetFilter(filter).SetReplacement(doc).SetUpsert(true)
		case opPatch:
			set := bson.D{{Key: "completed", Value: o.todo.Completed == 1}, {Key: "description", Value: o.todo.Description}}
			out[i] = mongo.NewUpdateOneModel().SetFilter(filter).SetUpdate(bson.D{{Key: "$set", Value: set}})
		default:
			out[i] = mongo.NewDeleteOneModel().SetFilter(filter)
		}
	}
	return out
}
