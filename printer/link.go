package printer

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/posagent/posagent/escpos"
)

// rxPoll bounds each read of the reader goroutine on ports that support it,
// so that the goroutine notices it should stop.
const rxPoll = 50 * time.Millisecond

// dsrPoll is how often HandshakeDTRDSR looks at the modem lines while busy.
const dsrPoll = 2 * time.Millisecond

// link is one open connection to the printer: the port, the goroutine that
// reads it, and the pacing writer. It is used by a single goroutine (the
// worker); only the fields under mu are shared with the reader.
type link struct {
	port Port
	opts *Options
	owns bool // close closes the port

	mu     sync.Mutex // guards parser and rxErr
	parser escpos.StatusParser
	rxErr  error // why the reader stopped; io.EOF for ports without replies

	closeOnce sync.Once
	closeErr  error

	// next is the earliest start of the next paced chunk at the baud rate.
	// It outlives one write, so a job written in parts (Data, then its
	// tail, then GS r 1) is paced as one stream.
	next time.Time

	kick   chan struct{} // 1-slot: the reader saw something
	stop   chan struct{}
	done   chan struct{}
	broken atomic.Bool // the port failed or was closed by a guard
}

func newLink(p Port, opts *Options, owns bool) (*link, error) {
	if opts.Handshake == HandshakeDTRDSR {
		if _, ok := p.(ModemStatus); !ok {
			return nil, &OptionError{Field: "Handshake", Value: "dtrdsr on a port without modem lines"}
		}
	}
	if rt, ok := p.(ReadTimeouter); ok {
		if err := rt.SetReadTimeout(rxPoll); err != nil {
			return nil, err
		}
	}
	l := &link{port: p, opts: opts, owns: owns, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go l.readLoop()
	return l, nil
}

func (l *link) signal() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

func (l *link) readLoop() {
	defer close(l.done)
	buf := make([]byte, 256)
	var replies []escpos.Reply
	for {
		select {
		case <-l.stop:
			return
		default:
		}
		n, err := l.port.Read(buf)
		if n > 0 {
			l.mu.Lock()
			replies = l.parser.Feed(replies[:0], buf[:n])
			l.mu.Unlock()
			l.signal()
		}
		switch {
		case err == nil && n == 0:
			time.Sleep(rxPoll) // a port that neither blocks nor times out
		case err == nil, isTimeout(err):
		default:
			l.mu.Lock()
			l.rxErr = err
			l.mu.Unlock()
			if !errors.Is(err, io.EOF) {
				l.broken.Store(true)
			}
			l.signal()
			return
		}
	}
}

// close stops the reader and, if the link owns it, closes the port. A port
// that can neither be closed nor time out may keep the reader blocked until
// its next byte; close does not wait longer than a second for it.
func (l *link) close() error {
	close(l.stop)
	err := l.closePort()
	select {
	case <-l.done:
	case <-time.After(time.Second):
	}
	return err
}

// closePort closes an owned port once; the write guard and close share it.
func (l *link) closePort() error {
	c, ok := l.port.(io.Closer)
	if !ok || !l.owns {
		return nil
	}
	l.closeOnce.Do(func() { l.closeErr = c.Close() })
	return l.closeErr
}

// waitFor waits until cond holds for the parser, the reader fails, ctx ends
// or d passes.
func (l *link) waitFor(ctx context.Context, op string, d time.Duration, cond func(*escpos.StatusParser) bool) error {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		l.mu.Lock()
		ok, rxErr := cond(&l.parser), l.rxErr
		l.mu.Unlock()
		switch {
		case ok:
			return nil
		case errors.Is(rxErr, io.EOF):
			return ErrNoReplies
		case rxErr != nil:
			return asDisconnected("read", rxErr)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return &TimeoutError{Op: op, After: d}
		case <-l.kick:
		}
	}
}

func asDisconnected(op string, err error) error {
	var de *DisconnectedError
	if errors.As(err, &de) {
		return err
	}
	return &DisconnectedError{Op: op, Err: err}
}

// writeRaw writes b at once, guarded: a write still blocked after
// WriteTimeout, or when ctx ends, closes the port to get it back.
func (l *link) writeRaw(ctx context.Context, b []byte) error {
	if l.broken.Load() {
		return &DisconnectedError{Op: "write", Err: errors.New("port closed after an earlier failure")}
	}
	var fired atomic.Bool
	guard := time.AfterFunc(l.opts.WriteTimeout, func() {
		fired.Store(true)
		l.closePort()
	})
	stopCtx := context.AfterFunc(ctx, func() { l.closePort() })
	n, err := l.port.Write(b)
	guard.Stop()
	cancelled := !stopCtx()
	switch {
	case fired.Load():
		l.broken.Store(true)
		return &TimeoutError{Op: "write", After: l.opts.WriteTimeout}
	case cancelled:
		l.broken.Store(true)
		return ctx.Err()
	case err != nil:
		l.broken.Store(true)
		return asDisconnected("write", err)
	case n < len(b):
		l.broken.Store(true)
		return asDisconnected("write", io.ErrShortWrite)
	}
	if d, ok := l.port.(Drainer); ok {
		if err := d.Drain(); err != nil {
			l.broken.Store(true)
			return asDisconnected("drain", err)
		}
	}
	return nil
}

