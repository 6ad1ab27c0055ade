package outbox_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/posagent/posagent/outbox"
	"github.com/posagent/posagent/outbox/outboxtest"
)

func TestArchiveAndCompact(t *testing.T) {
	now := t0
	opts := &outbox.Options{Retention: 24 * time.Hour, Now: func() time.Time { return now }}
	s := outboxtest.MustOpen(t, opts)
	var invs []*outbox.Invoice
	for i := range 5 {
		req := outboxtest.Request(fmt.Sprintf("a%d", i), t0)
		req.Build = outboxtest.Build(32<<10, t0.Add(48*time.Hour))
		invs = append(invs, mustIssue(t, s, req))
	}
	upo := []byte("<UPO>ok</UPO>")
	for i, inv := range invs[:4] {
		if err := s.MarkSending(ctx, inv.ID, "S"); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkAccepted(ctx, inv.ID, outbox.Acceptance{KSeFNumber: "K" + inv.ID, AcquiredAt: t0, UPO: upo}); err != nil {
			t.Fatal(err)
		}
		if i < 3 { // the fourth keeps an unprinted job, so it stays
			if err := s.MarkPrinted(ctx, inv.PrintJobID); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n, err := s.Archive(ctx); err != nil || n != 0 {
		t.Fatalf("Archive() before retention = %d, %v, want 0", n, err)
	}
	now = t0.Add(25 * time.Hour)
	if n, err := s.Archive(ctx); err != nil || n != 3 {
		t.Fatalf("Archive() = %d, %v, want 3", n, err)
	}
	if n, err := s.Archive(ctx); err != nil || n != 0 {
		t.Fatalf("second Archive() = %d, %v, want 0", n, err)
	}
	if _, err := os.Stat(s.Path() + ".archive-2026"); err != nil {
		t.Fatalf("archive file: %v", err)
	}
	// Audits still find archived invoices, with their bytes.
	got, err := s.Get(ctx, invs[0].ID)
	if err != nil || !bytes.Equal(got.XML, invs[0].XML) || !bytes.Equal(got.UPO, upo) || got.KSeFNumber != "K"+invs[0].ID {
		t.Fatalf("Get(archived) = %+v, %v", got, err)
	}
	if got, err := s.ByNumber(ctx, invs[1].Number); err != nil || got.ID != invs[1].ID {
		t.Errorf("ByNumber(archived) = %v, %v", got, err)
	}
	// A late reprint of an archived invoice gets it whole.
	if got, err := s.GetForPrint(ctx, invs[0].ID); err != nil || !bytes.Equal(got.Doc, invs[0].Doc) || !bytes.Equal(got.XML, invs[0].XML) {
		t.Errorf("GetForPrint(archived) = %+v, %v", got, err)
	}
	replay := outboxtest.Request("a2", t0)
	if got, replayed, err := s.Issue(ctx, replay); err != nil || !replayed || got.ID != invs[2].ID {
		t.Errorf("replay of an archived sale = %v, %v, %v", got, replayed, err)
	}
	list, _ := s.List(ctx, outbox.Filter{})
	if got, want := ids(list), []string{invs[3].ID, invs[4].ID}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("List() after archive = %v, want %v", got, want)
	}
	// Numbering continues and a correction of an archived (accepted) invoice queues.
	req := outboxtest.Request("kor", t0)
	req.CorrectionOf = invs[0].ID
	if kor := mustIssue(t, s, req); kor.Number != "T1/2026/11/000006" || kor.Upload != outbox.UploadQueued {
		t.Errorf("after archive: %s %s", kor.Number, kor.Upload)
	}
	if _, err := s.Reprint(ctx, invs[0].ID); !errors.Is(err, outbox.ErrNotFound) {
		t.Errorf("Reprint(archived) = %v, want ErrNotFound", err)
	}
	if err := s.Check(ctx); err != nil {
		t.Fatal(err)
	}
	// Compact reclaims the archived pages.
	dst := filepath.Join(t.TempDir(), "compact.db")
	if err := s.Compact(ctx, dst); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(s.Path())
	after, _ := os.Stat(dst)
	if after.Size() >= before.Size() {
		t.Errorf("compacted %d bytes, live %d", after.Size(), before.Size())
	}
	t.Logf("live file %d bytes, compacted %d", before.Size(), after.Size())
}
