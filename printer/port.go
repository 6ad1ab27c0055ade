package printer

import (
	"context"
	"errors"
	"io"
	"os"
	"time"
)

// Port is a connection to a printer: bytes go out with Write, replies
// (status, XON/XOFF) come back with Read. Only the owner closes it.
type Port interface {
	io.Reader
	io.Writer
}

// Drainer is a port that can wait until written bytes have left the host.
type Drainer interface {
	Drain() error
}

// InputFlusher is a port that can drop received but unread bytes.
type InputFlusher interface {
	FlushInput() error
}

// ModemBits are the modem input lines of a serial port.
type ModemBits struct {
	CTS, DSR, DCD, RI bool
}

// ModemStatus is a port that can read its modem input lines.
type ModemStatus interface {
	ModemStatus() (ModemBits, error)
}

// ReadTimeouter is a port whose Read gives up after d with an error matching
// os.ErrDeadlineExceeded. A d of zero or less means block until data arrives.
type ReadTimeouter interface {
	SetReadTimeout(d time.Duration) error
}

// Opener opens (or reopens) the port; the worker calls it again after a
// disconnection.
type Opener func(ctx context.Context) (Port, error)

// isTimeout reports whether a read error is a read timeout.
func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }
