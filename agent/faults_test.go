package agent_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/ksef/ksefapi"
	"github.com/posagent/posagent/ksef/ksefsim"
	"github.com/posagent/posagent/outbox"
	"github.com/posagent/posagent/printer"
)

// TestPaperOut: the printer runs out of paper during a sale; the sale
// succeeds, the print is recorded failed, and it comes out after recovery.
func TestPaperOut(t *testing.T) {
	e := newEnv(t, nil)
	x := e.start(nil, true)
	x.vp.SetFaults(printer.Faults{PaperOut: true})
	got := x.issue("paper-1", consumerSale())
	if got.Number == "" {
		t.Fatal("no number")
	}
	waitFor(t, "print failed", 5*time.Second, func() bool { return x.get(got.ID).Print == outbox.PrintFailed })
	// The worker keeps retrying; what it last saw may lag a moment behind
	// the store under load, so the status is awaited, not sampled once.
	var st *agent.Status
	waitFor(t, "status with paper out and the print error", 5*time.Second, func() bool {
		var err error
		if st, err = x.agent.Status(context.Background()); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, e := range st.Errors {
			found = found || (e.Op == "print" && strings.Contains(e.Message, "paper"))
		}
		return st.Printer.PaperOut && found
	})
	x.vp.SetFaults(printer.Faults{})
	waitFor(t, "printed after recovery", 5*time.Second, func() bool { return x.get(got.ID).Print == outbox.PrintPrinted })
	if n := len(x.jobsOf(x.get(got.ID))); n != 1 {
		t.Errorf("%d submissions, want 1 (the worker retries it)", n)
	}
	x.flush(10 * time.Second)
}

// TestPrintRetriedAfterRestart: a print job left failed by a previous run is
// printed by the next one.
func TestPrintRetriedAfterRestart(t *testing.T) {
	e := newEnv(t, nil)
	x := e.start(nil, true)
	x.vp.SetFaults(printer.Faults{PaperOut: true})
	got := x.issue("paper-2", consumerSale())
	waitFor(t, "print failed", 5*time.Second, func() bool { return x.get(got.ID).Print == outbox.PrintFailed })
	x.stop()

	y := e.start(nil, true)
	waitFor(t, "printed after restart", 5*time.Second, func() bool { return y.get(got.ID).Print == outbox.PrintPrinted })
}

// Test5xxHTML: KSeF answers with proxy HTML pages and 503s for a while; the
// scheduler backs off, records the codes and gets everything accepted.
func Test5xxHTML(t *testing.T) {
	e := newEnv(t, nil)
	for _, f := range []ksefsim.Fault{
		{Kind: ksefsim.FaultHTML502, Count: 3, PathPrefix: "/v2"},
		{Kind: ksefsim.Fault503, Count: 2, PathPrefix: "/v2"},
		{Kind: ksefsim.Fault500, Count: 2, PathPrefix: "/v2/sessions"},
	} {
		if err := e.sim.InjectFault(f); err != nil {
			t.Fatal(err)
		}
	}
	x := e.start(nil, true)
	a := x.issue("h-1", consumerSale())
	b := x.issue("h-2", b2bSale())
	x.flush(20 * time.Second)
	for _, id := range []string{a.ID, b.ID} {
		if inv := x.get(id); inv.Upload != outbox.UploadAccepted {
			t.Errorf("%s: %s, want accepted", inv.Number, inv.Upload)
		}
	}
	for _, s := range e.sim.Invoices() {
		if s.Receipts != 1 {
			t.Errorf("%s reached the simulator %d times", s.InvoiceNumber, s.Receipts)
		}
	}
	st, _ := x.agent.Status(context.Background())
	codes := map[string]bool{}
	for _, er := range st.Errors {
		codes[er.Code] = true
	}
	if !codes["502"] {
		t.Errorf("errors %+v lack the 502", st.Errors)
	}
}

