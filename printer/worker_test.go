package printer_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posagent/posagent/escpos"
	"github.com/posagent/posagent/printer"
	"github.com/posagent/posagent/printer/printertest"
)

func TestWorkerPlayback(t *testing.T) {
	job := jobBytes(300)
	pb := printertest.NewPlayback(
		printertest.IO{W: statusQuery, R: []byte{0x12, 0x12, 0x12}},
		printertest.IO{W: job},
		printertest.IO{W: []byte{0x1D, 0x72, 0x31}, R: []byte{0x00}},
	)
	w, ch := startWorker(t, func(context.Context) (printer.Port, error) { return pb, nil },
		printer.Options{Confirm: true})
	submit(t, w, "inv-1", job)
	got := collect(t, ch, "inv-1")
	if len(got) != 1 || got[0].Err != nil || got[0].Attempts != 1 {
		t.Fatalf("results = %+v, want one success", got)
	}
	if err := pb.Err(); err != nil {
		t.Fatal(err)
	}
	if !pb.Done() {
		t.Error("script not played to its end")
	}
	st := w.State()
	if !st.Known || !st.Status.Ready() || st.LastErr != nil {
		t.Errorf("State() = %+v, want known ready status", st)
	}
}

func TestWorkerRefusesFaults(t *testing.T) {
	tests := []struct {
		name      string
		faults    printer.Faults
		want      error
		retryable bool
	}{
		{"paper out", printer.Faults{PaperOut: true}, printer.ErrPaperOut, true},
		{"cover open", printer.Faults{CoverOpen: true}, printer.ErrCoverOpen, true},
		{"offline", printer.Faults{Offline: true}, printer.ErrOffline, true},
		{"cutter", printer.Faults{CutterError: true}, printer.ErrPrinterFault, true},
		{"garbage and paper out", printer.Faults{PaperOut: true, Garbage: true}, printer.ErrPaperOut, true},
		{"silent", printer.Faults{Silent: true}, printer.ErrTimeout, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec printertest.Recorder
			v := printer.NewVirtual(&rec)
			v.SetFaults(tt.faults)
			w, ch := startWorker(t, v.Open, printer.Options{MaxAttempts: 2, StatusTimeout: 50 * time.Millisecond})
			submit(t, w, "j", jobBytes(64))
			got := collect(t, ch, "j")
			if len(got) != 2 {
				t.Fatalf("got %d results, want 2 (MaxAttempts)", len(got))
			}
			err := got[1].Err
			if !errors.Is(err, tt.want) {
				t.Errorf("final error = %v, want %v", err, tt.want)
			}
			if got := printer.Retryable(err); got != tt.retryable {
				t.Errorf("Retryable(%v) = %v, want %v", err, got, tt.retryable)
			}
			if bytes.Contains(rec.Bytes(), jobBytes(64)) {
				t.Error("job bytes were sent to a printer that is not ready")
			}
		})
	}
}

func TestWorkerStatusErrorFields(t *testing.T) {
	v := printer.NewVirtual(nil)
	v.SetFaults(printer.Faults{CoverOpen: true, PaperNearEnd: true})
	w, ch := startWorker(t, v.Open, printer.Options{MaxAttempts: 1})
	submit(t, w, "j", jobBytes(10))
	var se *printer.StatusError
	if err := collect(t, ch, "j")[0].Err; !errors.As(err, &se) {
		t.Fatalf("error = %v, want *StatusError", err)
	}
	if !se.CoverOpen || !se.PaperNearEnd || se.PaperOut || !se.Offline {
		t.Errorf("StatusError = %+v, want cover open, near end, offline", se.Status)
	}
}

