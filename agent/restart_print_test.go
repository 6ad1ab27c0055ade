package agent_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/internal/metrics"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/outbox"
	"github.com/posagent/posagent/printer"
	"github.com/posagent/posagent/receipt"
)

// TestRestartPrintRules runs the restart rule of issue 16 over receipts two
// crashed runs left: by age (the agent's clock) and by whether the print was
// ever tried, each is printed as an original, printed again marked PONOWNY
// WYDRUK, or parked uncertain; whatever their age, a duplicate asked for
// still prints and a B2B receipt held for KSeF keeps waiting.
func TestRestartPrintRules(t *testing.T) {
	e := newEnv(t, nil)
	e.Down() // nothing accepted: the B2B receipt stays held
	hold := func(o *agent.Options) { o.B2BOffline = agent.B2BHold }

	// Run 1, without the paper: a is tried (and refused), b and e wait
	// behind it, e's duplicate too; f is held for KSeF.
	x := e.start(hold, false)
	x.vp.SetFaults(printer.Faults{PaperOut: true})
	a := x.issue("a", consumerSale())
	// a went to an idle printer, so its issue recorded it started; the
	// sales after it wait behind it and are not.
	waitFor(t, "a at the printer", 0, func() bool { return x.prn.State().Printing != "" })
	b := x.issue("b", consumerSale())
	eInv := x.issue("e", consumerSale())
	if _, err := x.agent.Reprint(context.Background(), eInv.ID); err != nil {
		t.Fatal(err)
	}
	f := x.issue("f", b2bSale())
	waitFor(t, "a tried", 0, func() bool { return job(t, x.store, x.get(a.ID).PrintJobID).Started() })
	x.stop()

	// Run 2, three minutes later and still without paper: c is tried, d waits.
	e.clock.Add(3 * time.Minute)
	y := e.start(hold, false)
	y.vp.SetFaults(printer.Faults{PaperOut: true})
	c := y.issue("c", consumerSale())
	waitFor(t, "c at the printer", 0, func() bool { return y.prn.State().Printing != "" })
	d := y.issue("d", consumerSale())
	waitFor(t, "c tried", 0, func() bool { return job(t, y.store, y.get(c.ID).PrintJobID).Started() })
	cFirst := job(t, y.store, y.get(c.ID).PrintJobID).StartedAt
	y.stop()

	// Run 3, 30 s later, with paper: a and b are over the 2-minute window.
	e.clock.Add(30 * time.Second)
	reg := metrics.NewRegistry()
	z := e.start(func(o *agent.Options) { hold(o); o.Metrics = reg }, true)
	for _, id := range []string{c.ID, d.ID, eInv.ID} {
		waitFor(t, id+" printed", 0, func() bool { return z.get(id).Print == outbox.PrintPrinted })
	}
	for _, tt := range []struct {
		name  string
		id    string
		print outbox.PrintState
	}{
		{"a, tried 3.5 min ago", a.ID, outbox.PrintUncertain},
		{"b, never tried, 3.5 min old", b.ID, outbox.PrintUncertain},
		{"c, tried 30 s ago", c.ID, outbox.PrintPrinted},
		{"d, never tried, 30 s old", d.ID, outbox.PrintPrinted},
		{"e, settled by its duplicate", eInv.ID, outbox.PrintPrinted},
		{"f, held for KSeF", f.ID, outbox.PrintPending},
	} {
		if got := z.get(tt.id).Print; got != tt.print {
			t.Errorf("%s: print %s, want %s", tt.name, got, tt.print)
		}
	}
	if j := job(t, z.store, z.get(eInv.ID).PrintJobID); j.State != outbox.PrintUncertain {
		t.Errorf("e's original job %s, want uncertain (its duplicate settled the invoice)", j.State)
	}

	// What came out in run 3: c marked with its first attempt, d and the
	// duplicate of e plain originals of their kind, nothing of a and b.
	printed := map[string]string{}
	for _, j := range z.prn.Jobs() {
		printed[j.ID] = z.decode(j).Text
	}
	mark := cFirst.In(ksef.Warsaw).Format("2006-01-02 15:04:05")
	if txt := printed[z.get(c.ID).PrintJobID]; !strings.Contains(txt, receipt.MarkRepeat) || !strings.Contains(txt, mark) {
		t.Errorf("c's receipt lacks %q with its first attempt %s:\n%s", receipt.MarkRepeat, mark, txt)
	}
	if txt := printed[z.get(d.ID).PrintJobID]; strings.Contains(txt, receipt.MarkRepeat) || strings.Contains(txt, receipt.MarkDuplicate) || txt == "" {
		t.Errorf("d's receipt is not a plain original:\n%s", txt)
	}
	dup := z.get(eInv.ID).Reprints[0].JobID
	if txt := printed[dup]; !strings.HasPrefix(strings.TrimSpace(txt), receipt.MarkDuplicate) {
		t.Errorf("e's duplicate does not start with %s:\n%s", receipt.MarkDuplicate, txt)
	}
	for _, id := range []string{a.ID, b.ID, f.ID} {
		if _, ok := printed[z.get(id).PrintJobID]; ok {
			t.Errorf("invoice %s printed in run 3", id)
		}
	}

	// The till sees them: state filter, view, status, metrics.
	ctx := context.Background()
	list, err := z.agent.Invoices(ctx, agent.Filter{State: "print:uncertain"})
	if err != nil || len(list) != 2 || list[0].ID != a.ID || list[1].ID != b.ID {
		t.Fatalf("Invoices(print:uncertain) = %v, %v; want a and b", list, err)
	}
	if list[0].PrintFirstAttempt.IsZero() || !list[1].PrintFirstAttempt.IsZero() {
		t.Errorf("first attempts: a %v (tried), b %v (never)", list[0].PrintFirstAttempt, list[1].PrintFirstAttempt)
	}
	if v, _ := z.agent.Invoice(ctx, c.ID); !v.PrintRepeated || !v.PrintFirstAttempt.Equal(cFirst) {
		t.Errorf("c's view: repeated %v first attempt %v, want true %v", v.PrintRepeated, v.PrintFirstAttempt, cFirst)
	}
	st, err := z.agent.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Printer.Uncertain != 2 || len(st.Printer.UncertainReceipts) != 2 || st.Printer.UncertainReceipts[0].Number != a.Number {
		t.Errorf("status: %d uncertain, listed %+v", st.Printer.Uncertain, st.Printer.UncertainReceipts)
	}
	// f, held, is the one receipt still to come.
	if st.Printer.Pending != 1 {
		t.Errorf("status printer pending %d, want 1 (the held B2B receipt)", st.Printer.Pending)
	}
	waitFor(t, "gauges", 0, func() bool {
		var sb strings.Builder
		reg.WriteTo(&sb)
		return strings.Contains(sb.String(), "posagent_receipts_uncertain 2") && strings.Contains(sb.String(), "posagent_print_pending 1")
	})

	// An explicit reprint of an uncertain receipt prints a DUPLIKAT and
	// settles it.
	if _, err := z.agent.Reprint(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a settled by its duplicate", 0, func() bool { return z.get(a.ID).Print == outbox.PrintPrinted })
	if st, _ := z.agent.Status(ctx); st.Printer.Uncertain != 1 {
		t.Errorf("uncertain after a's reprint: %d, want 1", st.Printer.Uncertain)
	}
}

// TestLeftoversAtPrinterPace: a restart's leftovers all print, with no cap
// per sweep, fed one at a time so a new sale prints after at most the
// receipt in progress and one leftover; printer.pending is the store's count.
func TestLeftoversAtPrinterPace(t *testing.T) {
	const n = 130 // more than the old sweep's 100 and the worker's queue of 64
	e := newEnv(t, nil)
	x := e.start(nil, true)
	x.vp.SetFaults(printer.Faults{PaperOut: true})
	var ids []string
	for i := range n {
		ids = append(ids, x.issue(fmt.Sprintf("left-%d", i), consumerSale()).ID)
	}
	x.stop()

	// The next run never sweeps on its own (an hour): the first round must
	// take every leftover. The paper is out until a new sale is queued.
	y := e.start(func(o *agent.Options) { o.PrintInterval = time.Hour }, true)
	y.vp.SetFaults(printer.Faults{PaperOut: true})
	waitFor(t, "the first leftover tried", 0, func() bool { return len(y.prn.Jobs()) >= 1 })
	ctx := context.Background()
	st, err := y.agent.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The job tried is pending or failed, by when its refusal is recorded.
	if st.Printer.Pending+st.Print["failed"] != n || st.Printer.Pending < n-1 || st.Printer.Queued > 1 {
		t.Errorf("status: pending %d, failed %d (want the store's %d in all), worker queue %d (want at most 1)",
			st.Printer.Pending, st.Print["failed"], n, st.Printer.Queued)
	}
	fresh := y.issue("fresh", consumerSale())
	y.vp.SetFaults(printer.Faults{})
	for _, id := range append(ids, fresh.ID) {
		waitFor(t, "all printed", 0, func() bool { return y.get(id).Print == outbox.PrintPrinted })
	}
	var order []string
	for _, j := range y.prn.Jobs() {
		order = append(order, j.ID)
	}
	if i := slices.Index(order, y.get(fresh.ID).PrintJobID); i < 0 || i > 2 {
		t.Errorf("the new sale was submitted %d-th of %d, want within the first 3 (one printing, one leftover queued)", i+1, len(order))
	}
	if st, _ := y.agent.Status(ctx); st.Printer.Pending != 0 {
		t.Errorf("pending %d after the drain", st.Printer.Pending)
	}
}

func job(t *testing.T, s *outbox.Store, id string) *outbox.PrintJob {
	t.Helper()
	j, err := s.PrintJob(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}
