package printer_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/posagent/posagent/printer"
	"github.com/posagent/posagent/printer/printertest"
)

// serveVirtual accepts one TCP connection and bridges it to a virtual
// printer, like a network printer on port 9100.
func serveVirtual(t *testing.T, v *printer.Virtual) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		p, err := v.Open(context.Background())
		if err != nil {
			return
		}
		defer p.(io.Closer).Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			io.Copy(c, p) // replies; ends when p is closed
		}()
		io.Copy(p, c) // ends when the client hangs up
	}()
	return ln.Addr().String()
}

func TestTCPPort(t *testing.T) {
	var rec printertest.Recorder
	v := printer.NewVirtual(&rec)
	addr := serveVirtual(t, v)
	w, ch := startWorker(t, func(ctx context.Context) (printer.Port, error) { return printer.DialTCP(ctx, addr) },
		printer.Options{Confirm: true})
	job := jobBytes(3000)
	submit(t, w, "tcp", job)
	if r := collect(t, ch, "tcp"); r[0].Err != nil {
		t.Fatal(r[0].Err)
	}
	want := append(append(bytes.Clone(statusQuery), job...), 0x1D, 0x72, 0x31)
	if got := rec.Bytes(); !bytes.Equal(got, want) {
		t.Error(firstDiff(got, want))
	}
}

func TestTCPPortReadTimeoutAndHangup(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	p, err := printer.DialTCP(context.Background(), ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	srv := <-accepted
	p.SetReadTimeout(20 * time.Millisecond)
	if _, err := p.Read(make([]byte, 4)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Read on a quiet printer = %v, want os.ErrDeadlineExceeded", err)
	}
	srv.Close()
	if _, err := p.Read(make([]byte, 4)); !errors.Is(err, printer.ErrDisconnected) {
		t.Errorf("Read after hang-up = %v, want ErrDisconnected", err)
	}
}

func TestDialTCPRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := printer.DialTCP(ctx, addr); err == nil {
		t.Error("DialTCP to a closed port succeeded")
	}
}

func TestFilePort(t *testing.T) {
	path := filepath.Join(t.TempDir(), "printer.bin")
	w, ch := startWorker(t, func(ctx context.Context) (printer.Port, error) { return printer.OpenFile(ctx, path) },
		printer.Options{NoStatus: true})
	submit(t, w, "a", []byte("first "))
	if r := collect(t, ch, "a"); r[0].Err != nil {
		t.Fatal(r[0].Err)
	}
	submit(t, w, "b", []byte("second"))
	if r := collect(t, ch, "b"); r[0].Err != nil {
		t.Fatal(r[0].Err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "first second" {
		t.Errorf("file = %q, want %q", got, "first second")
	}
}

func TestFilePortStatusRefused(t *testing.T) {
	p, err := printer.OpenFile(context.Background(), filepath.Join(t.TempDir(), "p.bin"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := printer.QueryStatus(context.Background(), p, nil); !errors.Is(err, printer.ErrNoReplies) {
		t.Errorf("QueryStatus(file) = %v, want ErrNoReplies", err)
	}
}

func TestVirtualQueriesSplitAcrossWrites(t *testing.T) {
	v := printer.NewVirtual(nil)
	p, err := v.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p.(printer.ReadTimeouter).SetReadTimeout(50 * time.Millisecond)
	for _, b := range [][]byte{{'x', 0x10}, {0x04}, {0x04, 0x1D}, {0x72, 0x31}} {
		if _, err := p.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 8)
	n, err := p.Read(buf)
	if err != nil || !bytes.Equal(buf[:n], []byte{0x12, 0x00}) {
		t.Errorf("replies = % x, %v; want 12 00", buf[:n], err)
	}
	if _, err := p.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Read with nothing queued = %v, want deadline exceeded", err)
	}
	v.SetFaults(printer.Faults{Unplugged: true})
	if _, err := p.Write([]byte{1}); !errors.Is(err, printer.ErrDisconnected) {
		t.Errorf("Write after unplug = %v, want ErrDisconnected", err)
	}
	if _, err := v.Open(context.Background()); !errors.Is(err, printer.ErrDisconnected) {
		t.Errorf("Open while unplugged = %v, want ErrDisconnected", err)
	}
	if got := v.Written(); got != 7 {
		t.Errorf("Written() = %d, want 7", got)
	}
}

func TestVirtualASB(t *testing.T) {
	v := printer.NewVirtual(nil)
	p, _ := v.Open(context.Background())
	p.(printer.ReadTimeouter).SetReadTimeout(time.Second)
	p.Write([]byte{0x1D, 0x61, 0x0F})
	buf := make([]byte, 8)
	if n, _ := p.Read(buf); !bytes.Equal(buf[:n], []byte{0x10, 0, 0, 0}) {
		t.Errorf("ASB on enable = % x, want 10 00 00 00", buf[:n])
	}
	v.SetFaults(printer.Faults{CoverOpen: true})
	if n, _ := p.Read(buf); !bytes.Equal(buf[:n], []byte{0x38, 0, 0, 0}) {
		t.Errorf("ASB on cover open = % x, want 38 00 00 00", buf[:n])
	}
}
