package handlers_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.mongodb.org/mongo-driver/mongo"

	"github.com/psmongo/psmongo/devstore/devstoretest"
	"github.com/psmongo/psmongo/mongoapply"
)

// uploadToken returns a token for user from the server's /token, with
// uploads authenticated by it.
func uploadToken(t *testing.T, s *testServer, user string) string {
	t.Helper()
	status, _, body := s.do(t, "GET", "/token?user_id="+user, "", nil)
	var tok struct{ Token string }
	if err := json.Unmarshal([]byte(body), &tok); status != 200 || err != nil || tok.Token == "" {
		t.Fatalf("GET /token: %d %s", status, body)
	}
	return tok.Token
}

// together runs each of fns in its own goroutine, all released at once,
// and waits for them.
func together(fns ...func()) {
	var start, done sync.WaitGroup
	start.Add(1)
	for _, fn := range fns {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			fn()
		}()
	}
	start.Done()
	done.Wait()
}

// TestConcurrentRetriesOfOneBatch sends the SDK's recorded batch of 100
// several times at once for one user, as a client does that gave up on a
// slow upload and sent it again: every copy must get a 200 with no
// DUPLICATE_KEY, and MongoDB must hold what the client holds, with the
// refused unit stored once.
func TestConcurrentRetriesOfOneBatch(t *testing.T) {
	t.Setenv("PSMONGO_AUTH_UPLOAD_MODE", "powersync")
	body, err := os.ReadFile(filepath.Join("testdata", "sdk", "sdk-tojson-batch100.json"))
	if err != nil {
		t.Fatal(err)
	}

	for round := range 5 {
		t.Run(fmt.Sprint("round ", round), func(t *testing.T) {
			s := newServer(t, "", replayConfig())
			auth := map[string]string{"Authorization": "Bearer " + uploadToken(t, s, "alice")}
			answers := make([]string, 6)
			statuses := make([]int, len(answers))
			var fns []func()
			for i := range answers {
				fns = append(fns, func() { statuses[i], _, answers[i] = s.do(t, "POST", "/upload", string(body), auth) })
			}
			together(fns...)

			for i, a := range answers {
				if statuses[i] != 200 || strings.Contains(a, "DUPLICATE_KEY") {
					t.Errorf("copy %d: %d %s, want 200 without DUPLICATE_KEY", i, statuses[i], a)
				}
			}
			checkReplay(t, 1)
		})
	}
}

// op is one write of TestConcurrentClientsOverlappingIDs.
type op struct {
	Kind string // PUT, PATCH, DELETE
	ID   string
	Data map[string]any
}

// unitOps are a client's units, each a list of ops.
type unitOps [][]op

// TestConcurrentClientsOverlappingIDs has three users write the same two
// ids at once, many times over, each with a batch of two units mixing PUT,
// PATCH and DELETE. The final state must be the one that some serial
// order of the writes, each user's in its own order, gives: of the units
// where the deployment writes a unit in a transaction or is the embedded
// store, else of the ops (see RELIABILITY.md).
func TestConcurrentClientsOverlappingIDs(t *testing.T) {
	t.Setenv("PSMONGO_AUTH_UPLOAD_MODE", "powersync")
	clients := []unitOps{
		{{{"PUT", "x", map[string]any{"w": "1a"}}, {"PUT", "y", map[string]any{"w": "1a"}}},
			{{"PATCH", "x", map[string]any{"p1": "1b"}}, {"DELETE", "y", nil}}},
		{{{"PUT", "y", map[string]any{"w": "2a"}}, {"PATCH", "x", map[string]any{"p2": "2a"}}},
			{{"DELETE", "x", nil}, {"PUT", "x", map[string]any{"w": "2b"}}}},
		{{{"PATCH", "y", map[string]any{"p3": "3a"}}, {"PUT", "x", map[string]any{"w": "3a"}}},
			{{"PUT", "y", map[string]any{"w": "3b"}}, {"PATCH", "y", map[string]any{"p3": "3b"}}}},
	}
	s := newServer(t, "", "")
	tokens := []string{uploadToken(t, s, "u1"), uploadToken(t, s, "u2"), uploadToken(t, s, "u3")}
	caps, err := mongoapply.Probe(t.Context(), devstoretest.Client())
	if err != nil {
		t.Fatal(err)
	}
	// Units are isolated in transactions, and on the embedded store by
	// psmongo's own locks of their documents.
	possible := serialStates(clients, caps.Transactions || caps.FerretDB)
	unitOrders := serialStates(clients, true)
	db := devstoretest.Client().Database(devstoretest.DatabaseName(t))

	seen := make(map[string]int)
	for round := range 30 {
		coll := fmt.Sprintf("r%d", round)
		var fns []func()
		for i, units := range clients {
			fns = append(fns, func() {
				auth := map[string]string{"Authorization": "Bearer " + tokens[i]}
				if status, _, body := s.do(t, "POST", "/upload", batchOf(coll, units), auth); status != 200 ||
					!strings.Contains(body, `"applied":4`) {
					t.Errorf("client %d: %d %s, want 4 applied", i, status, body)
				}
			})
		}
		together(fns...)

		got := stateKey(readState(t, db.Collection(coll)))
		if !possible[got] {
			t.Errorf("round %d: state %s is not explained by any serial order of the writes", round, got)
		}
		seen[got]++
	}

	interleaved := 0
	for state, n := range seen {
		if !unitOrders[state] {
			interleaved += n
		}
	}
	t.Logf("%d states reachable, %d seen in %d rounds, %d rounds with units interleaved: %v",
		len(possible), len(seen), 30, interleaved, seen)
}

