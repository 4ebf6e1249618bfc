package bench

import (
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"
)

// progress draws a bar of ops done on a terminal, redrawn in place.
type progress struct {
	w     io.Writer // nil draws nothing
	label string
	total int
	done  atomic.Int64
	start time.Time

	stop     chan struct{}
	finished chan struct{}
}

func startProgress(w io.Writer, label string, total int) *progress {
	p := &progress{w: w, label: label, total: total, start: time.Now(),
		stop: make(chan struct{}), finished: make(chan struct{})}
	if w == nil {
		close(p.finished)
		return p
	}
	go func() {
		defer close(p.finished)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-p.stop:
				fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", 78))
				return
			case <-tick.C:
				fmt.Fprint(p.w, "\r"+p.line())
			}
		}
	}()
	return p
}

// add counts n more ops done.
func (p *progress) add(n int) { p.done.Add(int64(n)) }

// line renders the bar: 72 columns at most.
func (p *progress) line() string {
	const width = 30
	done := int(p.done.Load())
	filled := 0
	if p.total > 0 {
		filled = min(done*width/p.total, width)
	}
	rate := float64(done) / time.Since(p.start).Seconds()
	return fmt.Sprintf("%-7s [%s%s] %d/%d ops %7.0f/s",
		p.label, strings.Repeat("=", filled), strings.Repeat(" ", width-filled), done, p.total, rate)
}

// finish stops drawing and clears the line.
func (p *progress) finish() {
	if p.w != nil {
		close(p.stop)
	}
	<-p.finished
}
