package printer_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posagent/posagent/printer"
	"github.com/posagent/posagent/printer/printertest"
)

var confirmQuery = []byte{0x1D, 0x72, 0x31}

// tailAfter returns a Tail that waits until the port has taken want (the
// status query and the head) before it returns b, err: a worker that asked
// for the tail before writing the head fails the job with a TailError.
func tailAfter(seen func() []byte, want, b []byte, err error, calls *atomic.Int32) func() ([]byte, error) {
	return func() ([]byte, error) {
		calls.Add(1)
		deadline := time.Now().Add(10 * time.Second)
		for !bytes.HasPrefix(seen(), want) {
			if time.Now().After(deadline) {
				return nil, errors.New("test: the head was not written before the tail was needed")
			}
			time.Sleep(time.Millisecond)
		}
		return b, err
	}
}

func TestWorkerTail(t *testing.T) {
	head, tail := jobBytes(300), bytes.Repeat([]byte("QR"), 400)
	errEncode := errors.New("qr encoder broke")
	tests := []struct {
		name      string
		tail      []byte
		tailErr   error
		panics    bool
		want      []byte // after the status query
		wantErr   error  // nil: printed
		wantInErr string
	}{
		{name: "head then tail", tail: tail, want: cat(head, tail, confirmQuery)},
		{name: "empty tail", tail: nil, want: cat(head, confirmQuery)},
		{name: "tail error", tailErr: errEncode, want: head, wantErr: errEncode},
		{name: "tail panics", panics: true, want: head, wantErr: printer.ErrTail, wantInErr: "panic: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec printertest.Recorder
			v := printer.NewVirtual(&rec)
			w, ch := startWorker(t, v.Open, printer.Options{Confirm: true})
			var calls atomic.Int32
			f := tailAfter(rec.Bytes, cat(statusQuery, head), tt.tail, tt.tailErr, &calls)
			if tt.panics {
				f = func() ([]byte, error) { calls.Add(1); panic("boom") }
			}
			if err := w.Submit(context.Background(), printer.Job{ID: "j", Data: head, Tail: f}); err != nil {
				t.Fatal(err)
			}
			got := collect(t, ch, "j")
			if len(got) != 1 || got[0].Attempts != 1 || !got[0].Done {
				t.Fatalf("results = %+v, want one final attempt", got)
			}
			err := got[0].Err
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("error = %v, want printed", err)
			case tt.wantErr != nil:
				var te *printer.TailError
				if !errors.Is(err, tt.wantErr) || !errors.Is(err, printer.ErrTail) || !errors.As(err, &te) {
					t.Fatalf("error = %v, want a *TailError wrapping %v", err, tt.wantErr)
				}
				if printer.Retryable(err) {
					t.Errorf("Retryable(%v) = true, want false", err)
				}
				if !strings.Contains(err.Error(), tt.wantInErr) {
					t.Errorf("error = %q, want it to contain %q", err, tt.wantInErr)
				}
			}
			if got, want := rec.Bytes(), cat(statusQuery, tt.want); !bytes.Equal(got, want) {
				t.Errorf("printer got: %s", firstDiff(got, want))
			}
			if n := calls.Load(); n != 1 {
				t.Errorf("Tail called %d times, want 1", n)
			}
		})
	}
}

