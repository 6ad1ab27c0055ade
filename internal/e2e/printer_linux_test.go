//go:build linux

package e2e

import (
	"bytes"
	"os"
	"sync"
	"testing"

	"github.com/creack/pty"
)

// Condition is what the fake printer reports.
type condition int

const (
	healthy condition = iota
	paperOut
	coverOpen
)

// fakePrinter is a serial receipt printer on the master side of a pty. It
// records every byte the host sends and answers the real-time status queries
// (DLE EOT 1-4) and the paper status request GS r 1 that follows each job.
type fakePrinter struct {
	master *os.File
	tty    *os.File // held open so the master never sees EIO while the worker reopens
	path   string

	mu      sync.Mutex // guards the fields below
	data    []byte     // every byte received, queries included
	tail    []byte     // a query split across reads
	cond    condition
	queries int

	wg sync.WaitGroup
}

func newFakePrinter(t testing.TB) *fakePrinter {
	t.Helper()
	master, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pty available: %v", err)
	}
	p := &fakePrinter{master: master, tty: tty, path: tty.Name()}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.receive()
	}()
	return p
}

// close stops the printer. The master fd is not in the runtime poller, so
// closing it would not wake the reader; closing the last slave fd (the worker
// closed its own before) makes the read fail with EIO.
func (p *fakePrinter) close() {
	p.tty.Close()
	p.wg.Wait()
	p.master.Close()
}

func (p *fakePrinter) receive() {
	b := make([]byte, 4096)
	for {
		n, err := p.master.Read(b)
		if n > 0 {
			if reply := p.take(b[:n]); len(reply) > 0 {
				p.master.Write(reply)
			}
		}
		if err != nil {
			return
		}
	}
}

// take records b and returns the answers to the queries in it.
func (p *fakePrinter) take(b []byte) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.data = append(p.data, b...)
	buf := append(p.tail, b...)
	p.tail = nil
	var reply []byte
	for i := 0; i < len(buf); i++ {
		rest := buf[i:]
		if len(rest) < 3 && (rest[0] == 0x10 || rest[0] == 0x1D) {
			p.tail = bytes.Clone(rest)
			break
		}
		switch {
		case rest[0] == 0x10 && rest[1] == 0x04 && rest[2] >= 1 && rest[2] <= 4:
			reply = append(reply, p.realtimeLocked(rest[2]))
			p.queries++
			i += 2
		case rest[0] == 0x1D && rest[1] == 0x72 && (rest[2] == 0x31 || rest[2] == 0x01):
			reply = append(reply, p.paperLocked())
			p.queries++
			i += 2
		}
	}
	return reply
}

// realtimeLocked answers DLE EOT n. Bits 1 and 4 are fixed to 1 (0x12).
func (p *fakePrinter) realtimeLocked(n byte) byte {
	b := byte(0x12)
	switch n {
	case 1: // printer status: bit 3 offline
		if p.cond != healthy {
			b |= 0x08
		}
	case 2: // offline cause: bit 2 cover open, bit 5 stopped by paper end
		switch p.cond {
		case coverOpen:
			b |= 0x04
		case paperOut:
			b |= 0x20
		}
	case 4: // roll sensor: bits 2-3 near end, bits 5-6 paper end
		if p.cond == paperOut {
			b |= 0x0C | 0x60
		}
	}
	return b
}

// paperLocked answers GS r 1: bits 0-1 near end, bits 2-3 paper end.
func (p *fakePrinter) paperLocked() byte {
	if p.cond == paperOut {
		return 0x0F
	}
	return 0
}

func (p *fakePrinter) set(c condition) {
	p.mu.Lock()
	p.cond = c
	p.mu.Unlock()
}

// bytes returns a copy of everything received so far.
func (p *fakePrinter) bytes() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return bytes.Clone(p.data)
}

// counts returns the bytes received and the queries answered so far.
func (p *fakePrinter) counts() (received, queries int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.data), p.queries
}
