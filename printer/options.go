package printer

import (
	"context"
	"fmt"
	"time"

	"github.com/posagent/posagent/internal/backoff"
)

// Handshake is how the printer says it can take more data.
type Handshake string

// Handshake modes.
const (
	HandshakeNone    Handshake = "none"    // pace by the baud rate only
	HandshakeDTRDSR  Handshake = "dtrdsr"  // poll the printer's DTR on our DSR (or CTS)
	HandshakeXONXOFF Handshake = "xonxoff" // XOFF 0x13 pauses, XON 0x11 resumes
)

// ParseHandshake parses a configuration value ("" means none).
func ParseHandshake(s string) (Handshake, error) {
	switch h := Handshake(s); h {
	case "":
		return HandshakeNone, nil
	case HandshakeNone, HandshakeDTRDSR, HandshakeXONXOFF:
		return h, nil
	}
	return "", &OptionError{Field: "Handshake", Value: s}
}

// Defaults for Options.
const (
	MaxChunk              = 128 // largest write: below the usual busy margin of a 4 KB buffer
	DefaultStatusTimeout  = 500 * time.Millisecond
	DefaultConfirmTimeout = 15 * time.Second
	DefaultFlowTimeout    = 20 * time.Second
	DefaultWriteTimeout   = 10 * time.Second
	DefaultResyncPad      = 8192
	DefaultQueueSize      = 64
	// DefaultFrameBits is 8N1: start bit, 8 data bits, stop bit.
	DefaultFrameBits = 10
	// ReadyDSR, ReadyCTS and ReadyBoth choose the modem line(s) that carry
	// the printer's busy signal in HandshakeDTRDSR mode; cables differ.
	ReadyDSR  = "dsr"
	ReadyCTS  = "cts"
	ReadyBoth = "both"
)

// Options configure a Worker (and QueryStatus). Zero fields take defaults.
type Options struct {
	Handshake Handshake // "" means HandshakeNone
	ReadyLine string    // HandshakeDTRDSR: "dsr" (default), "cts" or "both"

	// Baud paces writes to at most Baud/FrameBits bytes per second; 0 turns
	// baud pacing off (TCP, files). For a serial port pass SerialConfig.Baud
	// and SerialConfig.FrameBits().
	Baud      int
	FrameBits int // bits per byte on the wire; 0 means 10 (8N1)
	ChunkSize int // bytes per write, 1..MaxChunk; 0 means MaxChunk

	// NoStatus skips the status query before a job, for printers and ports
	// that never answer DLE EOT (a file, a one-way cable).
	NoStatus bool
	// Confirm sends GS r 1 after each job and waits for the reply, which the
	// printer sends only after processing the whole job.
	Confirm bool

	StatusTimeout  time.Duration // reply to DLE EOT; default 500 ms
	ConfirmTimeout time.Duration // reply to GS r 1 after the last byte; default 15 s
	FlowTimeout    time.Duration // longest XOFF / DSR-low pause; default 20 s
	WriteTimeout   time.Duration // longest single write; default 10 s

	// ResyncPad is the number of NULs sent before ESC @ when the printer may
	// be inside an interrupted command; default 8192, -1 sends none.
	ResyncPad int

	// MaxAttempts abandons a job after that many failed attempts; 0 retries
	// retryable failures until the job is cancelled.
	MaxAttempts int
	Backoff     Backoff // retry delays; zero value uses the defaults
	QueueSize   int     // jobs waiting; default 64

	// PollInterval, if positive, makes an idle worker ask the printer for
	// its status that often, so State stays fresh for a status page and an
	// unplugged printer is noticed (and reopened) before the next sale.
	PollInterval time.Duration

	// OnResult is called from the worker goroutine after every attempt. It
	// must not block for long and must not call Submit synchronously.
	OnResult func(JobResult)

	// Journal, if set, makes the worker's progress durable: which job is
	// about to start and which left the port (see Journal).
	Journal Journal
}

