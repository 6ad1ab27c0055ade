package agent_test

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/escpos"
	"github.com/posagent/posagent/ksef/ksefsim"
	"github.com/posagent/posagent/outbox"
)

// TestBigBatch: the backlog of a long total failure, 3 000 invoices, goes to
// KSeF in ONE batch session once it is over, every invoice is accepted, and
// the heap meanwhile is sampled (HeapInuse every 5 ms; the simulator shares
// the process and keeps every invoice it receives, so the figure is an upper
// bound for the agent). Total-failure receipts carry no QR codes, which keeps
// building the backlog quick.
func TestBigBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("3 000 invoices")
	}
	const n = 3000
	e := newEnv(t, nil)
	if err := e.sim.InjectFault(ksefsim.Fault{Kind: ksefsim.FaultDrop, Count: ksefsim.Forever, PathPrefix: "/v2"}); err != nil {
		t.Fatal(err)
	}
	native, err := escpos.LookupProfile("tm-t88v") // native QR: cheap receipts
	if err != nil {
		t.Fatal(err)
	}
	mod := func(o *agent.Options) {
		o.UploadTotalFailure = true // the backlog is sent after the failure (opt-in)
		o.Logger = slog.New(slog.DiscardHandler)
		o.Profile = native
		o.TempDir = t.TempDir()
		o.PrintInterval = time.Second
	}
	x := e.start(mod, false) // no scheduler while the backlog builds
	if err := x.agent.Announce(context.Background(), agent.Announcement{Mode: "total_failure", Reference: "komunikat MF (test)"}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for i := range n {
		if _, err := x.agent.Issue(context.Background(), agent.IssueRequest{Key: fmt.Sprint("big-", i), Sale: consumerSale()}); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("issued %d invoices in %v", n, time.Since(start).Round(time.Millisecond))
	x.stop()
	e.sim.ClearFaults()

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	start = time.Now()
	y := e.start(mod, true)
	y.flush(3 * time.Minute)
	close(stop)
	wg.Wait()
	t.Logf("batch upload of %d invoices: %v; heap in use %.1f MiB before, peak %.1f MiB (+%.1f MiB, simulator included)",
		n, time.Since(start).Round(time.Millisecond), mib(base), mib(peak.Load()), mib(peak.Load()-min(base, peak.Load())))

	sessions := map[string]int{}
	for _, s := range e.sim.Invoices() {
		sessions[s.SessionReference]++
	}
	if len(sessions) != 1 {
		t.Errorf("invoices spread over %d sessions, want one batch session", len(sessions))
	}
	st, err := y.store.Stats(context.Background(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Upload[outbox.UploadAccepted]; got != n || len(e.sim.Invoices()) != n {
		t.Errorf("accepted %d, simulator holds %d; want %d", got, len(e.sim.Invoices()), n)
	}
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }
