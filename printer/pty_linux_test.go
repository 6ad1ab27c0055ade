//go:build linux

package printer_test

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

// ptyPrinter is a fake serial printer on the master side of a pty: a 4 KB
// receive buffer, drained ("printed") at a fixed rate, that drops bytes
// arriving when it is full, as real printers do. It signals busy with
// XOFF/XON or with its busy flag, which stands in for DTR.
//
// A pty has no modem lines (TIOCMGET fails), so in DTR/DSR mode the test
// wraps the real serial port in busyLine, whose DSR is this printer's busy
// flag.
type ptyPrinter struct {
	master *os.File
	fd     int  // master's descriptor, for TIOCINQ
	rate   int  // bytes printed per second
	xon    bool // signal XOFF/XON on the line

	mu      sync.Mutex // guards the fields below
	buf     []byte     // received, not yet printed
	printed []byte
	dropped int
	busy    bool
	done    chan struct{}
}

const (
	ptyBufSize = 4096
	// Busy below 2 KB free, ready again at 3 KB free. A UART reacts within
	// a byte time; this goroutine may be descheduled for 100 ms or more on a
	// loaded 2-core CI machine while the kernel buffers the line, so the
	// margin covers that lag (≈ 170 ms at 115200 baud) rather than the
	// 128 B of a real Epson. The test is about the pacer honouring the
	// signal, not about the exact threshold.
	ptyBusyFree  = 2048
	ptyReadyFree = 3072
)

func newPTYPrinter(t *testing.T, rate int, xon bool) (*ptyPrinter, string) {
	t.Helper()
	master, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pty available: %v", err)
	}
	name := tty.Name()
	p := &ptyPrinter{master: master, fd: int(master.Fd()), rate: rate, xon: xon, done: make(chan struct{})}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.receive() }()
	go func() { defer wg.Done(); p.print() }()
	// The master fd is not in the poller, so Close does not wake a blocked
	// Read; closing the last slave fd (the worker closed its own first)
	// makes it return EIO.
	t.Cleanup(func() {
		close(p.done)
		tty.Close()
		wg.Wait()
		master.Close()
	})
	return p, name
}

// receive reads the line as fast as bytes arrive: a printer cannot stop
// the wire, it can only ask the host to stop.
func (p *ptyPrinter) receive() {
	b := make([]byte, 512)
	for {
		n, err := p.master.Read(b)
		p.mu.Lock()
		for _, c := range b[:n] {
			if len(p.buf) < ptyBufSize {
				p.buf = append(p.buf, c)
			} else {
				p.dropped++
			}
		}
		signal := !p.busy && ptyBufSize-len(p.buf) < ptyBusyFree
		if signal {
			p.busy = true
		}
		p.mu.Unlock()
		if signal && p.xon {
			p.master.Write([]byte{0x13})
		}
		if err != nil {
			return
		}
	}
}

// print drains the buffer at rate bytes per second and answers GS r 1 once
// it has printed it, as the reply comes after all earlier data.
func (p *ptyPrinter) print() {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	start, total := time.Now(), 0
	for {
		select {
		case <-p.done:
			return
		case <-tick.C:
		}
		due := int(time.Since(start).Seconds()*float64(p.rate)) - total
		p.mu.Lock()
		if len(p.buf) == 0 {
			// An idle printer does not bank print time.
			start, total, due = time.Now(), 0, 0
		}
		n := min(due, len(p.buf))
		from := max(len(p.printed)-2, 0)
		p.printed = append(p.printed, p.buf[:n]...)
		p.buf = p.buf[n:]
		total += n
		confirm := bytes.Count(p.printed[from:], []byte{0x1D, 0x72, 0x31})
		resume := p.busy && ptyBufSize-len(p.buf) >= ptyReadyFree
		if resume {
			p.busy = false
		}
		p.mu.Unlock()
		if resume && p.xon {
			p.master.Write([]byte{0x11})
		}
		for range confirm {
			p.master.Write([]byte{0x00})
		}
	}
}