// Journal keeps a durable record of the print worker's progress, so that
// after a crash its owner knows which jobs may have reached the paper. The
// worker calls Record on its own goroutine, with a job's ID in started
// before that job's first attempt (nothing of it is sent until Record
// returns), and in printed as soon as the job left the port. When another
// job is queued as one leaves the port, both go in one call: one durable
// write per receipt, and never more than one receipt out of the port
// without its mark.
//
// A failed Record fails the attempt of the job it would have started, with a
// *JournalError, retried like a printer fault. A printed mark that fails is
// logged; the job's JobResult still reports it printed, so the owner can
// record it another way.
type Journal interface {
	Record(ctx context.Context, printed []string, started string) error
}

// JournalFunc adapts a function to Journal.
type JournalFunc func(ctx context.Context, printed []string, started string) error

// Record calls f.
func (f JournalFunc) Record(ctx context.Context, printed []string, started string) error {
	return f(ctx, printed, started)
}

func (o *Options) withDefaults() (Options, error) {
	var r Options
	if o != nil {
		r = *o
	}
	h, err := ParseHandshake(string(r.Handshake))
	if err != nil {
		return r, err
	}
	r.Handshake = h
	switch r.ReadyLine {
	case "":
		r.ReadyLine = ReadyDSR
	case ReadyDSR, ReadyCTS, ReadyBoth:
	default:
		return r, &OptionError{Field: "ReadyLine", Value: r.ReadyLine}
	}
	if r.Baud < 0 {
		return r, &OptionError{Field: "Baud", Value: r.Baud}
	}
	if r.FrameBits == 0 {
		r.FrameBits = DefaultFrameBits
	}
	if r.FrameBits < 7 || r.FrameBits > 12 {
		return r, &OptionError{Field: "FrameBits", Value: r.FrameBits}
	}
	if r.ChunkSize == 0 {
		r.ChunkSize = MaxChunk
	}
	if r.ChunkSize < 1 || r.ChunkSize > MaxChunk {
		return r, &OptionError{Field: "ChunkSize", Value: r.ChunkSize}
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"StatusTimeout", &r.StatusTimeout, DefaultStatusTimeout},
		{"ConfirmTimeout", &r.ConfirmTimeout, DefaultConfirmTimeout},
		{"FlowTimeout", &r.FlowTimeout, DefaultFlowTimeout},
		{"WriteTimeout", &r.WriteTimeout, DefaultWriteTimeout},
	} {
		if *d.v < 0 {
			return r, &OptionError{Field: d.name, Value: *d.v}
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	switch {
	case r.ResyncPad == 0:
		r.ResyncPad = DefaultResyncPad
	case r.ResyncPad < -1:
		return r, &OptionError{Field: "ResyncPad", Value: r.ResyncPad}
	}
	if r.MaxAttempts < 0 {
		return r, &OptionError{Field: "MaxAttempts", Value: r.MaxAttempts}
	}
	if r.QueueSize == 0 {
		r.QueueSize = DefaultQueueSize
	}
	if r.PollInterval < 0 {
		return r, &OptionError{Field: "PollInterval", Value: r.PollInterval}
	}
	if r.QueueSize < 0 {
		return r, &OptionError{Field: "QueueSize", Value: r.QueueSize}
	}
	return r, nil
}

// byteTime is how long one byte takes on the wire, or 0 without baud pacing.
func (o *Options) byteTime() time.Duration {
	if o.Baud == 0 {
		return 0
	}
	return time.Duration(o.FrameBits) * time.Second / time.Duration(o.Baud)
}

func (h Handshake) String() string { return string(h) }

var _ fmt.Stringer = HandshakeNone

// Backoff is the worker's retry policy, the shared internal/backoff type; the
// alias lets callers configure it without importing an internal package.
type Backoff = backoff.Backoff