func TestWorkerRetriesUntilFixed(t *testing.T) {
	var rec printertest.Recorder
	v := printer.NewVirtual(&rec)
	v.SetFaults(printer.Faults{PaperOut: true})
	clock := &instantClock{}
	ch := make(chan printer.JobResult, 16)
	opts := printer.Options{Backoff: printer.Backoff{Min: time.Second, Max: 4 * time.Second, Clock: clock}}
	opts.OnResult = func(r printer.JobResult) {
		if r.Attempts == 3 {
			v.SetFaults(printer.Faults{}) // the cashier loads paper
		}
		ch <- r
	}
	w, err := printer.NewWorker(v.Open, &opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go w.Run(ctx)
	job := jobBytes(500)
	submit(t, w, "j", job)
	got := collect(t, ch, "j")
	if len(got) != 4 || got[3].Err != nil || got[3].Attempts != 4 {
		t.Fatalf("results = %+v, want 3 failures then success", got)
	}
	if n := bytes.Count(rec.Bytes(), job); n != 1 {
		t.Errorf("job printed %d times, want 1", n)
	}
	clock.mu.Lock()
	defer clock.mu.Unlock()
	if len(clock.delays) != 3 {
		t.Fatalf("backoff waited %d times, want 3", len(clock.delays))
	}
	for i, d := range clock.delays {
		lo := time.Duration(1<<i) * time.Second / 2
		if d < lo || d > 4*time.Second {
			t.Errorf("delay %d = %v, want in [%v, 4s]", i, d, lo)
		}
	}
}

// unplugAfter unplugs the virtual printer once n bytes went through.
type unplugAfter struct {
	printer.Port
	v    *printer.Virtual
	left int
}

func (u *unplugAfter) Write(b []byte) (int, error) {
	if u.left >= 0 && len(b) > u.left {
		u.left = -1
		u.v.SetFaults(printer.Faults{Unplugged: true})
	} else if u.left >= 0 {
		u.left -= len(b)
	}
	return u.Port.Write(b)
}

// unplugFirstOpen opens v, counting opens; the first connection unplugs the
// printer once left bytes went through.
func unplugFirstOpen(v *printer.Virtual, left int, opens *atomic.Int32) printer.Opener {
	return func(ctx context.Context) (printer.Port, error) {
		p, err := v.Open(ctx)
		if err != nil {
			return nil, err
		}
		if opens.Add(1) == 1 {
			return &unplugAfter{Port: p, v: v, left: left}, nil
		}
		return p, nil
	}
}

func TestWorkerReconnectsAndResyncs(t *testing.T) {
	var rec printertest.Recorder
	v := printer.NewVirtual(&rec)
	var opens atomic.Int32
	open := unplugFirstOpen(v, len(statusQuery)+200, &opens)
	ch := make(chan printer.JobResult, 16)
	opts := printer.Options{ResyncPad: 16, Backoff: printer.Backoff{Clock: &instantClock{}}}
	opts.OnResult = func(r printer.JobResult) {
		if r.Attempts == 1 {
			v.SetFaults(printer.Faults{}) // plugged back in
		}
		ch <- r
	}
	w, err := printer.NewWorker(open, &opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go w.Run(ctx)
	job := jobBytes(1000)
	submit(t, w, "j", job)
	got := collect(t, ch, "j")
	if len(got) != 2 || !errors.Is(got[0].Err, printer.ErrDisconnected) || got[1].Err != nil {
		t.Fatalf("results = %+v, want disconnected then success", got)
	}
	if opens.Load() != 2 {
		t.Errorf("opened %d times, want 2", opens.Load())
	}
	// The retry must start with NULs and ESC @, then the status query, then the whole job.
	var want []byte
	want = append(want, statusQuery...)
	want = append(want, job[:128]...) // the second chunk hit the unplug
	want = append(want, make([]byte, 16)...)
	want = append(want, 0x1B, 0x40)
	want = append(want, statusQuery...)
	want = append(want, job...)
	if got := rec.Bytes(); !bytes.Equal(got, want) {
		t.Errorf("recorded stream wrong: %s", firstDiff(got, want))
	}
}

func TestWorkerCancel(t *testing.T) {
	v := printer.NewVirtual(nil)
	v.SetFaults(printer.Faults{PaperOut: true})
	block := make(chan time.Time)
	w, ch := startWorker(t, v.Open, printer.Options{Backoff: printer.Backoff{Clock: clockFunc(func(time.Duration) <-chan time.Time { return block })}})
	submit(t, w, "j", jobBytes(10))
	if r := <-ch; r.Done || !errors.Is(r.Err, printer.ErrPaperOut) {
		t.Fatalf("first result = %+v, want retryable paper out", r)
	}
	// While the worker waits, it still answers status queries.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := w.Query(ctx)
	if err != nil || !st.PaperOut {
		t.Errorf("Query() = %v, %v; want paper out", st, err)
	}
	w.Cancel("j")
	got := collect(t, ch, "j")
	if last := got[len(got)-1]; !errors.Is(last.Err, printer.ErrCancelled) || last.Attempts != 1 {
		t.Errorf("final = %+v, want cancelled after 1 attempt", last)
	}
}

type clockFunc func(time.Duration) <-chan time.Time

func (f clockFunc) After(d time.Duration) <-chan time.Time { return f(d) }

func TestWorkerConfirmTimeoutResyncs(t *testing.T) {
	job := jobBytes(20)
	pb := printertest.NewPlayback(
		printertest.IO{W: job},
		printertest.IO{W: []byte{0x1D, 0x72, 0x31}}, // no reply: the printer lost sync
		printertest.IO{W: []byte{0, 0, 0, 0, 0x1B, 0x40}},
		printertest.IO{W: job},
		printertest.IO{W: []byte{0x1D, 0x72, 0x31}, R: []byte{0x03}},
	)
	w, ch := startWorker(t, func(context.Context) (printer.Port, error) { return pb, nil },
		printer.Options{NoStatus: true, Confirm: true, ConfirmTimeout: 100 * time.Millisecond, ResyncPad: 4})
	submit(t, w, "j", job)
	got := collect(t, ch, "j")
	var te *printer.TimeoutError
	if len(got) != 2 || !errors.As(got[0].Err, &te) || te.Op != "confirm" || got[1].Err != nil {
		t.Fatalf("results = %+v, want confirm timeout then success", got)
	}
	if err := pb.Err(); err != nil {
		t.Fatal(err)
	}
	if st := w.State(); !st.Status.PaperNearEnd {
		t.Errorf("State().Status = %v, want paper-near-end from GS r 1", st.Status)
	}
}

// hungPort blocks every write until it is closed, like an offline printer
// holding a full buffer.
type hungPort struct {
	closed chan struct{}
}

func (h *hungPort) Read([]byte) (int, error) { <-h.closed; return 0, io.EOF }
func (h *hungPort) Write([]byte) (int, error) {
	<-h.closed
	return 0, errors.New("closed")
}
func (h *hungPort) Close() error { close(h.closed); return nil }

func TestWorkerHungWrite(t *testing.T) {
	var opens atomic.Int32
	open := func(context.Context) (printer.Port, error) {
		opens.Add(1)
		return &hungPort{closed: make(chan struct{})}, nil
	}
	w, ch := startWorker(t, open, printer.Options{NoStatus: true, WriteTimeout: 50 * time.Millisecond, MaxAttempts: 2, ResyncPad: -1})
	submit(t, w, "j", jobBytes(10))
	got := collect(t, ch, "j")
	var te *printer.TimeoutError
	if !errors.As(got[0].Err, &te) || te.Op != "write" {
		t.Fatalf("first error = %v, want write timeout", got[0].Err)
	}
	if opens.Load() != 2 {
		t.Errorf("opened %d times, want 2 (the hung port is closed and reopened)", opens.Load())
	}
}

func TestWorkerXONXOFF(t *testing.T) {
	var rec printertest.Recorder
	v := printer.NewVirtual(&rec)
	w, ch := startWorker(t, xoffOpener(v, 150*time.Millisecond),
		printer.Options{Handshake: printer.HandshakeXONXOFF, NoStatus: true, Baud: 115200})
	job := jobBytes(1000)
	start := time.Now()
	submit(t, w, "j", job)
	if r := collect(t, ch, "j"); r[0].Err != nil {
		t.Fatal(r[0].Err)
	}
	if el := time.Since(start); el < 150*time.Millisecond {
		t.Errorf("job took %v; XOFF did not hold it", el)
	}
	if got := rec.Bytes(); !bytes.Equal(got, job) {
		t.Error(firstDiff(got, job))
	}
}

func TestWorkerFlowTimeoutReportsStatus(t *testing.T) {
	tests := []struct {
		name      string
		handshake printer.Handshake
		want      error
	}{
		{"xoff and cover open", printer.HandshakeXONXOFF, printer.ErrCoverOpen},
		{"dsr low", printer.HandshakeDTRDSR, printer.ErrCoverOpen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := printer.NewVirtual(nil)
			w, ch := startWorker(t, xoffOpener(v, 0), printer.Options{Handshake: tt.handshake, NoStatus: true,
				Baud: 115200, FlowTimeout: 100 * time.Millisecond, MaxAttempts: 1})
			v.SetFaults(printer.Faults{CoverOpen: true})
			submit(t, w, "j", jobBytes(300))
			if err := collect(t, ch, "j")[0].Err; !errors.Is(err, tt.want) {
				t.Errorf("error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestWorkerDTRDSRNeedsModemLines(t *testing.T) {
	w, ch := startWorker(t, func(context.Context) (printer.Port, error) { return &printertest.Recorder{}, nil },
		printer.Options{Handshake: printer.HandshakeDTRDSR, NoStatus: true})
	submit(t, w, "j", jobBytes(10))
	got := collect(t, ch, "j")
	if len(got) != 1 || !errors.Is(got[0].Err, printer.ErrInvalidOptions) {
		t.Errorf("results = %+v, want one final invalid-options error", got)
	}
}

func TestWorkerBaudPacing(t *testing.T) {
	rec := &printertest.Recorder{}
	w, ch := startWorker(t, func(context.Context) (printer.Port, error) { return rec, nil },
		printer.Options{NoStatus: true, Baud: 115200})
	job := jobBytes(4608) // 0.4 s at 11520 B/s
	start := time.Now()
	submit(t, w, "j", job)
	if r := collect(t, ch, "j"); r[0].Err != nil {
		t.Fatal(r[0].Err)
	}
	// The last chunk is written without waiting for it to leave.
	if el, min := time.Since(start), 350*time.Millisecond; el < min {
		t.Errorf("4608 B at 115200 baud took %v, want at least %v", el, min)
	}
	if !bytes.Equal(rec.Bytes(), job) {
		t.Error(firstDiff(rec.Bytes(), job))
	}
}

func TestSubmitInvalid(t *testing.T) {
	w, err := printer.NewWorker(printer.NewVirtual(nil).Open, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range []printer.Job{{ID: "", Data: []byte{1}}, {ID: "x"}} {
		if err := w.Submit(context.Background(), j); !errors.Is(err, printer.ErrInvalidJob) {
			t.Errorf("Submit(%+v) = %v, want ErrInvalidJob", j, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = w.Run(ctx)
	if err := w.Submit(context.Background(), printer.Job{ID: "x", Data: []byte{1}}); !errors.Is(err, printer.ErrStopped) {
		t.Errorf("Submit after Run returned = %v, want ErrStopped", err)
	}
}

func TestNewWorkerOptions(t *testing.T) {
	tests := []struct {
		name  string
		opts  printer.Options
		field string
	}{
		{"handshake", printer.Options{Handshake: "rtscts"}, "Handshake"},
		{"chunk", printer.Options{ChunkSize: 129}, "ChunkSize"},
		{"ready line", printer.Options{ReadyLine: "dcd"}, "ReadyLine"},
		{"baud", printer.Options{Baud: -1}, "Baud"},
		{"timeout", printer.Options{StatusTimeout: -time.Second}, "StatusTimeout"},
		{"pad", printer.Options{ResyncPad: -2}, "ResyncPad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := printer.NewWorker(printer.NewVirtual(nil).Open, &tt.opts, nil)
			var oe *printer.OptionError
			if !errors.As(err, &oe) || oe.Field != tt.field || !errors.Is(err, printer.ErrInvalidOptions) {
				t.Errorf("NewWorker(%+v) = %v, want OptionError on %s", tt.opts, err, tt.field)
			}
		})
	}
}

func TestQueryStatus(t *testing.T) {
	tests := []struct {
		name   string
		faults printer.Faults
		want   escpos.Status
	}{
		{"healthy", printer.Faults{}, escpos.Status{}},
		{"near end", printer.Faults{PaperNearEnd: true}, escpos.Status{PaperNearEnd: true}},
		{"paper out", printer.Faults{PaperOut: true}, escpos.Status{Offline: true, PaperOut: true, PaperNearEnd: true}},
		{"cutter", printer.Faults{CutterError: true}, escpos.Status{Offline: true, ErrorOccurred: true, CutterError: true}},
		{"garbage", printer.Faults{Garbage: true, CoverOpen: true}, escpos.Status{Offline: true, CoverOpen: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := printer.NewVirtual(nil)
			v.SetFaults(tt.faults)
			p, err := v.Open(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			got, err := printer.QueryStatus(context.Background(), p, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("QueryStatus() = %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("no replies", func(t *testing.T) {
		_, err := printer.QueryStatus(context.Background(), &printertest.Recorder{}, nil)
		if !errors.Is(err, printer.ErrNoReplies) {
			t.Errorf("QueryStatus(Recorder) = %v, want ErrNoReplies", err)
		}
	})
}

func TestWorkerPollNoticesUnplug(t *testing.T) {
	v := printer.NewVirtual(nil)
	var opens atomic.Int32
	open := func(ctx context.Context) (printer.Port, error) {
		opens.Add(1)
		return v.Open(ctx)
	}
	w, _ := startWorker(t, open, printer.Options{PollInterval: 10 * time.Millisecond})
	waitState := func(what string, ok func(printer.State) bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !ok(w.State()) {
			if time.Now().After(deadline) {
				t.Fatalf("state never became %s: %+v", what, w.State())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitState("connected and known", func(s printer.State) bool { return s.Connected && s.Known && s.LastErr == nil })
	v.SetFaults(printer.Faults{Unplugged: true})
	waitState("disconnected", func(s printer.State) bool { return errors.Is(s.LastErr, printer.ErrDisconnected) })
	v.SetFaults(printer.Faults{PaperOut: true})
	waitState("paper out", func(s printer.State) bool { return s.Connected && s.Status.PaperOut })
	if opens.Load() < 2 {
		t.Errorf("opened %d times, want a reopen after the unplug", opens.Load())
	}
}

func TestWorkerRunTwice(t *testing.T) {
	w, _ := startWorker(t, printer.NewVirtual(nil).Open, printer.Options{})
	time.Sleep(10 * time.Millisecond) // let the first Run start
	if err := w.Run(context.Background()); !errors.Is(err, printer.ErrAlreadyRunning) {
		t.Errorf("second Run = %v, want ErrAlreadyRunning", err)
	}
}

func TestStatusErrorSentinels(t *testing.T) {
	var st escpos.Status
	st.PaperOut, st.CoverOpen, st.Offline = true, true, true
	err := error(&printer.StatusError{Status: st})
	for _, want := range []error{printer.ErrPaperOut, printer.ErrCoverOpen, printer.ErrOffline} {
		if !errors.Is(err, want) {
			t.Errorf("errors.Is(%v, %v) = false", err, want)
		}
	}
	if errors.Is(err, printer.ErrPrinterFault) || errors.Is(err, printer.ErrTimeout) {
		t.Errorf("%v matches a sentinel it should not", err)
	}
}
