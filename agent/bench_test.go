package agent_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/escpos"
	"github.com/posagent/posagent/internal/testutil"
	"github.com/posagent/posagent/ksef/ksefsim"
)

// BenchmarkIssue measures a sale from Issue to its answer: validation, XML,
// hash, KOD II signature (RSA-PSS), the fsynced outbox transaction. The
// receipt is rendered by the print dispatcher meanwhile.
func BenchmarkIssue(b *testing.B) {
	u := newUnit(b, func(o *agent.Options) {
		o.Logger = slog.New(slog.DiscardHandler)
		// production intervals: the tests' short ones would keep both cores busy
		o.UploadInterval, o.PollInterval, o.PrintInterval, o.RetryMin, o.RetryMax = 0, 0, 0, 0, 0
		o.Profile, _ = escpos.LookupProfile("tm-t88v") // native QR: rendering is cheap
	})
	ctx := context.Background()
	s := consumerSale()
	u.run(b)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		if _, err := u.agent.Issue(ctx, agent.IssueRequest{Key: fmt.Sprint("b", i), Sale: s}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	testutil.ReportLatency(b, lat)
}

// BenchmarkBacklog issues a backlog during an outage and measures how long
// the batch path takes to get it accepted by the simulator once the link is
// back (one op = the whole backlog).
func BenchmarkBacklog(b *testing.B) {
	const n = 500
	for range b.N {
		b.StopTimer()
		e := newEnv(b, nil)
		if err := e.sim.InjectFault(ksefsim.Fault{Kind: ksefsim.FaultDrop, Count: ksefsim.Forever, PathPrefix: "/v2"}); err != nil {
			b.Fatal(err)
		}
		x := e.start(func(o *agent.Options) {
			o.Logger = slog.New(slog.DiscardHandler)
			o.TempDir = b.TempDir()
		}, true)
		for i := range n {
			if _, err := x.agent.Issue(context.Background(), agent.IssueRequest{Key: fmt.Sprint("bl", i), Sale: consumerSale()}); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		e.sim.ClearFaults()
		x.flush(5 * time.Minute)
		b.StopTimer()
		if got := len(e.sim.Invoices()); got != n {
			b.Fatalf("simulator holds %d invoices, want %d", got, n)
		}
		x.stop()
	}
	b.ReportMetric(n, "invoices/op")
}
