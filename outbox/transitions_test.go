package outbox_test

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/posagent/posagent/outbox"
	"github.com/posagent/posagent/outbox/outboxtest"
)

// inState issues an invoice and drives it to the upload state st.
func inState(t *testing.T, s *outbox.Store, sale string, st outbox.UploadState) *outbox.Invoice {
	t.Helper()
	inv := mustIssue(t, s, outboxtest.Request(sale, t0))
	var err error
	switch st {
	case outbox.UploadQueued:
	case outbox.UploadBlocked:
		req := outboxtest.Request(sale+"-kor", t0)
		req.CorrectionOf = inv.ID
		inv = mustIssue(t, s, req)
	default:
		err = s.MarkSending(ctx, inv.ID, "SES")
		switch st {
		case outbox.UploadAccepted:
			err = errors.Join(err, s.MarkAccepted(ctx, inv.ID, outbox.Acceptance{KSeFNumber: "K-" + inv.ID}))
		case outbox.UploadRejected:
			err = errors.Join(err, s.MarkRejected(ctx, inv.ID, "450", "schema error"))
		}
	}
	if err != nil {
		t.Fatalf("drive %s to %s: %v", sale, st, err)
	}
	got, err := s.Get(ctx, inv.ID)
	if err != nil || got.Upload != st {
		t.Fatalf("invoice %s in %v, want %s (%v)", inv.ID, got.Upload, st, err)
	}
	return got
}

func TestUploadTransitions(t *testing.T) {
	ops := []struct {
		name  string
		legal outbox.UploadState // the one state the operation is allowed from
		do    func(s *outbox.Store, id string) error
	}{
		{"MarkSending", outbox.UploadQueued, func(s *outbox.Store, id string) error { return s.MarkSending(ctx, id, "SES-2") }},
		{"SetInvoiceRef", outbox.UploadSending, func(s *outbox.Store, id string) error { return s.SetInvoiceRef(ctx, id, "REF") }},
		{"MarkAccepted", outbox.UploadSending, func(s *outbox.Store, id string) error {
			return s.MarkAccepted(ctx, id, outbox.Acceptance{KSeFNumber: "K"})
		}},
		{"MarkRejected", outbox.UploadSending, func(s *outbox.Store, id string) error { return s.MarkRejected(ctx, id, "450", "bad") }},
		{"Retry", outbox.UploadSending, func(s *outbox.Store, id string) error { return s.Retry(ctx, id, t0.Add(time.Minute), "429") }},
		{"AttachUPO", outbox.UploadAccepted, func(s *outbox.Store, id string) error { return s.AttachUPO(ctx, id, []byte("<UPO/>")) }},
		{"TechnicalCorrection", outbox.UploadRejected, func(s *outbox.Store, id string) error {
			_, err := s.TechnicalCorrection(ctx, id, t0, outboxtest.Build(10, time.Time{}))
			return err
		}},
	}
	states := []outbox.UploadState{outbox.UploadQueued, outbox.UploadSending, outbox.UploadAccepted, outbox.UploadRejected, outbox.UploadBlocked}
	s := outboxtest.MustOpen(t, nil)
	for _, op := range ops {
		for _, st := range states {
			t.Run(op.name+"/"+string(st), func(t *testing.T) {
				inv := inState(t, s, op.name+string(st), st)
				err := op.do(s, inv.ID)
				if st == op.legal {
					if err != nil {
						t.Fatalf("%s from %s = %v, want nil", op.name, st, err)
					}
					return
				}
				var te *outbox.TransitionError
				if !errors.As(err, &te) || !errors.Is(err, outbox.ErrIllegalTransition) || te.From != string(st) || te.ID != inv.ID {
					t.Fatalf("%s from %s = %v, want *TransitionError from %s", op.name, st, err, st)
				}
				if after, _ := s.Get(ctx, inv.ID); !reflect.DeepEqual(after, inv) {
					t.Errorf("illegal %s changed the record", op.name)
				}
			})
		}
	}
}