// TestRestartMidUpload: the previous run stopped in the middle of uploads,
// leaving records sending in three states; the next run asks KSeF before it
// resends and the simulator sees no duplicates.
func TestRestartMidUpload(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	x := e.start(nil, false) // no scheduler: the test plays the crashed one
	a := x.issue("r-1", consumerSale())
	b := x.issue("r-2", consumerSale())
	c := x.issue("r-3", consumerSale())
	sess, err := e.client.OpenOnline(ctx)
	if err != nil {
		t.Fatal(err)
	}
	send := func(id string, recordRef bool) {
		inv := x.get(id)
		if err := x.store.MarkSending(ctx, id, sess.Reference); err != nil {
			t.Fatal(err)
		}
		ref, err := sess.Send(ctx, inv.XML, ksefapi.SendOptions{OfflineMode: true})
		if err != nil {
			t.Fatal(err)
		}
		if recordRef {
			if err := x.store.SetInvoiceRef(ctx, id, ref); err != nil {
				t.Fatal(err)
			}
		}
	}
	send(a.ID, true)  // sent, reference recorded
	send(b.ID, false) // sent, crash before the reference was recorded
	if err := x.store.MarkSending(ctx, c.ID, sess.Reference); err != nil {
		t.Fatal(err) // marked, crash before the send
	}
	x.stop()

	y := e.start(nil, true)
	if n := len(y.store.Recovered().Sending); n != 3 {
		t.Fatalf("Recovered().Sending = %d, want 3", n)
	}
	y.flush(20 * time.Second)
	sim := simByNumber(e.sim)
	if len(sim) != 3 {
		t.Fatalf("simulator holds %d invoices, want 3", len(sim))
	}
	for _, id := range []string{a.ID, b.ID, c.ID} {
		inv := y.get(id)
		s := sim[inv.Number]
		if inv.Upload != outbox.UploadAccepted || inv.KSeFNumber != s.KSeFNumber {
			t.Errorf("%s: %s %q, want accepted as %q", inv.Number, inv.Upload, inv.KSeFNumber, s.KSeFNumber)
		}
		if s.Receipts != 1 {
			t.Errorf("%s reached the simulator %d times, want 1", inv.Number, s.Receipts)
		}
	}
}

// TestResendDuplicateAccepted: KSeF has the invoice but the agent lost every
// trace of the send (no session); the resend meets a 440 whose original has
// our hash, which counts as accepted with the original KSeF number.
func TestResendDuplicateAccepted(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	x := e.start(nil, false)
	a := x.issue("d-1", consumerSale())
	sess, err := e.client.OpenOnline(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sess.Send(ctx, x.get(a.ID).XML, ksefapi.SendOptions{OfflineMode: true}); err != nil {
		t.Fatal(err)
	}
	if err := x.store.MarkSending(ctx, a.ID, ""); err != nil {
		t.Fatal(err)
	}
	x.stop()
	waitFor(t, "simulator processed", 5*time.Second, func() bool { return len(e.sim.Invoices()) == 1 })

	y := e.start(nil, true)
	y.flush(20 * time.Second)
	inv := y.get(a.ID)
	s := simByNumber(e.sim)[inv.Number]
	if inv.Upload != outbox.UploadAccepted || inv.KSeFNumber != s.KSeFNumber {
		t.Errorf("%s: %s %q, want accepted with the original %q", inv.Number, inv.Upload, inv.KSeFNumber, s.KSeFNumber)
	}
	if s.Receipts != 2 {
		t.Errorf("simulator receipts %d, want 2 (the original and the refused resend)", s.Receipts)
	}
}

// TestTechnicalCorrection: KSeF rejects an invoice whose P_1 lies after its
// acquisition day (the till's clock ran a day ahead); the operator fixes the
// date and the agent re-issues the same number with hashOfCorrectedInvoice.
func TestTechnicalCorrection(t *testing.T) {
	e := newEnv(t, nil)
	if err := e.sim.InjectFault(ksefsim.Fault{Kind: ksefsim.FaultDrop, Count: ksefsim.Forever, PathPrefix: "/v2"}); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(24 * time.Hour)
	x := e.start(nil, true)
	ctx := context.Background()
	bad := x.issue("t-1", consumerSale())
	diff := []ksef.Line{line("Kawa czarna", "-1", "12.30", "23")}
	kor, err := x.agent.Correct(ctx, bad.ID, agent.CorrectionRequest{Key: "t-kor", Reason: "zwrot", Lines: diff})
	if err != nil || kor.Pending == nil {
		t.Fatalf("Correct before the original's KSeF number = %+v, %v; want it pending", kor, err)
	}
	e.sim.ClearFaults()
	waitFor(t, "rejection", 10*time.Second, func() bool { return x.get(bad.ID).Upload == outbox.UploadRejected })
	x.flush(5 * time.Second) // a correction pending on a rejected invoice does not hold Flush
	if got, err := x.agent.Invoice(ctx, bad.ID); err != nil || len(got.PendingCorrections) != 1 || got.PendingCorrections[0] != kor.Pending.ID {
		t.Errorf("the rejected invoice's pending corrections = %v, %v; want %s", got.PendingCorrections, err, kor.Pending.ID)
	}
	rej := x.get(bad.ID)
	if rej.RejectCode != "450" {
		t.Errorf("reject code %q, want 450", rej.RejectCode)
	}
	if _, err := x.agent.Correct(ctx, bad.ID, agent.CorrectionRequest{Key: "c", Lines: consumerSale().Lines}); !errorsIs(err, agent.ErrIllegalState) {
		t.Errorf("Correct(rejected) = %v, want ErrIllegalState", err)
	}
	e.clock.Add(-24 * time.Hour)
	fixed := consumerSale()
	v, err := x.agent.TechnicalCorrection(ctx, bad.ID, fixed)
	if err != nil {
		t.Fatal(err)
	}
	if v.Number != bad.Number || v.TechnicalCorrectionOf != bad.ID {
		t.Errorf("technical correction %+v, want number %s correcting %s", v, bad.Number, bad.ID)
	}
	if _, err := x.agent.TechnicalCorrection(ctx, bad.ID, fixed); !errorsIs(err, agent.ErrIllegalState) {
		t.Errorf("second TechnicalCorrection = %v, want ErrIllegalState", err)
	}
	x.flush(20 * time.Second)
	tc := x.get(v.ID)
	if tc.Upload != outbox.UploadAccepted || tc.HashOfCorrected != rej.Hash {
		t.Errorf("correction %s, hashOfCorrected %v, want accepted with %v", tc.Upload, tc.HashOfCorrected, rej.Hash)
	}
	s := simByNumber(e.sim)[bad.Number]
	if s.Hash != tc.Hash.Base64() || !s.Offline {
		t.Errorf("simulator has %+v, want the corrected file sent offline", s)
	}
	if p1, _ := ksef.ParseDate(tc.P1); p1 != ksef.DateOf(e.clock.Now()) {
		t.Errorf("corrected P_1 %s", tc.P1)
	}
	// The pending correction was issued once the technical correction was
	// accepted, then, on the right day, and names its KSeF number.
	got, err := x.store.BySaleID(ctx, "t-kor")
	if err != nil {
		t.Fatal(err)
	}
	if got.Upload != outbox.UploadAccepted || got.Kind != "KOR" || got.CorrectionOf != bad.ID {
		t.Errorf("the pending correction, issued: %s %s of %s, want an accepted KOR of %s", got.Upload, got.Kind, got.CorrectionOf, bad.ID)
	}
	if !strings.Contains(string(got.XML), "<NrKSeFFaKorygowanej>"+tc.KSeFNumber+"</NrKSeFFaKorygowanej>") {
		t.Error("the correction does not name its original's KSeF number")
	}
	st, err := x.agent.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Overdue) != 0 || st.Backlog != 0 {
		t.Errorf("Status overdue %v backlog %d, want none", st.Overdue, st.Backlog)
	}
}

