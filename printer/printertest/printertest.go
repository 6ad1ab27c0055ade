package printertest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/posagent/posagent/printer"
)

// Recorder is a port that captures every written byte and never replies.
// Use it with printer.Options.NoStatus.
type Recorder struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

var _ printer.Port = (*Recorder)(nil)

// Write appends b.
func (r *Recorder) Write(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.Write(b)
}

// Read reports io.EOF: a Recorder never replies.
func (r *Recorder) Read([]byte) (int, error) { return 0, io.EOF }

// Bytes returns a copy of everything written so far.
func (r *Recorder) Bytes() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Clone(r.buf.Bytes())
}

// IO is one scripted exchange: the port expects exactly W to be written
// (possibly over several Write calls), then makes R readable.
// An IO with an empty W makes R readable as soon as the previous IO is done.
type IO struct {
	W, R []byte
}

// ErrMismatch is wrapped by the errors Playback returns for unexpected writes.
var ErrMismatch = errors.New("printertest: unexpected write")

// Playback is a scripted port. Writes are compared byte-for-byte against the
// script; reads return the scripted replies once the writes before them
// happened, and otherwise wait for the read timeout (os.ErrDeadlineExceeded).
// Close fails if the script was not played to its end or a write mismatched.
type Playback struct {
	mu          sync.Mutex // guards every field below
	ops         []IO
	wOff        int    // bytes of ops[0].W already matched
	rx          []byte // replies readable now
	err         error  // first mismatch
	closed      bool
	readTimeout time.Duration
	changed     chan struct{}
}

var (
	_ printer.Port          = (*Playback)(nil)
	_ printer.ReadTimeouter = (*Playback)(nil)
)

// NewPlayback returns a Playback that plays ops.
func NewPlayback(ops ...IO) *Playback {
	p := &Playback{ops: ops, changed: make(chan struct{})}
	p.mu.Lock()
	p.advanceLocked()
	p.mu.Unlock()
	return p
}

func (p *Playback) notifyLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// advanceLocked releases the replies of every op whose writes are complete.
func (p *Playback) advanceLocked() {
	for len(p.ops) > 0 && p.wOff == len(p.ops[0].W) {
		p.rx = append(p.rx, p.ops[0].R...)
		p.ops = p.ops[1:]
		p.wOff = 0
	}
	p.notifyLocked()
}

// Write checks b against the script.
func (p *Playback) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return 0, os.ErrClosed
	}
	if p.err != nil {
		return 0, p.err
	}
	for i, c := range b {
		if len(p.ops) == 0 {
			p.err = fmt.Errorf("%w: % x after the end of the script", ErrMismatch, b[i:min(i+16, len(b))])
			return i, p.err
		}
		want := p.ops[0].W[p.wOff]
		if c != want {
			p.err = fmt.Errorf("%w: byte %d of op (%d ops left) is %#02x, want %#02x", ErrMismatch, p.wOff, len(p.ops), c, want)
			return i, p.err
		}
		p.wOff++
		p.advanceLocked()
	}
	return len(b), nil
}

// Read returns scripted replies.
func (p *Playback) Read(b []byte) (int, error) {
	p.mu.Lock()
	d := p.readTimeout
	p.mu.Unlock()
	var expire <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		expire = t.C
	}
	for {
		p.mu.Lock()
		if len(p.rx) > 0 {
			n := copy(b, p.rx)
			p.rx = p.rx[n:]
			p.mu.Unlock()
			return n, nil
		}
		if p.closed {
			p.mu.Unlock()
			return 0, os.ErrClosed
		}
		wake := p.changed
		p.mu.Unlock()
		select {
		case <-wake:
		case <-expire:
			return 0, os.ErrDeadlineExceeded
		}
	}
}

// SetReadTimeout bounds each Read; d <= 0 blocks.
func (p *Playback) SetReadTimeout(d time.Duration) error {
	p.mu.Lock()
	p.readTimeout = d
	p.mu.Unlock()
	return nil
}

// Done reports whether the whole script has been written.
func (p *Playback) Done() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.ops) == 0
}

// Err returns the first mismatch, if any.
func (p *Playback) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Close ends playback. It fails on a mismatch or when ops are left.
func (p *Playback) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.closed = true
		p.notifyLocked()
	}
	if p.err != nil {
		return p.err
	}
	if len(p.ops) > 0 {
		return fmt.Errorf("printertest: %d ops left, next expects % x", len(p.ops), p.ops[0].W[p.wOff:min(p.wOff+16, len(p.ops[0].W))])
	}
	return nil
}
