package printer_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/posagent/posagent/printer"
)

// instantClock fires every backoff timer at once and records the delays.
type instantClock struct {
	mu     sync.Mutex
	delays []time.Duration
}

func (c *instantClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	c.delays = append(c.delays, d)
	c.mu.Unlock()
	ch := make(chan time.Time, 1)
	ch <- time.Time{}
	return ch
}

// startWorker runs a worker until the test ends; results arrive on the channel.
func startWorker(t *testing.T, open printer.Opener, opts printer.Options) (*printer.Worker, <-chan printer.JobResult) {
	t.Helper()
	ch := make(chan printer.JobResult, 64)
	stop := make(chan struct{})
	opts.OnResult = func(r printer.JobResult) {
		select {
		case ch <- r:
		case <-stop:
		}
	}
	if opts.Backoff.Clock == nil {
		opts.Backoff.Clock = &instantClock{}
	}
	w, err := printer.NewWorker(open, &opts, nil)
	if err != nil {
		t.Fatalf("NewWorker: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		close(stop)
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("worker did not stop")
		}
	})
	return w, ch
}

// collect returns the results of job id up to and including the final one.
func collect(t *testing.T, ch <-chan printer.JobResult, id string) []printer.JobResult {
	t.Helper()
	var out []printer.JobResult
	timeout := time.After(60 * time.Second)
	for {
		select {
		case r := <-ch:
			if r.ID != id {
				t.Fatalf("result for %q, want %q", r.ID, id)
			}
			out = append(out, r)
			if r.Done {
				return out
			}
		case <-timeout:
			t.Fatalf("no final result for %q; got %+v", id, out)
		}
	}
}

func submit(t *testing.T, w *printer.Worker, id string, data []byte) {
	t.Helper()
	if err := w.Submit(context.Background(), printer.Job{ID: id, Data: data}); err != nil {
		t.Fatalf("Submit(%s): %v", id, err)
	}
}

// jobBytes is a deterministic job of n bytes that contains no query
// sequences (no 0x10 or 0x1D), so a Virtual printer answers only real queries.
func jobBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('A' + i%26)
	}
	return b
}

// firstDiff describes where got and want differ, for byte-stream failures.
func firstDiff(got, want []byte) string {
	n := min(len(got), len(want))
	for i := 0; i < n; i++ {
		if got[i] != want[i] {
			return fmt.Sprintf("first difference at %d: got % x, want % x (len %d vs %d)", i,
				got[i:min(i+8, len(got))], want[i:min(i+8, len(want))], len(got), len(want))
		}
	}
	return fmt.Sprintf("lengths differ: got %d, want %d", len(got), len(want))
}

var statusQuery = []byte{0x10, 0x04, 0x01, 0x10, 0x04, 0x02, 0x10, 0x04, 0x04}

// xoffOnWrite sends XOFF from the virtual printer on the first write, and
// XON after resume (if positive), like a printer whose buffer filled up.
type xoffOnWrite struct {
	*printer.VirtualConn
	v      *printer.Virtual
	resume time.Duration
	once   sync.Once
}

func (x *xoffOnWrite) Write(b []byte) (int, error) {
	x.once.Do(func() {
		x.v.Send([]byte{0x13})
		if x.resume > 0 {
			time.AfterFunc(x.resume, func() { x.v.Send([]byte{0x11}) })
		}
	})
	return x.VirtualConn.Write(b)
}

func xoffOpener(v *printer.Virtual, resume time.Duration) printer.Opener {
	return func(ctx context.Context) (printer.Port, error) {
		p, err := v.Open(ctx)
		if err != nil {
			return nil, err
		}
		return &xoffOnWrite{VirtualConn: p.(*printer.VirtualConn), v: v, resume: resume}, nil
	}
}
