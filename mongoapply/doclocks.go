package mongoapply

import (
	"slices"
	"sync"

	"go.mongodb.org/mongo-driver/bson"
)

// docLocks serialize this process's units that write the same documents.
// FerretDB 1.24 on SQLite has no transactions, and it applies an update as
// a read and then a write of the whole document, so two writes to one
// document at once can lose one: a PATCH can put back a document that a
// DELETE and a PUT replaced meanwhile.
// https://github.com/FerretDB/FerretDB/issues/3040
//
// A unit holds the locks of all its documents while it is written, so
// units that share a document are written one after the other, as they
// would be in transactions, and units on different documents do not wait
// for each other. MongoDB applies each write to a document atomically and
// isolates units with transactions; it needs none of this.
//
// The locks cover the writers of this process only: several servers
// sharing one store, as psmongo devstore allows, can still interleave
// units and lose writes to a document they write at once.
type docLocks struct {
	mu    sync.Mutex
	locks map[string]*docLock
}

// docLock is the lock of one document, kept while anyone holds or waits
// for it.
type docLock struct {
	sync.Mutex
	refs int
}

func newDocLocks() *docLocks {
	return &docLocks{locks: make(map[string]*docLock)}
}

// lockUnit locks the documents that writes touch, in the order of their
// keys so that two units never wait for each other, and returns the unlock.
func (l *docLocks) lockUnit(writes []write) func() {
	keys := make([]string, 0, len(writes))
	for _, w := range writes {
		keys = append(keys, docKey(w.collection, w.id))
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)

	held := make([]*docLock, len(keys))
	l.mu.Lock()
	for i, k := range keys {
		d := l.locks[k]
		if d == nil {
			d = &docLock{}
			l.locks[k] = d
		}
		d.refs++
		held[i] = d
	}
	l.mu.Unlock()

	for _, d := range held {
		d.Lock()
	}
	return func() {
		for _, d := range held {
			d.Unlock()
		}
		l.mu.Lock()
		for i, k := range keys {
			if held[i].refs--; held[i].refs == 0 {
				delete(l.locks, k)
			}
		}
		l.mu.Unlock()
	}
}

// docKey names the document id of collection, the id's BSON type
// included, so that the string "1" and a binary id never share a key.
func docKey(collection string, id bson.RawValue) string {
	return collection + "\x00" + string(rune(id.Type)) + string(id.Value)
}
