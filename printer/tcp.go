package printer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// DefaultTCPPort is the raw printing port of network printers (JetDirect).
const DefaultTCPPort = "9100"

// TCPPort is a printer reached over raw TCP, usually port 9100.
type TCPPort struct {
	c    net.Conn
	addr string

	mu          sync.Mutex // guards readTimeout
	readTimeout time.Duration
}

var (
	_ Port          = (*TCPPort)(nil)
	_ ReadTimeouter = (*TCPPort)(nil)
)

// DialTCP connects to addr ("host" or "host:port"; the port defaults to 9100).
func DialTCP(ctx context.Context, addr string) (*TCPPort, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(addr, DefaultTCPPort)
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("printer: dial %s: %w", addr, err)
	}
	if tc, ok := c.(*net.TCPConn); ok {
		// Notice a printer that was switched off while idle.
		_ = tc.SetKeepAlivePeriod(15 * time.Second)
	}
	return &TCPPort{c: c, addr: addr}, nil
}

func (t *TCPPort) String() string { return "tcp://" + t.addr }

// Read reads replies; a read timeout returns an error matching
// os.ErrDeadlineExceeded, a closed connection a *DisconnectedError.
func (t *TCPPort) Read(b []byte) (int, error) {
	t.mu.Lock()
	d := t.readTimeout
	t.mu.Unlock()
	if d > 0 {
		_ = t.c.SetReadDeadline(time.Now().Add(d))
	} else {
		_ = t.c.SetReadDeadline(time.Time{})
	}
	n, err := t.c.Read(b)
	if err != nil && !isTimeout(err) {
		return n, &DisconnectedError{Op: "read", Err: err}
	}
	return n, err
}

// Write writes b.
func (t *TCPPort) Write(b []byte) (int, error) {
	n, err := t.c.Write(b)
	if err != nil {
		return n, &DisconnectedError{Op: "write", Err: err}
	}
	return n, nil
}

// SetReadTimeout bounds each following Read; d <= 0 blocks.
func (t *TCPPort) SetReadTimeout(d time.Duration) error {
	t.mu.Lock()
	t.readTimeout = d
	t.mu.Unlock()
	return nil
}

// Close closes the connection and wakes a blocked Read.
func (t *TCPPort) Close() error { return t.c.Close() }

// isGoneErrno reports errors of a device that disappeared (USB unplug).
func isGoneErrno(err error) bool {
	return errors.Is(err, syscall.EIO) || errors.Is(err, syscall.ENXIO) ||
		errors.Is(err, syscall.ENODEV) || errors.Is(err, syscall.EBADF) ||
		errors.Is(err, io.ErrClosedPipe)
}

// FilePort writes to a device node (/dev/usb/lp0) or appends to a plain file.
// It never returns replies: Read reports io.EOF, so use it with
// Options.NoStatus. It has no Drain: a device node blocks in Write until the
// driver takes the bytes, and syncing a plain file per chunk would cost a
// flash write per 128 bytes on a terminal; Close syncs instead.
type FilePort struct {
	f *os.File
}

var _ Port = (*FilePort)(nil)

// OpenFile opens path for writing, creating a plain file if needed (device
// nodes exist already).
func OpenFile(ctx context.Context, path string) (*FilePort, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("printer: open file: %w", err)
	}
	return &FilePort{f: f}, nil
}

func (p *FilePort) String() string { return p.f.Name() }

// Read returns io.EOF: a file gives no replies.
func (p *FilePort) Read([]byte) (int, error) { return 0, io.EOF }

// Write writes b.
func (p *FilePort) Write(b []byte) (int, error) {
	n, err := p.f.Write(b)
	if err != nil && isGoneErrno(err) {
		return n, &DisconnectedError{Op: "write", Err: err}
	}
	return n, err
}

// Close syncs a plain file and closes it.
func (p *FilePort) Close() error {
	err := p.f.Sync()
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP) {
		err = nil // device nodes such as /dev/usb/lp0 do not sync
	}
	return errors.Join(err, p.f.Close())
}
