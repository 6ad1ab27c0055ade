package printer

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"time"
)

// Faults are the conditions a Virtual printer reports and acts on.
type Faults struct {
	PaperOut     bool
	PaperNearEnd bool
	CoverOpen    bool
	Offline      bool // offline for another reason, e.g. a button
	CutterError  bool
	Garbage      bool // precede every reply with noise bytes
	Silent       bool // answer no query, like printers without DLE EOT
	Unplugged    bool // Open fails and open connections fail
}

// errUnplugged is the cause inside the DisconnectedError of a Virtual
// printer that was unplugged.
var errUnplugged = errors.New("virtual printer unplugged")

// Virtual is an in-memory printer for the demo and tests. It records every
// byte it receives to a writer and answers DLE EOT, GS r 1 and ASB (GS a)
// like a healthy printer, or as SetFaults says. Open is its Opener.
type Virtual struct {
	mu      sync.Mutex // guards every field below
	rec     io.Writer
	recErr  error
	faults  Faults
	rx      []byte // replies not yet read
	asb     bool   // Automatic Status Back enabled
	tail    []byte // unscanned end of the last write (a query split across writes)
	plug    int    // incremented on unplug; connections of older plugs are dead
	written int64
	changed chan struct{} // closed and replaced whenever rx or faults change
}

// NewVirtual returns a healthy virtual printer recording to rec (nil
// discards). rec is written from the goroutine that writes to the printer.
func NewVirtual(rec io.Writer) *Virtual {
	if rec == nil {
		rec = io.Discard
	}
	return &Virtual{rec: rec, changed: make(chan struct{})}
}

func (v *Virtual) notifyLocked() {
	close(v.changed)
	v.changed = make(chan struct{})
}

// SetFaults sets the printer's condition. Unplugging kills open connections;
// with ASB enabled the change is reported at once, as real printers do.
func (v *Virtual) SetFaults(f Faults) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if f.Unplugged && !v.faults.Unplugged {
		v.plug++
		v.rx = nil
	}
	v.faults = f
	if v.asb {
		v.replyLocked(v.asbLocked()...)
	}
	v.notifyLocked()
}

// Faults returns the current condition.
func (v *Virtual) Faults() Faults {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.faults
}

// Written returns the number of bytes received so far.
func (v *Virtual) Written() int64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.written
}

// Send queues bytes for the host to read, e.g. an XOFF.
func (v *Virtual) Send(b []byte) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.rx = append(v.rx, b...)
	v.notifyLocked()
}

// Open connects to the printer. It fails while the printer is unplugged.
func (v *Virtual) Open(ctx context.Context) (Port, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.faults.Unplugged {
		return nil, &DisconnectedError{Op: "open", Err: errUnplugged}
	}
	return &VirtualConn{v: v, plug: v.plug}, nil
}

func (v *Virtual) offlineLocked() bool {
	f := v.faults
	return f.Offline || f.CoverOpen || f.PaperOut || f.CutterError
}

func (v *Virtual) replyLocked(b ...byte) {
	if v.faults.Silent {
		return
	}
	if v.faults.Garbage {
		v.rx = append(v.rx, 0xFF, 0x80)
	}
	v.rx = append(v.rx, b...)
}

func (v *Virtual) realtimeLocked(n byte) byte {
	f, b := v.faults, byte(0x12)
	switch n {
	case 1:
		if v.offlineLocked() {
			b |= 0x08
		}
	case 2:
		if f.CoverOpen {
			b |= 0x04
		}
		if f.PaperOut {
			b |= 0x20
		}
		if f.CutterError {
			b |= 0x40
		}
	case 3:
		if f.CutterError {
			b |= 0x08
		}
	case 4:
		if f.PaperNearEnd || f.PaperOut {
			b |= 0x0C
		}
		if f.PaperOut {
			b |= 0x60
		}
	}
	return b
}

func (v *Virtual) paperLocked() byte {
	var b byte
	if v.faults.PaperNearEnd || v.faults.PaperOut {
		b |= 0x03
	}
	if v.faults.PaperOut {
		b |= 0x0C
	}
	return b
}

func (v *Virtual) asbLocked() []byte {
	a := []byte{0x10, 0, v.paperLocked(), 0}
	if v.offlineLocked() {
		a[0] |= 0x08
	}
	if v.faults.CoverOpen {
		a[0] |= 0x20
	}
	if v.faults.CutterError {
		a[1] |= 0x08
	}
	return a
}