func TestPrintTransitions(t *testing.T) {
	ops := map[string]func(s *outbox.Store, job string) error{
		"printed": func(s *outbox.Store, j string) error { return s.MarkPrinted(ctx, j) },
		"failed":  func(s *outbox.Store, j string) error { return s.MarkPrintFailed(ctx, j, "paper_out") },
		"pending": func(s *outbox.Store, j string) error { return s.RetryPrint(ctx, j) },
		// Only a restart parks a job (SettlePrints), and nothing leaves uncertain.
		"uncertain": func(s *outbox.Store, j string) error { return s.SettlePrints(ctx, []string{j}, nil, t0) },
	}
	legal := map[[2]string]bool{{"pending", "printed"}: true, {"pending", "failed"}: true, {"failed", "pending"}: true,
		{"pending", "uncertain"}: true, {"failed", "uncertain"}: true}
	s := outboxtest.MustOpen(t, nil)
	i := 0
	for _, from := range []string{"pending", "printed", "failed", "uncertain"} {
		for to, do := range ops {
			t.Run(from+"->"+to, func(t *testing.T) {
				i++
				inv := mustIssue(t, s, outboxtest.Request(fmt.Sprintf("p%d", i), t0))
				if from != "pending" {
					if err := ops[from](s, inv.PrintJobID); err != nil {
						t.Fatal(err)
					}
				}
				err := do(s, inv.PrintJobID)
				got, _ := s.Get(ctx, inv.ID)
				if legal[[2]string{from, to}] {
					if err != nil || string(got.Print) != to {
						t.Fatalf("%s -> %s = %v, print state %s", from, to, err, got.Print)
					}
					return
				}
				var te *outbox.TransitionError
				if !errors.As(err, &te) || te.Machine != "print" || te.From != from || te.To != to {
					t.Fatalf("%s -> %s = %v, want *TransitionError", from, to, err)
				}
				if string(got.Print) != from {
					t.Errorf("print state %s after an illegal move, want %s", got.Print, from)
				}
			})
		}
	}
	if err := s.MarkPrinted(ctx, "0000009999"); !errors.Is(err, outbox.ErrNotFound) {
		t.Errorf("MarkPrinted(missing) = %v, want ErrNotFound", err)
	}
}

