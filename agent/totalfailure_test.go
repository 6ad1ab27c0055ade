package agent_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/ksef/ksefsim"
	"github.com/posagent/posagent/outbox"
	"github.com/posagent/posagent/receipt"
)

// TestTotalFailureReceipt: in a total failure the receipt carries no QR code
// at all and says why; once KSeF has the invoice (the operator opted in to
// send it) a duplicate carries KOD I labelled with the KSeF number.
func TestTotalFailureReceipt(t *testing.T) {
	e := newEnv(t, nil)
	if err := e.sim.InjectFault(ksefsim.Fault{Kind: ksefsim.FaultDrop, Count: ksefsim.Forever, PathPrefix: "/v2"}); err != nil {
		t.Fatal(err)
	}
	x := e.start(func(o *agent.Options) { o.UploadTotalFailure = true }, true) // sent after the failure (opt-in)
	ctx := context.Background()
	if err := x.agent.Announce(ctx, agent.Announcement{Mode: "total_failure", Reference: "komunikat MF (test)"}); err != nil {
		t.Fatal(err)
	}
	v := x.issue("tf", consumerSale())
	if v.Mode != "total_failure" || v.KOD1 != "" || v.KOD2 != "" || v.Deadline != "" {
		t.Errorf("total-failure view: mode %s kod1 %q kod2 %q deadline %q, want no codes and no deadline", v.Mode, v.KOD1, v.KOD2, v.Deadline)
	}
	waitFor(t, "print", 20*time.Second, func() bool { return x.get(v.ID).Print == outbox.PrintPrinted })
	d := x.decode(x.jobsOf(x.get(v.ID))[0])
	if len(d.QR) != 0 {
		t.Errorf("total-failure receipt has %d QR codes, want none: %q", len(d.QR), d.QR)
	}
	// The printer's code page has no em dash; the rest prints as given.
	flat := strings.Join(strings.Fields(d.Text), " ")
	for _, want := range []string{strings.ReplaceAll(receipt.NoCodesTotalFailure, "—", "-"), v.Number} {
		if !strings.Contains(flat, want) {
			t.Errorf("receipt lacks %q:\n%s", want, d.Text)
		}
	}
	for _, bad := range []string{agent.LabelOffline, receipt.LabelKOD2} {
		if strings.Contains(d.Text, bad) {
			t.Errorf("receipt prints %q without a code:\n%s", bad, d.Text)
		}
	}

	e.sim.ClearFaults()
	if err := x.agent.SetMode(ctx, agent.OverrideAuto); err != nil {
		t.Fatal(err)
	}
	x.flush(30 * time.Second)
	inv := x.get(v.ID)
	if _, err := x.agent.Reprint(ctx, v.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "duplicate", 20*time.Second, func() bool { return len(x.jobsOf(x.get(v.ID))) == 2 })
	waitFor(t, "duplicate printed", 20*time.Second, func() bool {
		j, err := x.store.PrintJob(ctx, x.get(v.ID).Reprints[0].JobID)
		return err == nil && j.State == outbox.PrintPrinted
	})
	dup := x.decode(x.jobsOf(x.get(v.ID))[1])
	if len(dup.QR) != 1 || !strings.Contains(dup.Text, inv.KSeFNumber) || !strings.Contains(dup.Text, "DUPLIKAT") {
		t.Fatalf("duplicate after acceptance: %d codes, text:\n%s", len(dup.QR), dup.Text)
	}
	checkKOD1(t, dup.QR[0], inv)
}
