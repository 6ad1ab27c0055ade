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
