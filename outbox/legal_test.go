package outbox_test

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/posagent/posagent/outbox"
	"github.com/posagent/posagent/outbox/outboxtest"
)

// TestOutsideAndQueueOutside: an invoice of a total failure is kept
// outside the upload queue (no obligation to send, tryby-offline.md) and
// holds no drain reserve, until the operator's opt-in queues it.
func TestOutsideAndQueueOutside(t *testing.T) {
	s := outboxtest.MustOpen(t, nil)
	req := outboxtest.Request("tf", t0)
	build := outboxtest.Build(64, time.Time{})
	req.Build = func(n string) (*outbox.Built, error) {
		b, err := build(n)
		b.Mode, b.Outside, b.KOD2 = "total_failure", true, ""
		return b, err
	}
	inv := mustIssue(t, s, req)
	if inv.Upload != outbox.UploadOutside {
		t.Fatalf("upload = %s, want outside", inv.Upload)
	}
	if due, _ := s.ListDue(ctx, t0.Add(time.Hour), 10); len(due) != 0 {
		t.Errorf("ListDue lists %d outside invoices", len(due))
	}
	if r, _ := s.Room(); r.Pending != 0 {
		t.Errorf("Room.Pending = %d, want 0: an outside invoice holds no drain reserve", r.Pending)
	}
	if err := s.MarkSending(ctx, inv.ID, "S"); !errors.Is(err, outbox.ErrIllegalTransition) {
		t.Errorf("MarkSending(outside) = %v, want ErrIllegalTransition", err)
	}
	n, err := s.QueueOutside(ctx)
	if err != nil || n != 1 {
		t.Fatalf("QueueOutside = %d, %v", n, err)
	}
	if due, _ := s.ListDue(ctx, t0.Add(time.Hour), 10); len(due) != 1 || due[0].ID != inv.ID {
		t.Errorf("after the opt-in ListDue = %+v", due)
	}
}

// TestJournal: announcements and their failed probes are kept; a run of
// the same failure is one entry with a count.
func TestJournal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "o.db")
	s, err := outbox.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := &outbox.Announcement{Mode: "total_failure", Start: "2026-12-07", Source: outbox.SourceOperator, Reference: "komunikat MF 7.12.2026", RecordedAt: t0}
	if err := s.SaveAnnouncement(ctx, a); err != nil || a.ID == "" {
		t.Fatalf("SaveAnnouncement = %v (id %q)", err, a.ID)
	}
	p := func(target, e string, at time.Time) outbox.Probe {
		return outbox.Probe{Target: target, Error: e, First: at, Last: at, Count: 1}
	}
	if err := s.AddProbes(ctx, a.ID, []outbox.Probe{p("availability", "timeout", t0), p("availability", "timeout", t0.Add(time.Minute)), p("upload", "reset", t0.Add(2*time.Minute))}); err != nil {
		t.Fatal(err)
	}
	a.End = "2026-12-08"
	if err := s.SaveAnnouncement(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveAnnouncement(ctx, &outbox.Announcement{Mode: "x", Start: "2026-12-07", Source: "radio"}); !errors.Is(err, outbox.ErrInvalidRequest) {
		t.Errorf("SaveAnnouncement(bad source) = %v", err)
	}
	s.Close()
	if s, err = outbox.Open(path, nil); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Announcements(ctx)
	if err != nil || len(got) != 1 {
		t.Fatalf("Announcements = %+v, %v", got, err)
	}
	g := got[0]
	if g.End != "2026-12-08" || g.Reference != a.Reference || len(g.Probes) != 2 || g.Probes[0].Count != 2 || !g.Probes[0].Last.Equal(t0.Add(time.Minute)) {
		t.Errorf("journal after restart = %+v", g)
	}
}

