package outbox_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/posagent/posagent/internal/testutil"
	"github.com/posagent/posagent/outbox"
	"github.com/posagent/posagent/outbox/outboxtest"
)

// BenchmarkIssue measures one issue transaction, fsync included (the file
// lives in b.TempDir, so the result depends on that disk): with a 4 KiB
// invoice of padding, and with the official FA(3) sample, which is
// compressed at rest inside the transaction as a real invoice is.
func BenchmarkIssue(b *testing.B) {
	fa3, err := os.ReadFile(testutil.Official("ksef/samples/invoice-template-fa-3.xml"))
	if err != nil {
		b.Fatal(err)
	}
	sample := func(number string) (*outbox.Built, error) {
		return &outbox.Built{XML: fa3, Doc: fa3[:2048], Mode: "offline24", Kind: "VAT", P1: "2026-11-20", Deadline: t0.Add(time.Hour)}, nil
	}
	for _, bc := range []struct {
		name  string
		build outbox.BuildFunc
	}{
		{"pad4k", outboxtest.Build(4<<10, t0.Add(time.Hour))},
		{"fa3", sample},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s, err := outbox.Open(filepath.Join(b.TempDir(), "outbox.db"), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				req := outboxtest.Request(fmt.Sprintf("bench-%d", i), t0)
				req.Build = bc.build
				start := time.Now()
				if _, _, err := s.Issue(ctx, req); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			testutil.ReportLatency(b, lat)
		})
	}
}

// BenchmarkListDuePriority measures planning a backlog of 5 000 queued
// invoices (ListDue, a whole batch) with no prioritized record and with 100:
// the marks come from their own small bucket, read once per call.
func BenchmarkListDuePriority(b *testing.B) {
	s, err := outbox.Open(filepath.Join(b.TempDir(), "outbox.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var ids []string
	for i := range 5000 {
		inv, _, err := s.Issue(ctx, outboxtest.Request(fmt.Sprintf("bench-%d", i), t0))
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, inv.ID)
	}
	plan := func(b *testing.B) {
		for b.Loop() {
			if due, err := s.ListDue(ctx, t0, 10000); err != nil || len(due) != len(ids) {
				b.Fatalf("ListDue = %d, %v", len(due), err)
			}
		}
	}
	b.Run("none", plan)
	for _, id := range ids[len(ids)-100:] {
		if err := s.Prioritize(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("prioritized-100", plan)
}
