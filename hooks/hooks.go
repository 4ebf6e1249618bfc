// Package hooks holds the per-collection validation hooks that a team owns.
//
// A hook is Go code that sees one client write before it reaches MongoDB. It
// can reject the write with a code and a message, or change the write's data.
// Hooks run while a unit (one client transaction) is validated, before any
// of it is written, so a rejection keeps the whole unit out of MongoDB.
//
// Each collection's hook lives in its own file, hooks/NAME.go, written by
// "psmongo scaffold collection NAME" and then edited by hand. The file is
// in this package and registers its hook from an init function:
//
//	func init() {
//		Register("todos", checkTodos)
//	}
//
// A name that is not a Go identifier gets a file name the go tool always
// builds: todo-items is written to hooks/todo_items.go.
package hooks

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
)

// Kind is the kind of a client write.
type Kind string

// The kinds of write a PowerSync client sends.
const (
	Put    Kind = "PUT"
	Patch  Kind = "PATCH"
	Delete Kind = "DELETE"
)

// Op is one client write as a hook sees it.
//
// Data holds the values after type restoration: string, bool, int32, int64,
// float64, time.Time, nil, or a BSON value: primitive.Decimal128,
// primitive.ObjectID, bson.D for an object and bson.A for an array. It
// never holds "id" or "_id".
// A hook may change, add or delete entries; a Delete has no Data.
type Op struct {
	Kind       Kind
	Collection string
	ID         string // the row id as the client sent it
	Data       map[string]any
	UserID     string // the authenticated caller; empty when uploads are unauthenticated
	OpID       string // the client's op_id, if it sent one
	TxID       string // the client's transaction id, if it sent one
	Metadata   string // the client's _metadata for this op, if it sent one
}

// Hook checks one write. It returns nil to let the write through, a
// *Rejection (see Reject) to refuse it with a code the client sees, or any
// other error, which refuses it with code HOOK_FAILED.
type Hook func(ctx context.Context, op *Op) error

// Rejection is an error that refuses a write with a code and a message, both
// returned to the client and stored in the dead-letter collection.
type Rejection struct {
	Code    string
	Message string
}

// Reject returns a *Rejection with the given code and message. The code is
// short and upper case, such as "INVALID_TITLE".
func Reject(code, format string, args ...any) error {
	return &Rejection{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Error returns the code and the message.
func (r *Rejection) Error() string {
	return r.Code + ": " + r.Message
}

// AsRejection reports whether err is or wraps a *Rejection, and returns it.
func AsRejection(err error) (*Rejection, bool) {
	var r *Rejection
	ok := errors.As(err, &r)
	return r, ok
}

// Registry maps collection names to their hooks. The zero value is empty and
// ready to use; it is safe for concurrent use.
type Registry struct {
	mu    sync.RWMutex
	hooks map[string]Hook
}

// Default is the registry that hook files register into and that the server
// consults.
var Default = &Registry{}

// Register adds h to the Default registry under collection.
// It panics if collection already has a hook, since two files claiming one
// collection is a programming error found at start-up.
func Register(collection string, h Hook) {
	Default.Register(collection, h)
}

// Register adds h under collection. It panics if collection is empty, h is
// nil, or collection already has a hook.
func (r *Registry) Register(collection string, h Hook) {
	if collection == "" || h == nil {
		panic("hooks: Register needs a collection name and a hook")
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.hooks[collection]; ok {
		panic(fmt.Sprintf("hooks: collection %q registered twice", collection))
	}
	if r.hooks == nil {
		r.hooks = make(map[string]Hook)
	}
	r.hooks[collection] = h
}

// Lookup returns the hook of collection, if it has one.
func (r *Registry) Lookup(collection string) (Hook, bool) {
	if r == nil {
		return nil, false
	}

	r.mu.RLock()
	defer r.mu.RUnlock()
	h, ok := r.hooks[collection]
	return h, ok
}

// Collections returns the names that have a hook, sorted.
func (r *Registry) Collections() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.hooks))
	for name := range r.hooks {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