// TestWorkerTailScript checks the exact exchange: the status reply comes
// before the head, and GS r 1 follows the tail.
func TestWorkerTailScript(t *testing.T) {
	head, tail := jobBytes(200), []byte("tail bytes")
	pb := printertest.NewPlayback(
		printertest.IO{W: statusQuery, R: []byte{0x12, 0x12, 0x12}},
		printertest.IO{W: head},
		printertest.IO{W: tail},
		printertest.IO{W: confirmQuery, R: []byte{0x00}},
	)
	w, ch := startWorker(t, func(context.Context) (printer.Port, error) { return pb, nil }, printer.Options{Confirm: true})
	job := printer.Job{ID: "j", Data: head, Tail: func() ([]byte, error) { return tail, nil }}
	if err := w.Submit(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	if got := collect(t, ch, "j"); len(got) != 1 || got[0].Err != nil {
		t.Fatalf("results = %+v, want one success", got)
	}
	if err := pb.Err(); err != nil {
		t.Fatal(err)
	}
	if !pb.Done() {
		t.Error("script not played to its end")
	}
}

func TestWorkerTailRetries(t *testing.T) {
	head, tail := jobBytes(400), bytes.Repeat([]byte{'T'}, 600)
	t.Run("paper out", func(t *testing.T) {
		var rec printertest.Recorder
		v := printer.NewVirtual(&rec)
		v.SetFaults(printer.Faults{PaperOut: true})
		ch := make(chan printer.JobResult, 16)
		opts := printer.Options{Backoff: printer.Backoff{Clock: &instantClock{}}}
		opts.OnResult = func(r printer.JobResult) {
			if r.Attempts == 2 {
				v.SetFaults(printer.Faults{})
			}
			ch <- r
		}
		w := runWorker(t, v.Open, &opts)
		var calls atomic.Int32
		job := printer.Job{ID: "j", Data: head, Tail: func() ([]byte, error) { calls.Add(1); return tail, nil }}
		if err := w.Submit(context.Background(), job); err != nil {
			t.Fatal(err)
		}
		got := collect(t, ch, "j")
		if len(got) != 3 || got[2].Err != nil {
			t.Fatalf("results = %+v, want two paper-outs then success", got)
		}
		if n := bytes.Count(rec.Bytes(), cat(head, tail)); n != 1 {
			t.Errorf("head+tail printed %d times, want 1", n)
		}
		if n := bytes.Count(rec.Bytes(), head); n != 1 {
			t.Errorf("head printed %d times, want 1 (never to a printer without paper)", n)
		}
		if n := calls.Load(); n != 1 {
			t.Errorf("Tail called %d times, want 1 (its bytes are kept for retries)", n)
		}
	})
	t.Run("unplug in the tail", func(t *testing.T) {
		var rec printertest.Recorder
		v := printer.NewVirtual(&rec)
		var opens atomic.Int32
		// The head goes through whole; the tail's second chunk hits the unplug.
		open := unplugFirstOpen(v, len(statusQuery)+len(head)+200, &opens)
		ch := make(chan printer.JobResult, 16)
		opts := printer.Options{ResyncPad: 16, Backoff: printer.Backoff{Clock: &instantClock{}}}
		opts.OnResult = func(r printer.JobResult) {
			if r.Attempts == 1 {
				v.SetFaults(printer.Faults{})
			}
			ch <- r
		}
		w := runWorker(t, open, &opts)
		var calls atomic.Int32
		job := printer.Job{ID: "j", Data: head, Tail: func() ([]byte, error) { calls.Add(1); return tail, nil }}
		if err := w.Submit(context.Background(), job); err != nil {
			t.Fatal(err)
		}
		got := collect(t, ch, "j")
		if len(got) != 2 || !errors.Is(got[0].Err, printer.ErrDisconnected) || got[1].Err != nil {
			t.Fatalf("results = %+v, want disconnected then success", got)
		}
		// Head and the tail's first chunk, then NULs and ESC @, then the whole job again.
		want := cat(statusQuery, head, tail[:128], make([]byte, 16), []byte{0x1B, 0x40}, statusQuery, head, tail)
		if got := rec.Bytes(); !bytes.Equal(got, want) {
			t.Errorf("recorded stream wrong: %s", firstDiff(got, want))
		}
		if n := calls.Load(); n != 1 {
			t.Errorf("Tail called %d times, want 1", n)
		}
	})
}

// TestWorkerTailCancel cancels a job while its tail computes: the attempt
// that wrote the head finishes, so the printer never holds half a receipt.
func TestWorkerTailCancel(t *testing.T) {
	var rec printertest.Recorder
	v := printer.NewVirtual(&rec)
	w, ch := startWorker(t, v.Open, printer.Options{})
	head, tail := jobBytes(100), []byte("the rest")
	entered, release := make(chan struct{}), make(chan struct{})
	job := printer.Job{ID: "j", Data: head, Tail: func() ([]byte, error) {
		close(entered)
		<-release
		return tail, nil
	}}
	if err := w.Submit(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	<-entered
	waitFor(t, "the head at the printer", func() bool { return bytes.HasSuffix(rec.Bytes(), head) })
	w.Cancel("j")
	close(release)
	got := collect(t, ch, "j")
	if len(got) != 1 || got[0].Err != nil {
		t.Fatalf("results = %+v, want the started attempt to finish", got)
	}
	if got, want := rec.Bytes(), cat(statusQuery, head, tail); !bytes.Equal(got, want) {
		t.Errorf("printer got: %s", firstDiff(got, want))
	}
	// The cancellation does not linger for a later job with the same ID.
	submit(t, w, "j", head)
	if got := collect(t, ch, "j"); got[0].Err != nil {
		t.Errorf("next job with the same ID = %v, want printed", got[0].Err)
	}
}

// TestWorkerTailStop stops the worker while a tail computes: Run waits for
// the tail's goroutine, sends nothing after the head and reports nothing
// (the caller's outbox still holds the job).
func TestWorkerTailStop(t *testing.T) {
	var rec printertest.Recorder
	v := printer.NewVirtual(&rec)
	var results atomic.Int32
	w, err := printer.NewWorker(v.Open, &printer.Options{OnResult: func(printer.JobResult) { results.Add(1) }}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- w.Run(ctx) }()
	head := jobBytes(100)
	entered, release := make(chan struct{}), make(chan struct{})
	var returned atomic.Bool
	job := printer.Job{ID: "j", Data: head, Tail: func() ([]byte, error) {
		close(entered)
		<-release
		returned.Store(true)
		return []byte("never sent"), nil
	}}
	if err := w.Submit(ctx, job); err != nil {
		t.Fatal(err)
	}
	<-entered
	waitFor(t, "the head at the printer", func() bool { return bytes.HasSuffix(rec.Bytes(), head) })
	cancel()
	select {
	case err := <-stopped:
		t.Fatalf("Run returned %v while the tail goroutine was still running", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	select {
	case err := <-stopped:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after the tail did")
	}
	if !returned.Load() {
		t.Error("Run returned before the tail goroutine")
	}
	if got, want := rec.Bytes(), cat(statusQuery, head); !bytes.Equal(got, want) {
		t.Errorf("printer got: %s", firstDiff(got, want))
	}
	if n := results.Load(); n != 0 {
		t.Errorf("%d results reported for a job interrupted by shutdown, want 0", n)
	}
}

// TestWorkerTailNotReady: a printer that refuses the job before its Data
// costs no tail: the encoding waits until a receipt is really printed.
func TestWorkerTailNotReady(t *testing.T) {
	v := printer.NewVirtual(nil)
	v.SetFaults(printer.Faults{CoverOpen: true})
	w, ch := startWorker(t, v.Open, printer.Options{MaxAttempts: 2})
	var calls atomic.Int32
	job := printer.Job{ID: "j", Data: jobBytes(10), Tail: func() ([]byte, error) { calls.Add(1); return []byte("x"), nil }}
	if err := w.Submit(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	got := collect(t, ch, "j")
	if len(got) != 2 || !errors.Is(got[1].Err, printer.ErrCoverOpen) {
		t.Fatalf("results = %+v, want two cover-open failures", got)
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("Tail called %d times for a job that never wrote its Data, want 0", n)
	}
}

func TestSubmitTailNeedsData(t *testing.T) {
	w, err := printer.NewWorker(printer.NewVirtual(nil).Open, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	job := printer.Job{ID: "x", Tail: func() ([]byte, error) { return []byte("rest"), nil }}
	if err := w.Submit(context.Background(), job); !errors.Is(err, printer.ErrInvalidJob) {
		t.Errorf("Submit(job with a tail and no data) = %v, want ErrInvalidJob", err)
	}
}

func TestJobBytes(t *testing.T) {
	errEncode := errors.New("encoder broke")
	tests := []struct {
		name    string
		job     printer.Job
		want    []byte
		wantErr error
	}{
		{"no tail", printer.Job{Data: []byte("ab")}, []byte("ab"), nil},
		{"tail", printer.Job{Data: []byte("ab"), Tail: func() ([]byte, error) { return []byte("cd"), nil }}, []byte("abcd"), nil},
		{"tail error", printer.Job{Data: []byte("ab"), Tail: func() ([]byte, error) { return nil, errEncode }}, nil, errEncode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.job.Bytes()
			if !bytes.Equal(got, tt.want) || !errors.Is(err, tt.wantErr) {
				t.Errorf("Bytes() = %q, %v; want %q, %v", got, err, tt.want, tt.wantErr)
			}
			if err != nil && !errors.Is(err, printer.ErrTail) {
				t.Errorf("Bytes() error %v does not match ErrTail", err)
			}
		})
	}
	// The result is a copy: appending to it cannot reach into Data.
	data := make([]byte, 2, 8)
	copy(data, "ab")
	job := printer.Job{Data: data, Tail: func() ([]byte, error) { return []byte("cd"), nil }}
	if _, err := job.Bytes(); err != nil || string(data[:4]) != "ab\x00\x00" {
		t.Errorf("Bytes() wrote into Data's spare capacity: %q", data[:4])
	}
}

// runWorker runs a worker with opts (its OnResult set by the caller) until
// the test ends.
func runWorker(t *testing.T, open printer.Opener, opts *printer.Options) *printer.Worker {
	t.Helper()
	w, err := printer.NewWorker(open, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return w
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// slowReplies delays every reply by delay, like a printer still printing
// the bytes before GS r 1.
type slowReplies struct {
	*printer.VirtualConn
	delay time.Duration
}

func (s *slowReplies) Read(b []byte) (int, error) {
	n, err := s.VirtualConn.Read(b)
	if n > 0 {
		time.Sleep(s.delay)
	}
	return n, err
}

// TestWorkerTailConfirmAllowance: the wait for GS r 1 allows for printing
// the tail too. At 9600 baud 500 B take 521 ms; counting only the 10 B of
// Data the allowance would be 30 ms, less than the printer's 150 ms.
func TestWorkerTailConfirmAllowance(t *testing.T) {
	v := printer.NewVirtual(nil)
	open := func(ctx context.Context) (printer.Port, error) {
		p, err := v.Open(ctx)
		if err != nil {
			return nil, err
		}
		return &slowReplies{VirtualConn: p.(*printer.VirtualConn), delay: 150 * time.Millisecond}, nil
	}
	w, ch := startWorker(t, open, printer.Options{NoStatus: true, Confirm: true, Baud: 9600,
		ConfirmTimeout: 20 * time.Millisecond, MaxAttempts: 1})
	job := printer.Job{ID: "j", Data: jobBytes(10), Tail: func() ([]byte, error) { return jobBytes(490), nil }}
	if err := w.Submit(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	if got := collect(t, ch, "j"); got[0].Err != nil {
		t.Errorf("print = %v, want confirmed", got[0].Err)
	}
}

// TestWorkerTailStartsAfterFirstChunk: the tail's work (QR encodes) begins
// only once the first chunk of Data is at the printer, not while the status
// query waits for its (here slow) reply.
func TestWorkerTailStartsAfterFirstChunk(t *testing.T) {
	var rec printertest.Recorder
	v := printer.NewVirtual(&rec)
	open := func(ctx context.Context) (printer.Port, error) {
		p, err := v.Open(ctx)
		if err != nil {
			return nil, err
		}
		return &slowReplies{VirtualConn: p.(*printer.VirtualConn), delay: 20 * time.Millisecond}, nil
	}
	w, ch := startWorker(t, open, printer.Options{ChunkSize: 64})
	head := jobBytes(1000)
	var atCall []byte
	job := printer.Job{ID: "j", Data: head, Tail: func() ([]byte, error) {
		atCall = rec.Bytes()
		return []byte("tail"), nil
	}}
	if err := w.Submit(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	if got := collect(t, ch, "j"); got[0].Err != nil {
		t.Fatal(got[0].Err)
	}
	if want := cat(statusQuery, head[:64]); !bytes.HasPrefix(atCall, want) {
		t.Errorf("Tail called when the printer held %d B, want at least the status query and the first 64 B chunk", len(atCall))
	}
}
