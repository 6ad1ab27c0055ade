package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/posagent/posagent/outbox"
	"github.com/posagent/posagent/outbox/outboxtest"
)

// TestMarkSendingChunks: on a store filled to ErrStoreFull with little room
// kept per invoice, marking the whole queue sending in one transaction fails
// (copy-on-write needs pages the capped file lacks, the known defect), while
// markSending in markChunk-sized transactions moves every record.
func TestMarkSendingChunks(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	st, err := outbox.Open(filepath.Join(t.TempDir(), "o.db"),
		&outbox.Options{MaxSize: 1 << 20, Headroom: 96 << 10, DrainReserve: 256})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a := &Agent{store: st, opts: Options{Now: func() time.Time { return t0 }}, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, tt := range []struct{ n, want int }{{0, 1}, {120, 120}, {roomyMarkChunk, roomyMarkChunk}, {5000, roomyMarkChunk}} {
		if got := a.markChunk(tt.n); got != tt.want {
			t.Errorf("markChunk(%d) on an empty store = %d, want %d", tt.n, got, tt.want)
		}
	}
	var ids []string
	for i := range 100000 {
		req := outboxtest.Request(fmt.Sprint("s", i), t0)
		req.Build = outboxtest.Build(1<<10, t0.Add(time.Hour))
		inv, _, err := st.Issue(ctx, req)
		if errors.Is(err, outbox.ErrStoreFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, inv.ID)
	}
	if _, err := st.MarkSendingBatch(ctx, ids, "B-ALL"); !errors.Is(err, outbox.ErrStoreFull) {
		t.Fatalf("MarkSendingBatch of all %d at once = %v, want ErrStoreFull (else this store shows nothing)", len(ids), err)
	}
	chunk := a.markChunk(len(ids))
	if chunk < minMarkChunk || chunk >= len(ids) {
		t.Fatalf("markChunk(%d) near full = %d, want in [%d, %d)", len(ids), chunk, minMarkChunk, len(ids))
	}
	moved, err := a.markSending(ctx, ids, "B1", chunk)
	if err != nil || len(moved) != len(ids) {
		t.Fatalf("markSending in chunks of %d = %d moved, %v; want all %d", chunk, len(moved), err, len(ids))
	}
	t.Logf("%d invoices, chunks of %d", len(ids), chunk)
}
