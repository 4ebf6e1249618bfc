package mongoapply

import (
	"fmt"
	"hash/maphash"
	"slices"
	"sync"
)

// docLocks serialize this process's writes to one document. FerretDB 1.24
// on SQLite applies an update as a read and then a write of the whole
// document, not in one transaction, so two writes to one document at once
// can lose one: a PATCH can put back a document that a DELETE and a PUT
// replaced meanwhile. MongoDB applies each write to a document atomically
// and needs none of this.
// https://github.com/FerretDB/FerretDB/issues/3040
//
// The locks are striped: documents that share a stripe wait for each other
// too, which costs the development store little. They cover the writers of
// this process only: several servers sharing one store, as psmongo devstore
// allows, can still lose writes to a document they write at once.
type docLocks struct {
	seed    maphash.Seed
	stripes [64]sync.Mutex
}

func newDocLocks() *docLocks {
	return &docLocks{seed: maphash.MakeSeed()}
}

// lockRun locks the documents of a run, in the order of their stripes so
// that two runs never wait for each other, and returns the unlock.
func (l *docLocks) lockRun(run []write) func() {
	stripes := make([]int, 0, len(run))
	for _, w := range run {
		stripes = append(stripes, l.stripe(w.collection, w.id))
	}
	slices.Sort(stripes)
	stripes = slices.Compact(stripes)
	for _, i := range stripes {
		l.stripes[i].Lock()
	}
	return func() {
		for _, i := range stripes {
			l.stripes[i].Unlock()
		}
	}
}

// stripe returns the stripe of the document id of collection.
func (l *docLocks) stripe(collection string, id any) int {
	var h maphash.Hash
	h.SetSeed(l.seed)
	h.WriteString(collection)
	h.WriteByte(0)
	fmt.Fprint(&h, id)
	return int(h.Sum64() % uint64(len(l.stripes)))
}
