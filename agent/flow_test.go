package agent_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/ksef/ksefsim"
	"github.com/posagent/posagent/outbox"
)

// TestOutageThenLinkBack: the link is down (connections dropped), sales of
// every buyer class and a correction are issued offline24 and printed with
// both codes; the link comes back and everything is accepted, the correction
// after its original; a duplicate printed after acceptance carries KOD I
// labelled with the KSeF number and no KOD II.
func TestOutageThenLinkBack(t *testing.T) {
	e := newEnv(t, nil)
	if err := e.sim.InjectFault(ksefsim.Fault{Kind: ksefsim.FaultDrop, Count: ksefsim.Forever, PathPrefix: "/v2"}); err != nil {
		t.Fatal(err)
	}
	x := e.start(nil, true)
	ctx := context.Background()

	sales := []struct {
		key   string
		sale  ksef.Sale
		class string
		kind  string
	}{
		{"s-consumer", consumerSale(), agent.BuyerConsumer, "VAT"},
		{"s-b2b", b2bSale(), agent.BuyerB2B, "VAT"},
		{"s-eu", euSale(), agent.BuyerEU, "VAT"},
		{"s-upr", uprSale(), agent.BuyerB2B, "UPR"},
	}
	var ids []string
	for _, s := range sales {
		got := x.issue(s.key, s.sale)
		if got.Mode != "offline24" || got.KOD2 == "" || got.KOD1Label != agent.LabelOffline {
			t.Errorf("%s: mode %s label %s kod2 %q, want offline24 OFFLINE with KOD II", s.key, got.Mode, got.KOD1Label, got.KOD2)
		}
		if got.BuyerClass != s.class || got.Kind != s.kind {
			t.Errorf("%s: class %s kind %s, want %s %s", s.key, got.BuyerClass, got.Kind, s.class, s.kind)
		}
		if got.Deadline == "" {
			t.Errorf("%s: no deadline", s.key)
		}
		ids = append(ids, got.ID)
	}
	// Corrections wait for the original's KSeF number (tryby-offline.md).
	kor, err := x.agent.Correct(ctx, ids[0], agent.CorrectionRequest{Key: "k-1", Reason: "zwrot towaru", Type: 2,
		Lines: []ksef.Line{line("Drożdżówka", "-1", "4.99", "5")}})
	if err != nil {
		t.Fatal(err)
	}
	if kor.Pending == nil || kor.Pending.Corrects != ids[0] || kor.ID != "" {
		t.Errorf("correction during the outage = %+v, want pending on %s", kor, ids[0])
	}
	kor2, err := x.agent.Correct(ctx, ids[0], agent.CorrectionRequest{Key: "k-2", Reason: "rabat", Type: 2,
		AfterRows: true, Lines: []ksef.Line{line("Kawa czarna", "2", "11.00", "23"), line("Drożdżówka", "1", "4.99", "5")}})
	if err != nil || kor2.Pending == nil {
		t.Fatalf("second correction = %+v, %v", kor2, err)
	}

	// Every receipt printed during the outage: KOD I OFFLINE + KOD II.
	waitFor(t, "offline prints", 10*time.Second, func() bool {
		for _, id := range ids {
			if x.get(id).Print != outbox.PrintPrinted {
				return false
			}
		}
		return true
	})
	for _, id := range ids {
		inv := x.get(id)
		jobs := x.jobsOf(inv)
		if len(jobs) != 1 {
			t.Fatalf("%s: %d jobs printed, want 1", inv.Number, len(jobs))
		}
		d := x.decode(jobs[0])
		if len(d.QR) != 2 {
			t.Fatalf("%s: %d QR codes printed, want 2", inv.Number, len(d.QR))
		}
		checkKOD1(t, d.QR[0], inv)
		if d.QR[1] != inv.KOD2 {
			t.Errorf("%s: printed KOD II differs from the stored one", inv.Number)
		}
		k2, err := ksef.ParseKOD2(d.QR[1])
		if err != nil || k2.Hash != ksef.InvoiceHash(inv.XML) {
			t.Errorf("%s: KOD II %v, hash mismatch", inv.Number, err)
		}
		if err := ksef.VerifyKOD2(d.QR[1], e.Cert.Certificate()); err != nil {
			t.Errorf("%s: KOD II signature: %v", inv.Number, err)
		}
		if !strings.Contains(d.Text, "OFFLINE") || !strings.Contains(d.Text, "CERTYFIKAT") {
			t.Errorf("%s: receipt text lacks OFFLINE/CERTYFIKAT:\n%s", inv.Number, d.Text)
		}
	}
	// A duplicate before acceptance carries both offline codes.
	if _, err := x.agent.Reprint(ctx, ids[2]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "offline duplicate", 5*time.Second, func() bool { return len(x.jobsOf(x.get(ids[2]))) == 2 })
	if d := x.decode(x.jobsOf(x.get(ids[2]))[1]); len(d.QR) != 2 || !strings.Contains(d.Text, "DUPLIKAT") || !strings.Contains(d.Text, "OFFLINE") {
		t.Errorf("offline duplicate: %d codes, text:\n%s", len(d.QR), d.Text)
	}
	// The original printed two correction slips, without codes.
	waitFor(t, "correction slips", 10*time.Second, func() bool {
		o := x.get(ids[0])
		if len(o.Slips) != 2 {
			return false
		}
		for _, sl := range o.Slips {
			if j, err := x.store.PrintJob(ctx, sl.JobID); err != nil || j.State != outbox.PrintPrinted {
				return false
			}
		}
		return true
	})
	if st, err := x.agent.Status(ctx); err != nil || st.Link != "down" || st.Backlog != len(ids) {
		t.Errorf("Status during outage = %+v, %v; want link down, backlog %d", st, err, len(ids))
	}
	if n := len(e.sim.Invoices()); n != 0 {
		t.Fatalf("simulator holds %d invoices during the outage", n)
	}

	e.sim.ClearFaults()
	x.flush(20 * time.Second)
	for _, key := range []string{"k-1", "k-2"} {
		c, err := x.store.BySaleID(ctx, key)
		if err != nil {
			t.Fatalf("correction %s not issued after the original's acceptance: %v", key, err)
		}
		ids = append(ids, c.ID)
	}
	kor.ID, kor2.ID = ids[len(ids)-2], ids[len(ids)-1]

	sim := simByNumber(e.sim)
	order := map[string]int{}
	for i, s := range e.sim.Invoices() {
		order[s.InvoiceNumber] = i
	}
	for _, id := range ids {
		inv := x.get(id)
		if inv.Upload != outbox.UploadAccepted || inv.KSeFNumber == "" || inv.AcquiredAt.IsZero() {
			t.Errorf("%s: %s ksef %q, want accepted with number and acquisition date", inv.Number, inv.Upload, inv.KSeFNumber)
		}
		s, ok := sim[inv.Number]
		switch {
		case !ok:
			t.Errorf("%s: not in the simulator", inv.Number)
		case s.KSeFNumber != inv.KSeFNumber || s.Hash != inv.Hash.Base64() || !s.Offline || s.Receipts != 1:
			t.Errorf("%s: simulator has %+v; want our number, hash, offline, one receipt", inv.Number, s)
		}
		if len(inv.UPO) == 0 {
			t.Errorf("%s: no UPO stored", inv.Number)
		}
	}
	korInv, kor2Inv, orig := x.get(kor.ID), x.get(kor2.ID), x.get(ids[0])
	if order[korInv.Number] < order[orig.Number] || order[kor2Inv.Number] < order[korInv.Number] {
		t.Errorf("KSeF order: original %d, corrections %d and %d; want original first, then the corrections in issue order",
			order[orig.Number], order[korInv.Number], order[kor2Inv.Number])
	}
	if !strings.Contains(string(kor2Inv.XML), "<StanPrzed>1</StanPrzed>") {
		t.Error("the after-rows correction has no before rows")
	}
	for _, c := range []*outbox.Invoice{korInv, kor2Inv} {
		if !strings.Contains(string(c.XML), "<NrKSeF>1</NrKSeF>") || !strings.Contains(string(c.XML), "<NrKSeFFaKorygowanej>"+orig.KSeFNumber+"<") ||
			strings.Contains(string(c.XML), "NrKSeFN") || korInv.Number >= kor2Inv.Number {
			t.Errorf("%s: the correction does not name %s, or the numbers are out of order", c.Number, orig.KSeFNumber)
		}
	}

	// A duplicate after acceptance: KOD I labelled with the KSeF number, no KOD II.
	v, err := x.agent.Reprint(ctx, ids[1])
	if err != nil {
		t.Fatal(err)
	}
	if v.KOD1Label != v.KSeFNumber || v.KOD2 != "" || len(v.Duplicates) != 1 {
		t.Errorf("Reprint view: label %q kod2 %q dups %d", v.KOD1Label, v.KOD2, len(v.Duplicates))
	}
	inv := x.get(ids[1])
	waitFor(t, "duplicate printed", 5*time.Second, func() bool { return len(x.jobsOf(x.get(ids[1]))) == 2 })
	dup := x.decode(x.jobsOf(inv)[1])
	if len(dup.QR) != 1 {
		t.Fatalf("duplicate printed %d QR codes, want 1", len(dup.QR))
	}
	checkKOD1(t, dup.QR[0], inv)
	if !strings.Contains(dup.Text, "DUPLIKAT") || !strings.Contains(dup.Text, inv.KSeFNumber) || strings.Contains(dup.Text, "CERTYFIKAT") {
		t.Errorf("duplicate text:\n%s", dup.Text)
	}
	st, err := x.agent.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Link != "up" || st.Backlog != 0 || st.Upload["accepted"] != len(ids) {
		t.Errorf("Status after = link %s backlog %d upload %v", st.Link, st.Backlog, st.Upload)
	}
}