// TestPendingCorrection: a correction of an invoice without a KSeF number
// is kept under the till's key with a slip print job, survives a restart,
// replays, refuses another body, keeps its order, and is consumed when the
// correction is issued under the same key.
func TestPendingCorrection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "o.db")
	s, err := outbox.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	orig := mustIssue(t, s, outboxtest.Request("orig", t0))
	fp := func(s string) outbox.Hash { return sha256.Sum256([]byte(s)) }
	req := func(key string) outbox.CorrectionRequest {
		return outbox.CorrectionRequest{SaleID: key, Fingerprint: fp("body:" + key), OriginalID: orig.ID, Now: t0, Doc: []byte(`{"k":"` + key + `"}`)}
	}
	first, replayed, err := s.RequestCorrection(ctx, req("k1"))
	if err != nil || replayed || first.SlipJobID == "" {
		t.Fatalf("RequestCorrection = %+v, %v, %v", first, replayed, err)
	}
	if _, _, err := s.RequestCorrection(ctx, req("k2")); err != nil {
		t.Fatal(err)
	}
	again, replayed, err := s.RequestCorrection(ctx, req("k1"))
	if err != nil || !replayed || again.ID != first.ID {
		t.Errorf("replay = %+v, %v, %v", again, replayed, err)
	}
	bad := req("k1")
	bad.Fingerprint = fp("other")
	if _, _, err := s.RequestCorrection(ctx, bad); !errors.Is(err, outbox.ErrIdempotencyConflict) {
		t.Errorf("other body = %v, want ErrIdempotencyConflict", err)
	}
	if _, _, err := s.Issue(ctx, outboxtest.Request("k1", t0)); !errors.Is(err, outbox.ErrIdempotencyConflict) {
		t.Errorf("a sale under a pending correction's key = %v, want ErrIdempotencyConflict", err)
	}
	s.Close()
	outboxtest.MustCheck(t, path, nil)
	if s, err = outbox.Open(path, nil); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	list, err := s.PendingCorrections(ctx, orig.ID)
	if err != nil || len(list) != 2 || list[0].SaleID != "k1" || list[1].SaleID != "k2" || string(list[0].Doc) != `{"k":"k1"}` {
		t.Fatalf("after restart PendingCorrections = %+v, %v", list, err)
	}
	o, _ := s.Get(ctx, orig.ID)
	if len(o.Slips) != 2 || o.Slips[0].JobID != first.SlipJobID {
		t.Errorf("original's slips = %+v", o.Slips)
	}
	if err := s.MarkSending(ctx, orig.ID, "S"); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkAccepted(ctx, orig.ID, outbox.Acceptance{KSeFNumber: "K"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.RequestCorrection(ctx, req("k3")); !errors.Is(err, outbox.ErrIssueNow) {
		t.Errorf("RequestCorrection of an accepted original = %v, want ErrIssueNow", err)
	}
	kor := outboxtest.Request("k1", t0)
	kor.Fingerprint, kor.CorrectionOf = fp("body:k1"), orig.ID
	inv := mustIssue(t, s, kor)
	if inv.Upload != outbox.UploadQueued || inv.CorrectionOf != orig.ID {
		t.Errorf("issued correction = %s of %s", inv.Upload, inv.CorrectionOf)
	}
	if list, _ := s.PendingCorrections(ctx, ""); len(list) != 1 || list[0].SaleID != "k2" {
		t.Errorf("after the issue PendingCorrections = %+v", list)
	}
	if _, _, err := s.RequestCorrection(ctx, req("k1")); !errors.Is(err, outbox.ErrIssueNow) {
		t.Errorf("RequestCorrection replay after the issue = %v, want ErrIssueNow", err)
	}
	if err := s.Check(ctx); err != nil {
		t.Error(err)
	}
}

// TestPendingCorrectionIssuedWhenFull: a correction the till was told is
// pending (202) is issued once its original is accepted even when new sales
// have filled the store meanwhile; it may use the drain reserves, so what the
// store acknowledged is never refused for room.
func TestPendingCorrectionIssuedWhenFull(t *testing.T) {
	s := outboxtest.MustOpen(t, &outbox.Options{MaxSize: 1 << 20, Headroom: 256 << 10})
	orig := mustIssue(t, s, outboxtest.Request("orig", t0))
	fp := sha256.Sum256([]byte("body:kor"))
	if _, _, err := s.RequestCorrection(ctx, outbox.CorrectionRequest{SaleID: "kor", Fingerprint: fp, OriginalID: orig.ID, Now: t0, Doc: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkSending(ctx, orig.ID, "S"); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkAccepted(ctx, orig.ID, outbox.Acceptance{KSeFNumber: "K"}); err != nil {
		t.Fatal(err)
	}
	fill := func(prefix string, pad int) {
		for i := range 1000 {
			req := outboxtest.Request(fmt.Sprintf("%s%d", prefix, i), t0)
			req.Build = noisyBuild(pad)
			if _, _, err := s.Issue(ctx, req); errors.Is(err, outbox.ErrStoreFull) {
				return
			} else if err != nil {
				t.Fatal(err)
			}
		}
		t.Fatal("the store never filled")
	}
	fill("big", 4<<10)
	fill("small", 64) // what a big sale left, down to the last byte a sale may use
	if room, _ := s.Room(); !room.Full() {
		t.Fatalf("Room = %+v, want full", room)
	}
	kor := outboxtest.Request("kor", t0)
	kor.Fingerprint, kor.CorrectionOf = fp, orig.ID
	inv, _, err := s.Issue(ctx, kor)
	if err != nil {
		t.Fatalf("the pending correction in a full store = %v, want issued", err)
	}
	if inv.CorrectionOf != orig.ID || inv.Upload != outbox.UploadQueued {
		t.Errorf("issued %s of %s, want queued of %s", inv.Upload, inv.CorrectionOf, orig.ID)
	}
	if _, _, err := s.Issue(ctx, outboxtest.Request("after", t0)); !errors.Is(err, outbox.ErrStoreFull) {
		t.Errorf("a new sale after it = %v, want ErrStoreFull", err)
	}
	if err := s.Check(ctx); err != nil {
		t.Error(err)
	}
}