// receiveLocked records b and answers the queries in it.
func (v *Virtual) receiveLocked(b []byte) error {
	if v.recErr == nil {
		_, v.recErr = v.rec.Write(b)
	}
	v.written += int64(len(b))
	buf := append(v.tail, b...)
	i := 0
	for i < len(buf) {
		rest := buf[i:]
		switch {
		case len(rest) >= 3 && rest[0] == 0x10 && rest[1] == 0x04 && rest[2] >= 1 && rest[2] <= 4:
			v.replyLocked(v.realtimeLocked(rest[2]))
			i += 3
		case len(rest) >= 3 && rest[0] == 0x1D && rest[1] == 0x72 && (rest[2] == 0x31 || rest[2] == 0x01):
			v.replyLocked(v.paperLocked())
			i += 3
		case len(rest) >= 3 && rest[0] == 0x1D && rest[1] == 0x61:
			v.asb = rest[2] != 0
			if v.asb {
				v.replyLocked(v.asbLocked()...)
			}
			i += 3
		case len(rest) < 3 && (rest[0] == 0x10 || rest[0] == 0x1D):
			// Possibly a command split across writes: keep it for the next one.
			v.tail = append([]byte(nil), rest...)
			v.notifyLocked()
			return v.recErr
		default:
			i++
		}
	}
	v.tail = v.tail[:0]
	v.notifyLocked()
	return v.recErr
}

// VirtualConn is one connection to a Virtual printer.
type VirtualConn struct {
	v    *Virtual
	plug int

	mu          sync.Mutex // guards closed and readTimeout
	closed      bool
	readTimeout time.Duration
}

var (
	_ Port          = (*VirtualConn)(nil)
	_ Drainer       = (*VirtualConn)(nil)
	_ InputFlusher  = (*VirtualConn)(nil)
	_ ModemStatus   = (*VirtualConn)(nil)
	_ ReadTimeouter = (*VirtualConn)(nil)
)

// check returns the error for a dead connection; v.mu must be held.
func (c *VirtualConn) checkLocked(op string) error {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	switch {
	case closed:
		return &DisconnectedError{Op: op, Err: os.ErrClosed}
	case c.v.faults.Unplugged || c.plug != c.v.plug:
		return &DisconnectedError{Op: op, Err: errUnplugged}
	}
	return nil
}

// Write delivers b to the printer.
func (c *VirtualConn) Write(b []byte) (int, error) {
	c.v.mu.Lock()
	defer c.v.mu.Unlock()
	if err := c.checkLocked("write"); err != nil {
		return 0, err
	}
	return len(b), c.v.receiveLocked(b)
}

// Read returns replies, waiting up to the read timeout for one.
func (c *VirtualConn) Read(b []byte) (int, error) {
	c.mu.Lock()
	d := c.readTimeout
	c.mu.Unlock()
	var expire <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		expire = t.C
	}
	for {
		c.v.mu.Lock()
		if err := c.checkLocked("read"); err != nil {
			c.v.mu.Unlock()
			return 0, err
		}
		if len(c.v.rx) > 0 {
			n := copy(b, c.v.rx)
			c.v.rx = c.v.rx[n:]
			c.v.mu.Unlock()
			return n, nil
		}
		wake := c.v.changed
		c.v.mu.Unlock()
		select {
		case <-wake:
		case <-expire:
			return 0, os.ErrDeadlineExceeded
		}
	}
}

// SetReadTimeout bounds each Read; d <= 0 blocks.
func (c *VirtualConn) SetReadTimeout(d time.Duration) error {
	c.mu.Lock()
	c.readTimeout = d
	c.mu.Unlock()
	return nil
}

// Drain returns at once: bytes arrive when written.
func (c *VirtualConn) Drain() error { return nil }

// FlushInput drops unread replies.
func (c *VirtualConn) FlushInput() error {
	c.v.mu.Lock()
	defer c.v.mu.Unlock()
	if err := c.checkLocked("flush"); err != nil {
		return err
	}
	c.v.rx = nil
	return nil
}

// ModemStatus reports DSR and CTS high unless the printer is offline.
func (c *VirtualConn) ModemStatus() (ModemBits, error) {
	c.v.mu.Lock()
	defer c.v.mu.Unlock()
	if err := c.checkLocked("modem status"); err != nil {
		return ModemBits{}, err
	}
	ready := !c.v.offlineLocked()
	return ModemBits{DSR: ready, CTS: ready}, nil
}

// Close ends the connection and wakes a blocked Read.
func (c *VirtualConn) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.v.mu.Lock()
	c.v.notifyLocked()
	c.v.mu.Unlock()
	return nil
}
