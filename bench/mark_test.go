package bench_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/posagent/posagent/outbox"
	"github.com/posagent/posagent/outbox/outboxtest"
	"github.com/posagent/posagent/printer"
)

// markBaud is the line rate issue 16 bounds the printed mark at: at most one
// receipt, and about 50 ms, behind the receipt leaving the port.
const markBaud = 115200

// drainPort is a virtual printer connection that stamps each Drain: the
// worker drains after every chunk, so the last stamp before a job's printed
// mark is when its last byte left the port.
type drainPort struct {
	*printer.VirtualConn
	mu   sync.Mutex // guards last
	last time.Time
}

func (p *drainPort) Drain() error {
	err := p.VirtualConn.Drain()
	p.mu.Lock()
	p.last = time.Now()
	p.mu.Unlock()
	return err
}

func (p *drainPort) lastDrain() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last
}

// markRig is a print worker paced at markBaud on a virtual printer whose
// journal is a real store (bbolt, fsync on) holding the jobs it prints.
type markRig struct {
	store   *outbox.Store
	worker  *printer.Worker
	port    *drainPort
	results chan printer.JobResult
	jobs    []string // print job ids of issued invoices, not yet used

	mu      sync.Mutex      // guards windows and left
	windows []time.Duration // last byte left the port -> printed mark committed
	left    map[string]time.Time
}

func newMarkRig(tb testing.TB, receipts int) *markRig {
	tb.Helper()
	st, err := outbox.Open(filepath.Join(tb.TempDir(), "outbox.db"), nil)
	if err != nil {
		tb.Fatal(err)
	}
	r := &markRig{store: st, port: &drainPort{}, results: make(chan printer.JobResult, 1024), left: map[string]time.Time{}}
	for i := range receipts {
		inv, _, err := st.Issue(context.Background(), outboxtest.Request(fmt.Sprint("m", i), time.Now()))
		if err != nil {
			tb.Fatal(err)
		}
		r.jobs = append(r.jobs, inv.PrintJobID)
	}
	vp := printer.NewVirtual(nil)
	open := virtualOpener(vp, func(c *printer.VirtualConn) printer.Port { r.port.VirtualConn = c; return r.port })
	// The journal is what agent.RecordPrint does: one store transaction.
	journal := printer.JournalFunc(func(ctx context.Context, printed []string, started string) error {
		out := r.port.lastDrain()
		err := st.RecordPrint(ctx, printed, started, time.Now())
		if len(printed) > 0 {
			r.mu.Lock()
			r.windows = append(r.windows, time.Since(out))
			r.mu.Unlock()
		}
		return err
	})
	r.worker, err = printer.NewWorker(open, &printer.Options{Baud: markBaud, Journal: journal, QueueSize: receipts + 1,
		OnResult: func(res printer.JobResult) {
			if res.Done {
				r.results <- res
			}
		}}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.worker.Run(ctx) }()
	tb.Cleanup(func() { cancel(); <-done; st.Close() })
	return r
}

// print submits n receipts of size bytes, all at once (queued: each printed
// mark shares a commit with the next start) or each after the last printed
// (idle: the mark commits alone), and waits for them.
func (r *markRig) print(tb testing.TB, n, size int, queued bool) {
	tb.Helper()
	data := make([]byte, size)
	for i := range data {
		data[i] = byte('A' + i%26) // no query bytes (0x10, 0x1D)
	}
	wait := func() {
		select {
		case res := <-r.results:
			if res.Err != nil {
				tb.Fatal(res.Err)
			}
		case <-time.After(time.Minute):
			tb.Fatal("no result in a minute")
		}
	}
	for range n {
		id := r.jobs[0]
		r.jobs = r.jobs[1:]
		if err := r.worker.Submit(context.Background(), printer.Job{ID: id, Data: data}); err != nil {
			tb.Fatal(err)
		}
		if !queued {
			wait()
		}
	}
	if queued {
		for range n {
			wait()
		}
	}
}

// BenchmarkPrintedMark measures the window of issue 16: from a receipt's last
// byte leaving the port (its last Drain returned) to its printed mark being
// committed with fsync, through the worker's journal into a real store,
// with the worker pacing a 1 500-byte receipt at 115 200 baud (130 ms on the
// wire). One op is 10 receipts; window-p50/p99/max-ms are over all of them.
// The worker is sequential and writes the mark before anything else, so at
// most one receipt is ever out of the port without its mark.
func BenchmarkPrintedMark(b *testing.B) {
	const perOp, size = 10, 1500
	for _, queued := range []bool{true, false} {
		name := "idle"
		if queued {
			name = "queued"
		}
		b.Run(name, func(b *testing.B) {
			r := newMarkRig(b, (b.N+1)*perOp)
			r.print(b, perOp, size, queued) // warm up: open the port
			r.mu.Lock()
			r.windows = nil
			r.mu.Unlock()
			start := time.Now()
			b.ResetTimer()
			for range b.N {
				r.print(b, perOp, size, queued)
			}
			b.StopTimer()
			elapsed := time.Since(start)
			r.mu.Lock()
			w := slices.Clone(r.windows)
			r.mu.Unlock()
			slices.Sort(w)
			ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
			b.ReportMetric(ms(percentile(w, 50)), "window-p50-ms")
			b.ReportMetric(ms(percentile(w, 99)), "window-p99-ms")
			b.ReportMetric(ms(w[len(w)-1]), "window-max-ms")
			// Line use: the wire time of the receipts over the wall time.
			wire := time.Duration(b.N*perOp*size*10) * time.Second / markBaud
			b.ReportMetric(100*float64(wire)/float64(elapsed), "line-use-%")
		})
	}
}

// TestPrintedMarkRig proves the benchmark's rig measures a real store: each
// receipt's window is stamped, and every job ends printed with its start.
func TestPrintedMarkRig(t *testing.T) {
	r := newMarkRig(t, 4)
	ids := slices.Clone(r.jobs)
	r.print(t, 2, 300, true)
	r.print(t, 2, 300, false)
	if len(r.windows) != 4 {
		t.Fatalf("%d windows for 4 receipts", len(r.windows))
	}
	for _, id := range ids {
		j, err := r.store.PrintJob(context.Background(), id)
		if err != nil || j.State != outbox.PrintPrinted || j.StartedAt.IsZero() {
			t.Errorf("job %s: %+v, %v; want printed with its start", id, j, err)
		}
	}
	for _, w := range r.windows {
		if w <= 0 {
			t.Errorf("window %v, want positive", w)
		}
	}
}