func batchOf(coll string, units unitOps) string {
	var ops []string
	for u, unit := range units {
		for _, o := range unit {
			data, _ := json.Marshal(o.Data)
			ops = append(ops, fmt.Sprintf(`{"op":%q,"type":%q,"id":%q,"tx_id":%d,"data":%s}`,
				o.Kind, coll, o.ID, u+1, data))
		}
	}
	return `{"batch":[` + strings.Join(ops, ",") + `]}`
}

func readState(t *testing.T, coll *mongo.Collection) map[string]map[string]any {
	t.Helper()
	state := make(map[string]map[string]any)
	for _, d := range allDocuments(t, coll) {
		id := d["_id"].(string)
		delete(d, "_id")
		state[id] = d
	}
	return state
}

// stateKey spells a state the same way whatever the order of its maps.
func stateKey(state map[string]map[string]any) string {
	var b strings.Builder
	for _, id := range slices.Sorted(maps.Keys(state)) {
		fmt.Fprintf(&b, "%s{", id)
		for _, f := range slices.Sorted(maps.Keys(state[id])) {
			fmt.Fprintf(&b, "%s:%v,", f, state[id][f])
		}
		b.WriteString("} ")
	}
	return b.String()
}

// serialStates returns the keys of the states that the serial orders of
// the clients' writes give, each client's in its own order, from an empty
// collection: orders of whole units if units are atomic, else of ops.
func serialStates(clients []unitOps, unitsAtomic bool) map[string]bool {
	var steps [][][]op // per client, its atomic steps
	for _, units := range clients {
		var cs [][]op
		for _, unit := range units {
			if unitsAtomic {
				cs = append(cs, unit)
				continue
			}
			for _, o := range unit {
				cs = append(cs, []op{o})
			}
		}
		steps = append(steps, cs)
	}

	states := make(map[string]bool)
	next := make([]int, len(steps))
	var walk func(state map[string]map[string]any)
	walk = func(state map[string]map[string]any) {
		done := true
		for c := range steps {
			if next[c] == len(steps[c]) {
				continue
			}
			done = false
			after := applyOps(state, steps[c][next[c]])
			next[c]++
			walk(after)
			next[c]--
		}
		if done {
			states[stateKey(state)] = true
		}
	}
	walk(map[string]map[string]any{})
	return states
}

// applyOps returns state after ops, as psmongo defines them: PUT replaces,
// PATCH sets the fields of an existing document, DELETE removes.
func applyOps(state map[string]map[string]any, ops []op) map[string]map[string]any {
	out := make(map[string]map[string]any, len(state))
	for id, doc := range state {
		out[id] = maps.Clone(doc)
	}
	for _, o := range ops {
		switch o.Kind {
		case "PUT":
			out[o.ID] = maps.Clone(o.Data)
		case "PATCH":
			if doc, ok := out[o.ID]; ok {
				maps.Copy(doc, o.Data)
			}
		case "DELETE":
			delete(out, o.ID)
		}
	}
	return out
}