func TestReprint(t *testing.T) {
	s := outboxtest.MustOpen(t, &outbox.Options{Now: clock(t0.Add(time.Hour))})
	inv := mustIssue(t, s, outboxtest.Request("r", t0))
	if err := s.MarkPrinted(ctx, inv.PrintJobID); err != nil {
		t.Fatal(err)
	}
	j1, err := s.Reprint(ctx, inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	j2, err := s.Reprint(ctx, inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !j1.Duplicate || j1.State != outbox.PrintPending || j1.InvoiceID != inv.ID || j1.ID == j2.ID {
		t.Errorf("Reprint() = %+v, %+v", j1, j2)
	}
	got, _ := s.Get(ctx, inv.ID)
	want := []outbox.Reprint{{JobID: j1.ID, At: t0.Add(time.Hour)}, {JobID: j2.ID, At: t0.Add(time.Hour)}}
	if !reflect.DeepEqual(got.Reprints, want) || got.Print != outbox.PrintPrinted {
		t.Errorf("Reprints = %+v, print %s; want %+v, printed", got.Reprints, got.Print, want)
	}
	jobs, _ := s.PrintJobs(ctx, 10)
	if len(jobs) != 2 || jobs[0].ID != j1.ID || jobs[1].ID != j2.ID {
		t.Errorf("PrintJobs() = %+v, want the two duplicates in order", jobs)
	}
	if err := s.MarkPrinted(ctx, j1.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(ctx, inv.ID); got.Print != outbox.PrintPrinted || len(got.Events) == 0 {
		t.Errorf("after duplicate printed: %+v", got)
	}
}

func TestCorrectionBlockedAndReleasedInOrder(t *testing.T) {
	s := outboxtest.MustOpen(t, nil)
	orig := mustIssue(t, s, outboxtest.Request("orig", t0))
	var kors []*outbox.Invoice
	for i := range 3 {
		req := outboxtest.Request(fmt.Sprintf("kor%d", i), t0)
		req.CorrectionOf = orig.ID
		kor := mustIssue(t, s, req)
		if kor.Upload != outbox.UploadBlocked || kor.CorrectionOf != orig.ID {
			t.Fatalf("KOR %d: upload %s, correction of %q", i, kor.Upload, kor.CorrectionOf)
		}
		kors = append(kors, kor)
	}
	pending, _ := s.PendingUploads(ctx, 10)
	if len(pending) != 1 || pending[0].ID != orig.ID {
		t.Fatalf("PendingUploads() with blocked corrections = %v, want only the original", ids(pending))
	}
	if err := s.MarkSending(ctx, kors[0].ID, "S"); !errors.Is(err, outbox.ErrIllegalTransition) {
		t.Errorf("sending a blocked correction = %v, want ErrIllegalTransition", err)
	}
	if err := s.MarkSending(ctx, orig.ID, "S"); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkAccepted(ctx, orig.ID, outbox.Acceptance{KSeFNumber: "K1"}); err != nil {
		t.Fatal(err)
	}
	pending, _ = s.PendingUploads(ctx, 10)
	if got, want := ids(pending), ids(derefs(kors)); !reflect.DeepEqual(got, want) {
		t.Errorf("released = %v, want %v in order", got, want)
	}
	o, _ := s.Get(ctx, orig.ID)
	if !reflect.DeepEqual(o.Corrections, ids(derefs(kors))) {
		t.Errorf("original's Corrections = %v", o.Corrections)
	}
	// A correction of an accepted invoice is queued at once.
	req := outboxtest.Request("kor-late", t0)
	req.CorrectionOf = orig.ID
	if kor := mustIssue(t, s, req); kor.Upload != outbox.UploadQueued {
		t.Errorf("correction of an accepted invoice: %s, want queued", kor.Upload)
	}
}

func TestTechnicalCorrection(t *testing.T) {
	s := outboxtest.MustOpen(t, nil)
	bad := inState(t, s, "bad", outbox.UploadRejected)
	req := outboxtest.Request("kor", t0)
	req.CorrectionOf = bad.ID
	kor := mustIssue(t, s, req)
	if kor.Upload != outbox.UploadBlocked {
		t.Fatalf("KOR of a rejected invoice: %s, want blocked", kor.Upload)
	}
	fix, err := s.TechnicalCorrection(ctx, bad.ID, t0, outboxtest.Build(8, t0.Add(time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	if fix.Number != bad.Number || fix.TechnicalCorrectionOf != bad.ID || fix.HashOfCorrected != bad.Hash || fix.Upload != outbox.UploadQueued || fix.PrintJobID != "" {
		t.Errorf("TechnicalCorrection() = %+v", fix)
	}
	if got, _ := s.Get(ctx, bad.ID); got.CorrectedBy != fix.ID || got.Upload != outbox.UploadRejected {
		t.Errorf("rejected original: corrected by %q, upload %s", got.CorrectedBy, got.Upload)
	}
	if got, _ := s.ByNumber(ctx, bad.Number); got.ID != fix.ID {
		t.Errorf("ByNumber after technical correction = %s, want %s", got.ID, fix.ID)
	}
	if _, err := s.TechnicalCorrection(ctx, bad.ID, t0, outboxtest.Build(8, time.Time{})); !errors.Is(err, outbox.ErrIllegalTransition) {
		t.Errorf("second technical correction = %v, want ErrIllegalTransition", err)
	}
	// Accepting the technical correction releases the KOR of the rejected original.
	if err := s.MarkSending(ctx, fix.ID, "S"); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkAccepted(ctx, fix.ID, outbox.Acceptance{KSeFNumber: "K-FIX"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(ctx, kor.ID); got.Upload != outbox.UploadQueued {
		t.Errorf("KOR after the technical correction was accepted: %s, want queued", got.Upload)
	}
}

func TestQueueOrderAndNotBefore(t *testing.T) {
	s := outboxtest.MustOpen(t, nil)
	deadlines := []time.Duration{5 * time.Hour, time.Hour, 0, time.Hour, 3 * time.Hour}
	var invs []*outbox.Invoice
	for i, d := range deadlines {
		req := outboxtest.Request(fmt.Sprintf("q%d", i), t0)
		dl := time.Time{}
		if d != 0 {
			dl = t0.Add(d)
		}
		req.Build = outboxtest.Build(8, dl)
		invs = append(invs, mustIssue(t, s, req))
	}
	pending, err := s.PendingUploads(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{invs[1].ID, invs[3].ID, invs[4].ID, invs[0].ID, invs[2].ID}
	if got := ids(pending); !reflect.DeepEqual(got, want) {
		t.Errorf("PendingUploads() = %v, want %v (earliest deadline first, none last)", got, want)
	}
	if len(pending[0].XML) == 0 {
		t.Errorf("PendingUploads() without XML")
	}
	if p, _ := s.PendingUploads(ctx, 2); len(p) != 2 {
		t.Errorf("PendingUploads(2) returned %d", len(p))
	}
	// A 429 with Retry-After: persisted, and honoured by DueUploads.
	if err := s.MarkSending(ctx, invs[1].ID, "S"); err != nil {
		t.Fatal(err)
	}
	if err := s.Retry(ctx, invs[1].ID, t0.Add(30*time.Minute), "429"); err != nil {
		t.Fatal(err)
	}
	due, _ := s.DueUploads(ctx, t0, 10)
	if got, want := ids(due), []string{invs[3].ID, invs[4].ID, invs[0].ID, invs[2].ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("DueUploads(t0) = %v, want %v", got, want)
	}
	due, _ = s.DueUploads(ctx, t0.Add(30*time.Minute), 10)
	if len(due) != 5 || due[0].ID != invs[1].ID || due[0].Attempts != 1 || !due[0].NotBefore.Equal(t0.Add(30*time.Minute)) {
		t.Errorf("DueUploads(t0+30m) = %v", ids(due))
	}
	if _, err := s.PendingUploads(ctx, 0); !errors.Is(err, outbox.ErrInvalidRequest) {
		t.Errorf("PendingUploads(0) = %v", err)
	}
}

func TestListAndStats(t *testing.T) {
	s := outboxtest.MustOpen(t, nil)
	a := inState(t, s, "a", outbox.UploadAccepted)
	r := inState(t, s, "r", outbox.UploadRejected)
	q := inState(t, s, "q", outbox.UploadQueued)
	if err := s.MarkPrinted(ctx, a.PrintJobID); err != nil {
		t.Fatal(err)
	}
	list, err := s.List(ctx, outbox.Filter{Upload: outbox.UploadQueued})
	if err != nil || !reflect.DeepEqual(ids(list), []string{q.ID}) || list[0].XML != nil {
		t.Errorf("List(queued) = %v, %v", ids(list), err)
	}
	list, _ = s.List(ctx, outbox.Filter{After: a.ID, Limit: 1})
	if !reflect.DeepEqual(ids(list), []string{r.ID}) {
		t.Errorf("List(after %s, 1) = %v", a.ID, ids(list))
	}
	list, _ = s.List(ctx, outbox.Filter{Print: outbox.PrintPrinted})
	if !reflect.DeepEqual(ids(list), []string{a.ID}) {
		t.Errorf("List(printed) = %v", ids(list))
	}
	st, err := s.Stats(ctx, t0.Add(72*time.Hour)) // past every deadline (t0+48h)
	if err != nil {
		t.Fatal(err)
	}
	wantUp := map[outbox.UploadState]int{outbox.UploadAccepted: 1, outbox.UploadRejected: 1, outbox.UploadQueued: 1}
	if !reflect.DeepEqual(st.Upload, wantUp) || st.Print[outbox.PrintPending] != 2 || st.Print[outbox.PrintPrinted] != 1 {
		t.Errorf("Stats counts = %v, %v", st.Upload, st.Print)
	}
	if len(st.Overdue) != 2 || st.Overdue[0].Gross != 12300 || st.Overdue[0].VAT != 2300 || !st.EarliestDeadline.Equal(t0.Add(48*time.Hour)) {
		t.Errorf("Stats overdue = %+v, earliest %s", st.Overdue, st.EarliestDeadline)
	}
	if st, _ := s.Stats(ctx, t0); len(st.Overdue) != 0 {
		t.Errorf("Stats(t0) overdue = %+v, want none", st.Overdue)
	}
}

func ids(invs []outbox.Invoice) []string {
	out := []string{}
	for _, inv := range invs {
		out = append(out, inv.ID)
	}
	return out
}

func derefs(p []*outbox.Invoice) []outbox.Invoice {
	var out []outbox.Invoice
	for _, inv := range p {
		out = append(out, *inv)
	}
	return out
}
