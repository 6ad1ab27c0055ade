package outbox_test

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/outbox"
	"github.com/posagent/posagent/outbox/outboxtest"
)

func job(t *testing.T, s *outbox.Store, id string) *outbox.PrintJob {
	t.Helper()
	j, err := s.PrintJob(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func lastEvent(t *testing.T, s *outbox.Store, id string) string {
	t.Helper()
	inv, err := s.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return inv.Events[len(inv.Events)-1].What
}

func TestRecordPrint(t *testing.T) {
	s := outboxtest.MustOpen(t, nil)
	a := mustIssue(t, s, outboxtest.Request("a", t0))
	b := mustIssue(t, s, outboxtest.Request("b", t0))
	t1, t2 := t0.Add(time.Second), t0.Add(time.Minute)

	// The first job's start alone, then its printed mark with the next start.
	if err := s.RecordPrint(ctx, nil, a.PrintJobID, t1); err != nil {
		t.Fatal(err)
	}
	if j := job(t, s, a.PrintJobID); !j.StartedAt.Equal(t1) || j.State != outbox.PrintPending || !j.Started() {
		t.Fatalf("after the start mark: %+v, want pending, started at %v", j, t1)
	}
	if err := s.RecordPrint(ctx, []string{a.PrintJobID}, b.PrintJobID, t2); err != nil {
		t.Fatal(err)
	}
	ja, jb := job(t, s, a.PrintJobID), job(t, s, b.PrintJobID)
	if ja.State != outbox.PrintPrinted || !ja.StartedAt.Equal(t1) || ja.Attempts != 1 {
		t.Errorf("printed job %+v: want printed, first attempt kept at %v", ja, t1)
	}
	if jb.State != outbox.PrintPending || !jb.StartedAt.Equal(t2) {
		t.Errorf("started job %+v: want pending, started at %v", jb, t2)
	}
	if got, _ := s.Get(ctx, a.ID); got.Print != outbox.PrintPrinted {
		t.Errorf("invoice %s print %s, want printed", a.ID, got.Print)
	}
	// A later attempt keeps the first attempt's time; a printed job stays.
	if err := s.RecordPrint(ctx, []string{a.PrintJobID}, b.PrintJobID, t2.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if jb := job(t, s, b.PrintJobID); !jb.StartedAt.Equal(t2) {
		t.Errorf("StartedAt moved to %v, want the first attempt %v", jb.StartedAt, t2)
	}
	// A failed job that then printed goes failed -> pending -> printed.
	if err := s.MarkPrintFailed(ctx, b.PrintJobID, "paper_out"); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordPrint(ctx, []string{b.PrintJobID}, "", t2); err != nil {
		t.Fatal(err)
	}
	inv, _ := s.Get(ctx, b.ID)
	var what []string
	for _, e := range inv.Events {
		what = append(what, e.What)
	}
	if inv.Print != outbox.PrintPrinted || !slices.Contains(what, "print retry (job "+b.PrintJobID+")") {
		t.Errorf("failed then printed: print %s, events %q", inv.Print, what)
	}
}

func TestRecordPrintRefusals(t *testing.T) {
	s := outboxtest.MustOpen(t, nil)
	a := mustIssue(t, s, outboxtest.Request("a", t0))
	b := mustIssue(t, s, outboxtest.Request("b", t0))
	c := mustIssue(t, s, outboxtest.Request("c", t0))
	if err := s.MarkPrinted(ctx, a.PrintJobID); err != nil {
		t.Fatal(err)
	}
	if err := s.SettlePrints(ctx, []string{b.PrintJobID}, nil, t0); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		printed []string
		started string
		want    error
	}{
		{"start a printed job", nil, a.PrintJobID, outbox.ErrIllegalTransition},
		{"start an uncertain job", nil, b.PrintJobID, outbox.ErrIllegalTransition},
		{"print an uncertain job", []string{b.PrintJobID}, c.PrintJobID, outbox.ErrIllegalTransition},
		{"unknown job", []string{"0000000099"}, c.PrintJobID, outbox.ErrNotFound},
		{"bad id", nil, "x", outbox.ErrInvalidID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.RecordPrint(ctx, tt.printed, tt.started, t0); !errors.Is(err, tt.want) {
				t.Fatalf("RecordPrint = %v, want %v", err, tt.want)
			}
			// One transaction: the next job's start is not recorded either.
			if j := job(t, s, c.PrintJobID); j.Started() {
				t.Errorf("job %s started by a refused call: %+v", c.PrintJobID, j)
			}
		})
	}
}

// TestRecordPrintKeepsCallerSlice: a printed list with spare capacity (a
// prefix of the caller's slice) is read, never written into.
func TestRecordPrintKeepsCallerSlice(t *testing.T) {
	s := outboxtest.MustOpen(t, nil)
	a := mustIssue(t, s, outboxtest.Request("a", t0))
	b := mustIssue(t, s, outboxtest.Request("b", t0))
	ids := []string{a.PrintJobID, "caller's own"}
	if err := s.RecordPrint(ctx, ids[:1], b.PrintJobID, t0); err != nil {
		t.Fatal(err)
	}
	if got, want := ids[1], "caller's own"; got != want {
		t.Errorf("RecordPrint wrote into the caller's slice: ids[1] = %q, want %q", got, want)
	}
}

// TestSettlePrints parks and repeats jobs a restart found, and settles an
// uncertain receipt with a printed duplicate.
func TestSettlePrints(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	s, err := outbox.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	never := mustIssue(t, s, outboxtest.Request("never", t0))   // parked: never tried
	tried := mustIssue(t, s, outboxtest.Request("tried", t0))   // parked: may have printed
	young := mustIssue(t, s, outboxtest.Request("young", t0))   // repeated
	failed := mustIssue(t, s, outboxtest.Request("failed", t0)) // repeated from failed
	first := t0.Add(3 * time.Second)
	for _, inv := range []*outbox.Invoice{tried, young, failed} {
		if err := s.RecordPrint(ctx, nil, inv.PrintJobID, first); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.MarkPrintFailed(ctx, failed.PrintJobID, "paper_out"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = outbox.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n := len(s.Recovered().PrintJob); n != 4 {
		t.Fatalf("Recovered().PrintJob = %d jobs, want 4", n)
	}
	now := t0.Add(10 * time.Minute)
	if err := s.SettlePrints(ctx, []string{never.PrintJobID, tried.PrintJobID}, []string{young.PrintJobID, failed.PrintJobID}, now); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		inv    *outbox.Invoice
		state  outbox.PrintState
		repeat bool
		event  string
	}{
		{never, outbox.PrintUncertain, false, "never tried, requested 2026-11-20 11:00:00"},
		{tried, outbox.PrintUncertain, false, "may have reached the paper, first tried 2026-11-20 11:00:03"},
		{young, outbox.PrintPending, true, "print repeated after a restart"},
		{failed, outbox.PrintPending, true, "print repeated after a restart"},
	} {
		j := job(t, s, tt.inv.PrintJobID)
		got, _ := s.Get(ctx, tt.inv.ID)
		if j.State != tt.state || got.Print != tt.state || j.Repeat != tt.repeat {
			t.Errorf("%s: job %s repeat %v, invoice %s; want %s repeat %v", tt.inv.SaleID, j.State, j.Repeat, got.Print, tt.state, tt.repeat)
		}
		if ev := lastEvent(t, s, tt.inv.ID); !strings.Contains(ev, tt.event) {
			t.Errorf("%s: last event %q, want it to say %q", tt.inv.SaleID, ev, tt.event)
		}
	}
	st, err := s.Stats(ctx, now)
	if err != nil || st.Uncertain != 2 || st.Print[outbox.PrintUncertain] != 2 || st.Print[outbox.PrintPending] != 2 {
		t.Fatalf("Stats = %+v, %v; want 2 uncertain receipts and jobs, 2 pending", st, err)
	}
	list, err := s.List(ctx, outbox.Filter{Print: outbox.PrintUncertain})
	if err != nil || len(list) != 2 || list[0].ID != never.ID || list[1].ID != tried.ID {
		t.Fatalf("List(uncertain) = %v, %v", ids(list), err)
	}
	pending, err := s.PrintJobs(ctx, 0)
	if err != nil || len(pending) != 2 || pending[0].ID != young.PrintJobID || pending[1].ID != failed.PrintJobID {
		t.Fatalf("PrintJobs(0) = %+v, %v; want the two repeated jobs", pending, err)
	}

	// An explicit reprint of an uncertain receipt prints a duplicate; once it
	// is out the invoice shows printed, while its original job stays uncertain.
	dup, err := s.Reprint(ctx, tried.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(ctx, tried.ID); got.Print != outbox.PrintUncertain {
		t.Errorf("with its duplicate pending the invoice shows %s, want uncertain", got.Print)
	}
	if err := s.RecordPrint(ctx, []string{dup.ID}, "", now); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Get(ctx, tried.ID)
	if got.Print != outbox.PrintPrinted || job(t, s, tried.PrintJobID).State != outbox.PrintUncertain {
		t.Errorf("after the duplicate printed: invoice %s, original job %s; want printed, uncertain", got.Print, job(t, s, tried.PrintJobID).State)
	}
	if st, _ := s.Stats(ctx, now); st.Uncertain != 1 {
		t.Errorf("Stats.Uncertain = %d after one was settled, want 1", st.Uncertain)
	}
	if err := s.Check(ctx); err != nil {
		t.Errorf("Check() = %v", err)
	}
	// A parked job is no unfinished work for the next run.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = outbox.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(s.Recovered().PrintJob); n != 2 {
		t.Errorf("Recovered().PrintJob = %d after settling, want the 2 repeated", n)
	}
	if err := s.SettlePrints(ctx, nil, []string{never.PrintJobID}, now); !errors.Is(err, outbox.ErrIllegalTransition) {
		t.Errorf("repeat of an uncertain job = %v, want ErrIllegalTransition", err)
	}
}

// TestIssuePrintStarted: a receipt handed to an idle printer at once is
// recorded started by its issue transaction, and the journal's start mark
// then finds nothing to write.
func TestIssuePrintStarted(t *testing.T) {
	s := outboxtest.MustOpen(t, nil)
	req := outboxtest.Request("now", t0)
	build := req.Build
	req.Build = func(n string) (*outbox.Built, error) {
		b, err := build(n)
		if err == nil {
			b.PrintStarted = true
		}
		return b, err
	}
	inv := mustIssue(t, s, req)
	plain := mustIssue(t, s, outboxtest.Request("later", t0))
	if j := job(t, s, inv.PrintJobID); !j.StartedAt.Equal(t0) || j.State != outbox.PrintPending {
		t.Errorf("job issued started: %+v, want pending, started at the issue time %v", j, t0)
	}
	if j := job(t, s, plain.PrintJobID); j.Started() {
		t.Errorf("job issued without PrintStarted is started: %+v", j)
	}
	if err := s.RecordPrint(ctx, nil, inv.PrintJobID, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if j := job(t, s, inv.PrintJobID); !j.StartedAt.Equal(t0) {
		t.Errorf("StartedAt %v after the journal's start mark, want the issue's %v", j.StartedAt, t0)
	}
}
