package handlers_test

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"testing"

	"go.mongodb.org/mongo-driver/bson"
)

// opMsg is the wire protocol's OP_MSG op code.
const opMsg = 2013

// wireProxy stands between psmongo and the store on loopback and forwards
// the MongoDB wire protocol both ways. It counts the write commands on one
// database and can cut every connection at a chosen one: before the store
// sees it, or after the store has applied it and before its answer comes
// back. It can also swallow everything, as a network that drops packets.
type wireProxy struct {
	ln     net.Listener
	target string
	db     string // the database whose writes count

	mu       sync.Mutex
	conns    map[net.Conn]bool
	down     bool // refuse connections, as a stopped store does
	hang     bool // forward nothing and answer nothing
	writes   int  // write commands seen
	cutAt    int  // the write to cut at; 0 for none
	cutAfter bool // cut once the store answered it, dropping the answer
	cut      chan struct{}
}

func newWireProxy(t *testing.T, target, db string) *wireProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &wireProxy{ln: ln, target: target, db: db, conns: make(map[net.Conn]bool), cut: make(chan struct{})}
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		defer p.mu.Unlock()
		p.closeAllLocked()
	})
	return p
}

// URI is the connection string of the proxy.
func (p *wireProxy) URI() string { return "mongodb://" + p.ln.Addr().String() + "/" }

// Writes returns the number of write commands seen so far.
func (p *wireProxy) Writes() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.writes
}

// CutAt arms the proxy to cut every connection at the n-th write command
// from now, after the store answered it when after is true, and returns a
// channel closed when it has.
func (p *wireProxy) CutAt(n int, after bool) <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cutAt, p.cutAfter, p.cut = p.writes+n, after, make(chan struct{})
	return p.cut
}

// Resume accepts and forwards connections again.
func (p *wireProxy) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down, p.hang, p.cutAt = false, false, 0
}

// Hang makes the proxy swallow everything from now on.
func (p *wireProxy) Hang() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hang = true
}

func (p *wireProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		if down {
			c.Close()
			continue
		}
		go p.serve(c)
	}
}

// serve forwards one client connection until either side closes.
func (p *wireProxy) serve(client net.Conn) {
	store, err := net.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	p.track(client, store)
	defer p.untrack(client, store)

	var mu sync.Mutex
	dropAnswerTo := int32(-1) // the request whose answer is dropped
	go func() {
		defer client.Close()
		defer store.Close()
		for {
			msg, err := readWireMessage(store)
			if err != nil {
				return
			}
			mu.Lock()
			drop := responseTo(msg) == dropAnswerTo
			mu.Unlock()
			if drop {
				p.cutNow() // with the answer unsent
				return
			}
			if _, err := client.Write(msg); err != nil {
				return
			}
		}
	}()

	defer store.Close()
	defer client.Close()
	for {
		msg, err := readWireMessage(client)
		if err != nil {
			return
		}
		forward, after := p.check(msg)
		if !forward {
			continue
		}
		if after {
			mu.Lock()
			dropAnswerTo = requestID(msg)
			mu.Unlock()
		}
		if _, err := store.Write(msg); err != nil {
			return
		}
	}
}

// check counts a write command and says whether to forward msg, and
// whether to drop its answer and cut then.
func (p *wireProxy) check(msg []byte) (forward, dropAnswer bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hang || p.down {
		return false, false
	}
	if !isWrite(msg, p.db) {
		return true, false
	}
	p.writes++
	if p.writes != p.cutAt {
		return true, false
	}
	if p.cutAfter {
		return true, true
	}
	p.cutLocked()
	return false, false
}

func (p *wireProxy) track(conns ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range conns {
		p.conns[c] = true
	}
}

func (p *wireProxy) untrack(conns ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range conns {
		delete(p.conns, c)
	}
}

// cutNow cuts every connection; after a cut the proxy refuses new ones,
// as a stopped store does, until Resume.
func (p *wireProxy) cutNow() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cutLocked()
}

func (p *wireProxy) cutLocked() {
	p.closeAllLocked()
	if !p.down {
		p.down = true
		close(p.cut)
	}
}

func (p *wireProxy) closeAllLocked() {
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// readWireMessage reads one message: a little-endian length, then the rest.
func readWireMessage(r io.Reader) ([]byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		return nil, err
	}
	n := binary.LittleEndian.Uint32(size[:])
	if n < 16 || n > 64<<20 {
		return nil, errors.New("bad message length")
	}
	msg := make([]byte, n)
	copy(msg, size[:])
	_, err := io.ReadFull(r, msg[4:])
	return msg, err
}

func requestID(msg []byte) int32  { return int32(binary.LittleEndian.Uint32(msg[4:8])) }
func responseTo(msg []byte) int32 { return int32(binary.LittleEndian.Uint32(msg[8:12])) }

// isWrite reports whether msg is an insert, update or delete command on db.
func isWrite(msg []byte, db string) bool {
	if binary.LittleEndian.Uint32(msg[12:16]) != opMsg || len(msg) < 21 {
		return false
	}
	for rest := msg[20:]; len(rest) > 5; {
		kind, size := rest[0], int(binary.LittleEndian.Uint32(rest[1:5]))
		if size < 5 || size+1 > len(rest) {
			return false
		}
		if kind == 0 {
			doc := bson.Raw(rest[1 : 1+size])
			first, err := doc.IndexErr(0)
			if err != nil {
				return false
			}
			target, _ := doc.Lookup("$db").StringValueOK()
			switch first.Key() {
			case "insert", "update", "delete":
				return target == db
			}
			return false
		}
		rest = rest[1+size:]
	}
	return false
}
