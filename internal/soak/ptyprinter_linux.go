//go:build linux

package soak

import (
	"bytes"
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/posagent/posagent/printer"
)

// PTYPrinter is a serial receipt printer on the master side of a pty: the
// agent opens Path (printer.port) through go.bug.st/serial, as it opens a
// real /dev/ttyUSB0, and paces its writes at the configured baud rate; a
// printer.Virtual answers its status queries and records every byte. The pty
// outlives the agent's processes: a kill -9 leaves what was written before
// it in the line, delivered as a real UART would.
type PTYPrinter struct {
	Path string // the pty's slave device, for printer.port

	master *os.File
	tty    *os.File // held open, so the master never reads EIO between runs
	conn   *printer.VirtualConn
	mu     sync.Mutex // guards rec
	rec    bytes.Buffer
	wg     sync.WaitGroup
}

// NewPTYPrinter opens a pty and starts the printer; it stops when the test
// ends. ok is false when the host has no pty (a container without
// /dev/ptmx).
func NewPTYPrinter(tb testing.TB) (p *PTYPrinter, ok bool) {
	tb.Helper()
	master, tty, err := pty.Open()
	if err != nil {
		tb.Logf("no pty: %v", err)
		return nil, false
	}
	// Raw from the start: before the agent sets its mode, echo would send
	// the printer's replies back to it as data.
	if t, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS); err == nil {
		cfmakeraw(t)
		_ = unix.IoctlSetTermios(int(tty.Fd()), unix.TCSETS, t)
	}
	p = &PTYPrinter{Path: tty.Name(), master: master, tty: tty}
	vp := printer.NewVirtual(writerFunc(p.record))
	c, err := vp.Open(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	p.conn = c.(*printer.VirtualConn)
	_ = p.conn.SetReadTimeout(20 * time.Millisecond)
	done := make(chan struct{})
	p.wg.Go(func() { p.receive() })
	p.wg.Go(func() { p.answer(done) })
	tb.Cleanup(func() {
		close(done)
		// The master is not in Go's poller, so closing it does not wake a
		// blocked Read; closing the last slave fd does (EIO). The agent has
		// exited by now.
		tty.Close()
		p.wg.Wait()
		master.Close()
	})
	return p, true
}

// cfmakeraw does what cfmakeraw(3) does.
func cfmakeraw(t *unix.Termios) {
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

func (p *PTYPrinter) record(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rec.Write(b)
}

// receive hands every byte on the line to the printer.
func (p *PTYPrinter) receive() {
	buf := make([]byte, 4096)
	for {
		n, err := p.master.Read(buf)
		if n > 0 {
			if _, werr := p.conn.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// answer sends the printer's replies (status bytes) back down the line.
func (p *PTYPrinter) answer(done <-chan struct{}) {
	buf := make([]byte, 256)
	for {
		select {
		case <-done:
			return
		default:
		}
		n, err := p.conn.Read(buf)
		if n > 0 {
			if _, werr := p.master.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return
		}
	}
}

// Bytes returns everything the printer received so far.
func (p *PTYPrinter) Bytes() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return bytes.Clone(p.rec.Bytes())
}
