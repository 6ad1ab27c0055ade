package agent_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/escpos"
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
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}