// TestBatch: a backlog at the threshold goes in one batch session.
func TestBatch(t *testing.T) {
	e := newEnv(t, nil)
	if err := e.sim.InjectFault(ksefsim.Fault{Kind: ksefsim.FaultDrop, Count: ksefsim.Forever, PathPrefix: "/v2"}); err != nil {
		t.Fatal(err)
	}
	x := e.start(func(o *agent.Options) { o.BatchThreshold = 6; o.TempDir = t.TempDir() }, true)
	var ids []string
	for i := range 8 {
		ids = append(ids, x.issue("b-"+string(rune('a'+i)), consumerSale()).ID)
	}
	e.sim.ClearFaults()
	x.flush(30 * time.Second)
	sessions := map[string]int{}
	for _, s := range e.sim.Invoices() {
		sessions[s.SessionReference]++
		if !s.Offline || s.Receipts != 1 {
			t.Errorf("%s: offline %v receipts %d", s.InvoiceNumber, s.Offline, s.Receipts)
		}
	}
	if len(sessions) != 1 {
		t.Errorf("invoices spread over sessions %v, want one batch session", sessions)
	}
	for _, id := range ids {
		if inv := x.get(id); inv.Upload != outbox.UploadAccepted {
			t.Errorf("%s: %s", inv.Number, inv.Upload)
		}
	}
}

// TestSessionFull: KSeF's per-session invoice limit (21155) makes the
// scheduler open a new session and go on.
func TestSessionFull(t *testing.T) {
	e := newEnv(t, &ksefsim.Options{SessionInvoiceLimit: 2})
	if err := e.sim.InjectFault(ksefsim.Fault{Kind: ksefsim.FaultDrop, Count: ksefsim.Forever, PathPrefix: "/v2"}); err != nil {
		t.Fatal(err)
	}
	x := e.start(nil, true)
	for i := range 5 {
		x.issue("sf-"+string(rune('a'+i)), consumerSale())
	}
	e.sim.ClearFaults()
	x.flush(20 * time.Second)
	sessions := map[string]int{}
	for _, s := range e.sim.Invoices() {
		sessions[s.SessionReference]++
	}
	if len(e.sim.Invoices()) != 5 || len(sessions) != 3 {
		t.Errorf("simulator: %d invoices in sessions %v, want 5 in 3 sessions of at most 2", len(e.sim.Invoices()), sessions)
	}
	st, _ := x.agent.Status(context.Background())
	found := false
	for _, er := range st.Errors {
		found = found || er.Code == "21155"
	}
	if !found {
		t.Errorf("errors %+v lack 21155", st.Errors)
	}
}