// write sends data paced: chunks of at most ChunkSize bytes, each after the
// handshake allows it and no sooner than the baud rate permits, counting the
// bytes of earlier writes on this link.
func (l *link) write(ctx context.Context, data []byte) error {
	bt := l.opts.byteTime()
	for off := 0; off < len(data); {
		if err := l.waitReady(ctx); err != nil {
			return err
		}
		if bt > 0 {
			if d := time.Until(l.next); d > 0 {
				if err := sleep(ctx, d); err != nil {
					return err
				}
			}
		}
		chunk := data[off:min(off+l.opts.ChunkSize, len(data))]
		start := time.Now()
		if err := l.writeRaw(ctx, chunk); err != nil {
			return err
		}
		l.next = maxTime(l.next, start).Add(time.Duration(len(chunk)) * bt)
		off += len(chunk)
	}
	return nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// waitReady blocks while the printer signals busy.
func (l *link) waitReady(ctx context.Context) error {
	var err error
	switch l.opts.Handshake {
	case HandshakeXONXOFF:
		err = l.waitFor(ctx, "flow", l.opts.FlowTimeout, func(p *escpos.StatusParser) bool { return !p.Paused() })
	case HandshakeDTRDSR:
		err = l.waitModem(ctx)
	}
	var te *TimeoutError
	if errors.As(err, &te) {
		// A long pause usually means the printer stopped (cover, paper);
		// real-time queries are answered even then.
		if st, qerr := l.queryStatus(ctx); qerr == nil && !st.Ready() {
			return &StatusError{Status: st}
		}
	}
	return err
}

func (l *link) waitModem(ctx context.Context) error {
	ms := l.port.(ModemStatus) // checked in newLink
	deadline := time.Now().Add(l.opts.FlowTimeout)
	for {
		b, err := ms.ModemStatus()
		if err != nil {
			l.broken.Store(true)
			return asDisconnected("modem status", err)
		}
		ready := b.DSR
		switch l.opts.ReadyLine {
		case ReadyCTS:
			ready = b.CTS
		case ReadyBoth:
			ready = b.DSR && b.CTS
		}
		if ready {
			return nil
		}
		if time.Now().After(deadline) {
			return &TimeoutError{Op: "flow", After: l.opts.FlowTimeout}
		}
		if err := sleep(ctx, dsrPoll); err != nil {
			return err
		}
	}
}

// queryStatus flushes stale input and asks DLE EOT 1, 2 and 4, and 3 when an
// error is flagged. Real-time queries bypass the handshake: the printer
// answers them even when busy or offline.
func (l *link) queryStatus(ctx context.Context) (escpos.Status, error) {
	if f, ok := l.port.(InputFlusher); ok {
		if err := f.FlushInput(); err != nil {
			return escpos.Status{}, asDisconnected("flush", err)
		}
	}
	ask := func(classes ...byte) error {
		var q []byte
		l.mu.Lock()
		for _, n := range classes {
			l.parser.ExpectRealtime(n)
			q = append(q, escpos.StatusQuery(n)...)
		}
		l.mu.Unlock()
		if err := l.writeRaw(ctx, q); err != nil {
			return err
		}
		return l.waitFor(ctx, "status", l.opts.StatusTimeout, func(p *escpos.StatusParser) bool { return p.PendingRealtime() == 0 })
	}
	l.mu.Lock()
	l.parser.Reset()
	l.mu.Unlock()
	if err := ask(escpos.RealtimePrinter, escpos.RealtimeOffline, escpos.RealtimePaper); err != nil {
		return l.Status(), err
	}
	if st := l.Status(); st.ErrorOccurred || st.Offline {
		// Learn the cause; a fresh answer also clears stale error flags.
		if err := ask(escpos.RealtimeError); err != nil {
			return l.Status(), err
		}
	}
	return l.Status(), nil
}

// Status returns the last status the printer reported on this link.
func (l *link) Status() escpos.Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.parser.Status()
}

// confirm sends GS r 1 behind the job and waits for the reply, which the
// printer sends after processing every earlier byte.
func (l *link) confirm(ctx context.Context, sent int) error {
	l.mu.Lock()
	l.parser.ExpectPaperSensor()
	l.mu.Unlock()
	if err := l.write(ctx, escpos.PaperSensorQuery()); err != nil {
		return err
	}
	// The printer may still hold a full buffer; allow for its print time.
	d := l.opts.ConfirmTimeout + time.Duration(min(sent, 4096))*l.opts.byteTime()
	if err := l.waitFor(ctx, "confirm", d, func(p *escpos.StatusParser) bool { return p.PendingPaperSensor() == 0 }); err != nil {
		// Forget the query, so the next job does not wait for its answer too.
		l.mu.Lock()
		l.parser.Reset()
		l.mu.Unlock()
		return err
	}
	if st := l.Status(); st.PaperOut {
		return &StatusError{Status: st}
	}
	return nil
}

// resync gets a printer out of an interrupted command: NULs complete any
// pending byte count (raster, QR data) harmlessly, then ESC @ resets it.
func (l *link) resync(ctx context.Context) error {
	pad := make([]byte, max(l.opts.ResyncPad, 0)+2)
	pad[len(pad)-2], pad[len(pad)-1] = 0x1B, 0x40
	return l.write(ctx, pad)
}
