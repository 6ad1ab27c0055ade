package outbox_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/posagent/posagent/outbox"
	"github.com/posagent/posagent/outbox/outboxtest"
)

// BenchmarkIssue measures one issue transaction with a 4 KiB invoice, fsync
// included (the file lives in b.TempDir, so the result depends on that disk).
func BenchmarkIssue(b *testing.B) {
	s, err := outbox.Open(filepath.Join(b.TempDir(), "outbox.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	build := outboxtest.Build(4<<10, t0.Add(time.Hour))
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := outboxtest.Request(fmt.Sprintf("bench-%d", i), t0)
		req.Build = build
		start := time.Now()
		if _, _, err := s.Issue(ctx, req); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}