func (p *ptyPrinter) result() (printed []byte, pending, dropped int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return bytes.Clone(p.printed), len(p.buf), p.dropped
}

// isBusy is the DTR line. Bytes the kernel holds for a receive that has not
// run yet count as received, as they would in a real printer's buffer.
func (p *ptyPrinter) isBusy() bool {
	inq, err := unix.IoctlGetInt(p.fd, unix.TIOCINQ)
	if err != nil {
		inq = 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.busy || ptyBufSize-len(p.buf)-inq < ptyBusyFree
}

// busyLine is the real serial port with DSR taken from the fake printer.
type busyLine struct {
	*printer.SerialPort
	p *ptyPrinter
}

func (b busyLine) ModemStatus() (printer.ModemBits, error) {
	ready := !b.p.isBusy()
	return printer.ModemBits{DSR: ready, CTS: ready}, nil
}

func TestPacedWriterPTY(t *testing.T) {
	tests := []struct {
		name      string
		handshake printer.Handshake
		baud      int // the wire, and the writer's pacing floor
		rate      int // printer drain, bytes/s
		size      int
		confirm   bool
		wantDrops bool
		long      bool
	}{
		// A 9600-baud class printer (960 B/s) fed at 38400 baud: the
		// handshake must hold the writer for most of the job.
		{name: "xonxoff realistic", handshake: printer.HandshakeXONXOFF, baud: 38400, rate: 960, size: 20 << 10, confirm: true, long: true},
		{name: "xonxoff", handshake: printer.HandshakeXONXOFF, baud: 115200, rate: 4800, size: 24 << 10, confirm: true},
		{name: "dtrdsr", handshake: printer.HandshakeDTRDSR, baud: 115200, rate: 4800, size: 24 << 10, confirm: true},
		// Without a handshake the baud rate is the only brake, so it must
		// not exceed what the printer prints.
		{name: "none", handshake: printer.HandshakeNone, baud: 19200, rate: 2000, size: 12 << 10, confirm: true},
		// Control: the same writer unpaced by a handshake overruns the fake
		// printer, proving that the fake really drops bytes.
		{name: "none too fast drops", handshake: printer.HandshakeNone, baud: 115200, rate: 4800, size: 12 << 10, wantDrops: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.long && testing.Short() {
				t.Skip("20 s at printer speed; skipped with -short")
			}
			t.Parallel()
			fp, tty := newPTYPrinter(t, tt.rate, tt.handshake == printer.HandshakeXONXOFF)
			cfg := printer.SerialConfig{Baud: tt.baud}
			open := func(ctx context.Context) (printer.Port, error) {
				sp, err := printer.OpenSerial(ctx, tty, cfg)
				if err != nil {
					return nil, err
				}
				if tt.handshake == printer.HandshakeDTRDSR {
					return busyLine{SerialPort: sp, p: fp}, nil
				}
				return sp, nil
			}
			w, ch := startWorker(t, open, printer.Options{
				Handshake: tt.handshake, Baud: tt.baud, FrameBits: cfg.FrameBits(),
				NoStatus: true, Confirm: tt.confirm, MaxAttempts: 1,
			})
			job := jobBytes(tt.size)
			start := time.Now()
			submit(t, w, "j", job)
			res := collect(t, ch, "j")
			if err := res[0].Err; err != nil {
				t.Fatalf("print: %v", err)
			}
			printed, pending, dropped := fp.result()
			t.Logf("%d B in %v: dropped %d, pending %d", tt.size, time.Since(start).Round(time.Millisecond), dropped, pending)
			if tt.wantDrops {
				if dropped == 0 {
					t.Error("no bytes dropped; the fake printer does not model overflow")
				}
				return
			}
			want := append(bytes.Clone(job), 0x1D, 0x72, 0x31)
			if dropped != 0 || !bytes.Equal(printed, want) {
				t.Errorf("dropped %d; %s", dropped, firstDiff(printed, want))
			}
		})
	}
}

func TestOpenSerialErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  printer.SerialConfig
		want error
	}{
		{"bad parity", printer.SerialConfig{Parity: "weird"}, printer.ErrInvalidOptions},
		{"bad data bits", printer.SerialConfig{DataBits: 9}, printer.ErrInvalidOptions},
		{"bad stop bits", printer.SerialConfig{StopBits: "3"}, printer.ErrInvalidOptions},
		{"bad baud", printer.SerialConfig{Baud: -5}, printer.ErrInvalidOptions},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := printer.OpenSerial(context.Background(), "/dev/null", tt.cfg)
			if !errors.Is(err, tt.want) {
				t.Errorf("OpenSerial(%+v) = %v, want %v", tt.cfg, err, tt.want)
			}
		})
	}
	if _, err := printer.OpenSerial(context.Background(), "/nonexistent/tty", printer.SerialConfig{}); err == nil {
		t.Error("OpenSerial(missing device) = nil error")
	}
}

func TestSerialPTYStatusAndUnplug(t *testing.T) {
	master, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pty available: %v", err)
	}
	defer master.Close()
	sp, err := printer.OpenSerial(context.Background(), tty.Name(), printer.SerialConfig{Baud: 19200, Parity: printer.ParityEven})
	tty.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	if got := sp.Config().FrameBits(); got != 11 {
		t.Errorf("FrameBits(8E1) = %d, want 11", got)
	}
	// A printer that answers DLE EOT 1, 2, 4 with paper near end.
	go func() {
		b := make([]byte, 9)
		n := 0
		for n < 9 {
			m, err := master.Read(b[n:])
			if err != nil {
				return
			}
			n += m
		}
		master.Write([]byte{0x12, 0x12, 0x1E})
	}()
	st, err := printer.QueryStatus(context.Background(), sp, nil)
	if err != nil {
		t.Fatalf("QueryStatus: %v", err)
	}
	if !st.PaperNearEnd || !st.Ready() {
		t.Errorf("QueryStatus = %v, want ready with paper near end", st)
	}
	// Hanging up the master is what an unplugged USB adapter looks like.
	master.Close()
	buf := make([]byte, 8)
	deadline := time.Now().Add(2 * time.Second)
	for {
		_, err := sp.Read(buf)
		if errors.Is(err, printer.ErrDisconnected) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Read after hang-up = %v, want ErrDisconnected", err)
		}
	}
}

// TestSerialPTYTail streams a job through the real serial adapter: the
// printer receives the head while the tail is still computed, and the whole
// job arrives in order, paced, with nothing dropped.
func TestSerialPTYTail(t *testing.T) {
	fp, tty := newPTYPrinter(t, 4800, true)
	cfg := printer.SerialConfig{Baud: 115200}
	open := func(ctx context.Context) (printer.Port, error) { return printer.OpenSerial(ctx, tty, cfg) }
	w, ch := startWorker(t, open, printer.Options{
		Handshake: printer.HandshakeXONXOFF, Baud: cfg.Baud, FrameBits: cfg.FrameBits(),
		NoStatus: true, Confirm: true, MaxAttempts: 1,
	})
	head, tail := jobBytes(3<<10), bytes.Repeat([]byte{'T'}, 3<<10)
	job := printer.Job{ID: "j", Data: head, Tail: func() ([]byte, error) {
		deadline := time.Now().Add(10 * time.Second)
		for {
			printed, pending, _ := fp.result()
			if len(printed)+pending > 0 {
				return tail, nil
			}
			if time.Now().After(deadline) {
				return nil, errors.New("test: no head byte reached the printer before the tail was needed")
			}
			time.Sleep(time.Millisecond)
		}
	}}
	if err := w.Submit(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	if res := collect(t, ch, "j"); res[0].Err != nil {
		t.Fatalf("print: %v", res[0].Err)
	}
	printed, _, dropped := fp.result()
	want := append(append(bytes.Clone(head), tail...), 0x1D, 0x72, 0x31)
	if dropped != 0 || !bytes.Equal(printed, want) {
		t.Errorf("dropped %d; %s", dropped, firstDiff(printed, want))
	}
}