// TestConcurrentClientsStress has many users write a few shared ids at
// once, with batches of random PUTs, PATCHes and DELETEs. Each document's
// final state must be explained by some serial order of the writes on it,
// each user's in its own order: the last PUT or DELETE decides whether it
// exists and what its PUT wrote, and each user's last PATCH after that
// PUT its field. Nothing is lost, nothing duplicated.
func TestConcurrentClientsStress(t *testing.T) {
	t.Setenv("PSMONGO_AUTH_UPLOAD_MODE", "powersync")
	const users, batches = 6, 15
	s := newServer(t, "", "")
	histories := make([]map[string][]op, users) // per user, its ops on each id, in order
	var fns []func()
	for u := range users {
		token := uploadToken(t, s, fmt.Sprint("u", u))
		histories[u] = make(map[string][]op)
		rng := rand.New(rand.NewPCG(uint64(u), 7))
		fns = append(fns, func() {
			auth := map[string]string{"Authorization": "Bearer " + token}
			for b := range batches {
				units := randomUnits(rng, u, b)
				for _, unit := range units {
					for _, o := range unit {
						histories[u][o.ID] = append(histories[u][o.ID], o)
					}
				}
				if status, _, body := s.do(t, "POST", "/upload", batchOf("stress", units), auth); status != 200 ||
					strings.Contains(body, `"rejected":[{`) {
					t.Errorf("user %d batch %d: %d %s, want all applied", u, b, status, body)
				}
			}
		})
	}
	together(fns...)

	state := readState(t, devstoretest.Client().Database(devstoretest.DatabaseName(t)).Collection("stress"))
	for _, id := range []string{"k0", "k1", "k2", "k3"} {
		if err := explain(id, state[id], histories); err != nil {
			t.Errorf("%s = %v: %v", id, state[id], err)
		}
	}
}

// randomUnits returns one to three units of one to three ops on four ids.
func randomUnits(rng *rand.Rand, user, batch int) unitOps {
	units := make(unitOps, 1+rng.IntN(3))
	for u := range units {
		for i := range 1 + rng.IntN(3) {
			tag := fmt.Sprintf("u%d-%d-%d-%d", user, batch, u, i)
			o := op{ID: fmt.Sprint("k", rng.IntN(4))}
			switch rng.IntN(3) {
			case 0:
				o.Kind, o.Data = "PUT", map[string]any{"w": tag}
			case 1:
				o.Kind, o.Data = "PATCH", map[string]any{fmt.Sprint("p", user): tag}
			default:
				o.Kind = "DELETE"
			}
			units[u] = append(units[u], o)
		}
	}
	return units
}

// explain returns why doc (nil if absent) is the result of no serial order
// of the users' ops on id, or nil.
func explain(id string, doc map[string]any, histories []map[string][]op) error {
	if doc == nil {
		for _, h := range histories {
			if r := lastReset(h[id]); r >= 0 && h[id][r].Kind == "DELETE" {
				return nil // that user's ops last
			}
		}
		for _, h := range histories {
			if lastReset(h[id]) >= 0 {
				return fmt.Errorf("absent, but every user's last PUT or DELETE of it is a PUT")
			}
		}
		return nil
	}

	// The PUT that wrote w is the last reset of all; each user's PATCHes
	// after it set the user's field, the last of them winning.
	winner, at := -1, -1
	for u, h := range histories {
		for i, o := range h[id] {
			if o.Kind == "PUT" && o.Data["w"] == doc["w"] {
				winner, at = u, i
			}
		}
	}
	if winner < 0 {
		return fmt.Errorf("no PUT wrote w %v", doc["w"])
	}
	fields := map[string]bool{"w": true}
	for u, h := range histories {
		ops := h[id]
		if u == winner {
			if r := lastReset(ops); r != at {
				return fmt.Errorf("user %d wrote it again after the PUT of w", u)
			}
		}
		field := fmt.Sprint("p", u)
		v, ok := doc[field]
		if !ok && u == winner && len(ops)-1 > at {
			return fmt.Errorf("%s is missing, though user %d PATCHed it after the PUT of w", field, u)
		}
		if !ok {
			continue
		}
		fields[field] = true
		last := len(ops) - 1
		if last < 0 || ops[last].Kind != "PATCH" || ops[last].Data[field] != v {
			return fmt.Errorf("%s is %v, not user %d's last write of it", field, v, u)
		}
		if u == winner && last <= at {
			return fmt.Errorf("%s is %v, set before the PUT that replaced the document", field, v)
		}
	}
	for f := range doc {
		if !fields[f] {
			return fmt.Errorf("field %s comes from no write", f)
		}
	}
	return nil
}

// lastReset returns the index of the last PUT or DELETE in ops, or -1.
func lastReset(ops []op) int {
	for i := len(ops) - 1; i >= 0; i-- {
		if ops[i].Kind != "PATCH" {
			return i
		}
	}
	return -1
}
