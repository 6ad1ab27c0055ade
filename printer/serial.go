package printer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"go.bug.st/serial"
)

// Parity of a serial line.
type Parity string

// Parities understood by SerialConfig.
const (
	ParityNone  Parity = "none"
	ParityOdd   Parity = "odd"
	ParityEven  Parity = "even"
	ParityMark  Parity = "mark"
	ParitySpace Parity = "space"
)

// StopBits of a serial line.
type StopBits string

// Stop bit settings understood by SerialConfig.
const (
	Stop1     StopBits = "1"
	Stop1Half StopBits = "1.5"
	Stop2     StopBits = "2"
)

// Serial defaults: the most common receipt printer setting.
const (
	DefaultBaud     = 9600
	DefaultDataBits = 8
)

// SerialConfig is the line setting of a serial printer. Zero fields take the
// defaults: 9600 baud, 8 data bits, no parity, 1 stop bit (8N1).
type SerialConfig struct {
	Baud     int
	DataBits int      // 5..8
	Parity   Parity   // "" means none
	StopBits StopBits // "" means 1
}

func (c SerialConfig) withDefaults() SerialConfig {
	if c.Baud == 0 {
		c.Baud = DefaultBaud
	}
	if c.DataBits == 0 {
		c.DataBits = DefaultDataBits
	}
	if c.Parity == "" {
		c.Parity = ParityNone
	}
	if c.StopBits == "" {
		c.StopBits = Stop1
	}
	return c
}

// FrameBits returns the bits on the wire per byte: start, data, parity, stop
// (1.5 stop bits rounds up). 8N1 is 10.
func (c SerialConfig) FrameBits() int {
	c = c.withDefaults()
	n := 1 + c.DataBits
	if c.Parity != ParityNone {
		n++
	}
	if c.StopBits == Stop1 {
		n++
	} else {
		n += 2
	}
	return n
}

func (c SerialConfig) mode() (*serial.Mode, error) {
	c = c.withDefaults()
	m := &serial.Mode{BaudRate: c.Baud, DataBits: c.DataBits}
	if c.Baud < 50 || c.Baud > 4_000_000 {
		return nil, &OptionError{Field: "Baud", Value: c.Baud}
	}
	if c.DataBits < 5 || c.DataBits > 8 {
		return nil, &OptionError{Field: "DataBits", Value: c.DataBits}
	}
	switch c.Parity {
	case ParityNone:
		m.Parity = serial.NoParity
	case ParityOdd:
		m.Parity = serial.OddParity
	case ParityEven:
		m.Parity = serial.EvenParity
	case ParityMark:
		m.Parity = serial.MarkParity
	case ParitySpace:
		m.Parity = serial.SpaceParity
	default:
		return nil, &OptionError{Field: "Parity", Value: c.Parity}
	}
	switch c.StopBits {
	case Stop1:
		m.StopBits = serial.OneStopBit
	case Stop1Half:
		m.StopBits = serial.OnePointFiveStopBits
	case Stop2:
		m.StopBits = serial.TwoStopBits
	default:
		return nil, &OptionError{Field: "StopBits", Value: c.StopBits}
	}
	return m, nil
}

// serialPollInterval bounds each blocking read so that a read loop can notice
// it should stop even if nobody closes the port.
const serialPollInterval = 100 * time.Millisecond

// SerialPort adapts a go.bug.st/serial port to Port and its capability
// interfaces. It is the only place the wide serial.Port is used.
type SerialPort struct {
	p    serial.Port
	path string
	cfg  SerialConfig
}

var (
	_ Port          = (*SerialPort)(nil)
	_ Drainer       = (*SerialPort)(nil)
	_ InputFlusher  = (*SerialPort)(nil)
	_ ModemStatus   = (*SerialPort)(nil)
	_ ReadTimeouter = (*SerialPort)(nil)
)

// OpenSerial opens the serial device at path with cfg. Flow control is off in
// the kernel (go.bug.st/serial clears it); pace writes with a Worker.
func OpenSerial(ctx context.Context, path string, cfg SerialConfig) (*SerialPort, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	mode, err := cfg.mode()
	if err != nil {
		return nil, err
	}
	p, err := serial.Open(path, mode)
	if err != nil {
		return nil, fmt.Errorf("printer: open serial %s: %w", path, err)
	}
	if err := p.SetReadTimeout(serialPollInterval); err != nil {
		p.Close()
		return nil, fmt.Errorf("printer: open serial %s: set read timeout: %w", path, err)
	}
	return &SerialPort{p: p, path: path, cfg: cfg.withDefaults()}, nil
}

// Config returns the line settings in use.
func (s *SerialPort) Config() SerialConfig { return s.cfg }

func (s *SerialPort) String() string { return s.path }

// Read reads replies. A read that times out returns os.ErrDeadlineExceeded
// (go.bug.st/serial itself returns 0, nil); a closed or unplugged port returns
// a *DisconnectedError.
func (s *SerialPort) Read(b []byte) (int, error) {
	n, err := s.p.Read(b)
	if err != nil {
		return n, s.wrap("read", err)
	}
	if n == 0 {
		return 0, os.ErrDeadlineExceeded
	}
	return n, nil
}

// Write writes b; it may block when the kernel buffer is full.
func (s *SerialPort) Write(b []byte) (int, error) {
	n, err := s.p.Write(b)
	if err != nil {
		return n, s.wrap("write", err)
	}
	return n, nil
}

// Drain waits until the kernel has sent every written byte (tcdrain).
func (s *SerialPort) Drain() error {
	for {
		// tcdrain sleeps in the kernel; Go's preemption signals interrupt it.
		err := s.p.Drain()
		if !errors.Is(err, syscall.EINTR) {
			return s.wrap("drain", err)
		}
	}
}

// FlushInput drops unread received bytes.
func (s *SerialPort) FlushInput() error { return s.wrap("flush", s.p.ResetInputBuffer()) }

// ModemStatus reads CTS, DSR, DCD and RI.
func (s *SerialPort) ModemStatus() (ModemBits, error) {
	b, err := s.p.GetModemStatusBits()
	if err != nil {
		return ModemBits{}, s.wrap("modem status", err)
	}
	return ModemBits{CTS: b.CTS, DSR: b.DSR, DCD: b.DCD, RI: b.RI}, nil
}

// SetReadTimeout bounds each Read; d <= 0 restores the default poll interval,
// which the adapter reports as a timeout too.
func (s *SerialPort) SetReadTimeout(d time.Duration) error {
	if d <= 0 {
		d = serialPollInterval
	}
	return s.wrap("set read timeout", s.p.SetReadTimeout(d))
}

// Close closes the port and wakes a blocked Read.
func (s *SerialPort) Close() error { return s.p.Close() }

// wrap turns errors of a port that went away into *DisconnectedError.
func (s *SerialPort) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var pe *serial.PortError
	if errors.As(err, &pe) && pe.Code() == serial.PortClosed {
		return &DisconnectedError{Op: op, Err: err}
	}
	if errors.Is(err, os.ErrClosed) || isGoneErrno(err) {
		return &DisconnectedError{Op: op, Err: err}
	}
	return fmt.Errorf("printer: serial %s %s: %w", s.path, op, err)
}
