package outbox_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/posagent/posagent/internal/testutil"
	"github.com/posagent/posagent/outbox"
	"github.com/posagent/posagent/outbox/outboxtest"
)

// TestStoreFullDrainsInBatches: a store filled to ErrStoreFull by an outage
// of small invoices (the shape that broke the batch marking) still takes
// every queued record through a batch's sending, its session reference, and
// acceptance with a UPO of realistic size, then printing, without
// ErrStoreFull; sales stay refused while the queue is not accepted.
func TestStoreFullDrainsInBatches(t *testing.T) {
	for _, tc := range []struct {
		name    string
		maxSize int64
		pad     int
	}{
		{"1MiB-small", 1 << 20, 1 << 10},
		{"2MiB-receipt", 2 << 20, 3 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := outboxtest.MustOpen(t, &outbox.Options{MaxSize: tc.maxSize})
			var ids []string
			var full error
			for i := range 100000 {
				req := outboxtest.Request(fmt.Sprintf("s%d", i), t0)
				req.Build = outboxtest.Build(tc.pad, t0.Add(time.Hour))
				inv, _, err := s.Issue(ctx, req)
				if err != nil {
					full = err
					break
				}
				ids = append(ids, inv.ID)
			}
			if !errors.Is(full, outbox.ErrStoreFull) || len(ids) < 50 {
				t.Fatalf("after %d sales: %v, want ErrStoreFull after at least 50", len(ids), full)
			}
			room, err := s.Room()
			if err != nil || room.Pending != int64(len(ids)) || !room.NearFull() {
				t.Fatalf("Room() = %+v, %v; want %d pending and near full", room, err, len(ids))
			}
			t.Logf("%d invoices of %d B fill %d of %d B", len(ids), tc.pad, room.Used, room.Capacity)

			upo := realisticUPO(t)
			const chunk = 64 // what the agent marks per transaction when near full
			for lo := 0; lo < len(ids); lo += chunk {
				part := ids[lo:min(lo+chunk, len(ids))]
				moved, err := s.MarkSendingBatch(ctx, part, "B1")
				if err != nil || len(moved) != len(part) {
					t.Fatalf("MarkSendingBatch(%d..) when full = %d, %v", lo, len(moved), err)
				}
				if _, err := s.SetSessionRef(ctx, part, "B1", "20261120-SB-0000000001-AB"); err != nil {
					t.Fatalf("SetSessionRef(%d..) when full: %v", lo, err)
				}
			}
			if _, _, err := s.Issue(ctx, outboxtest.Request("while-sending", t0)); !errors.Is(err, outbox.ErrStoreFull) {
				t.Errorf("Issue while the queue is sending = %v, want ErrStoreFull", err)
			}
			for _, id := range ids {
				if err := s.MarkAccepted(ctx, id, outbox.Acceptance{KSeFNumber: "5265877635-20261120-" + id, UPO: upo}); err != nil {
					t.Fatalf("MarkAccepted(%s) when full: %v", id, err)
				}
				inv, err := s.Get(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if err := s.MarkPrinted(ctx, inv.PrintJobID); err != nil {
					t.Fatalf("MarkPrinted(%s) when full: %v", id, err)
				}
			}
			if room, _ := s.Room(); room.Pending != 0 {
				t.Errorf("Room().Pending = %d after accepting all, want 0", room.Pending)
			}
			for _, id := range []string{ids[0], ids[len(ids)-1]} {
				if got, err := s.Get(ctx, id); err != nil || got.Upload != outbox.UploadAccepted || !bytes.Equal(got.UPO, upo) {
					t.Fatalf("Get(%s) = %+v, %v", id, got, err)
				}
			}
			room, _ = s.Room()
			t.Logf("after the drain: %d of %d B used", room.Used, room.Capacity)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			outboxtest.MustCheck(t, s.Path(), nil)
		})
	}
}

// realisticUPO is the official per-invoice UPO sample grown to 4 KiB, the
// size of a signed UPO as KSeF serves it.
func realisticUPO(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(testutil.Official("ksef/upo/upo-faktura-kontekst-id-nip.xml"))
	if err != nil {
		t.Fatal(err)
	}
	for len(b) < 4<<10 {
		b = append(b, "<!-- ds:Signature padding -->\n"...)
	}
	return b
}

func TestOpenBadDrainReserve(t *testing.T) {
	_, err := outbox.Open(t.TempDir()+"/o.db", &outbox.Options{DrainReserve: -1})
	var re *outbox.RequestError
	if !errors.As(err, &re) || re.Field != "Options.DrainReserve" {
		t.Fatalf("Open with DrainReserve -1 = %v, want a RequestError on Options.DrainReserve", err)
	}
}
