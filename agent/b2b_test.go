package agent_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/outbox"
	"github.com/posagent/posagent/printer"
	"github.com/posagent/posagent/receipt"
)

// printedJob waits for the n-th printed job of invoice id and decodes it.
func (x *h) printedJob(id string, n int) decoded {
	x.t.Helper()
	var jobs []printer.Job
	waitFor(x.t, "print of "+id, 10*time.Second, func() bool {
		inv := x.get(id)
		jobs = x.jobsOf(inv)
		return len(jobs) > n && inv.Print == outbox.PrintPrinted
	})
	return x.decode(jobs[n])
}

// isConfirmation reports whether a printed job is a transaction
// confirmation: its title, no invoice title, no QR code.
func isConfirmation(d decoded) bool {
	return strings.Contains(d.Text, receipt.TitleConfirmation) && len(d.QR) == 0 &&
		!strings.Contains(d.Text, receipt.TitleVAT) && !strings.Contains(d.Text, receipt.TitleSimplified)
}

// TestB2BPerMode: what each buyer is handed in each mode under the default
// policy. A Polish NIP buyer gets a transaction confirmation in offline24
// (art. 106nda) and offline (art. 106nh), the invoice with both codes in
// emergency (art. 106nf), the invoice without codes in total failure. So does
// a UPR with a NIP; a VAT-exempt NIP buyer and a consumer get the invoice.
func TestB2BPerMode(t *testing.T) {
	e := newEnv(t, nil)
	e.Down()
	x := e.start(func(o *agent.Options) { o.B2BOffline = "" }, true) // the default
	exempt := b2bSale()
	exempt.Buyer.VATExempt = true
	ctx := context.Background()
	tests := []struct {
		override string
		key      string
		want     string // confirmation, codes (both), nocodes
	}{
		{agent.OverrideOffline24, "o24-b2b", "confirmation"},
		{agent.OverrideOffline24, "o24-upr", "confirmation"},
		{agent.OverrideOffline24, "o24-exempt", "codes"},
		{agent.OverrideOffline24, "o24-consumer", "codes"},
		{agent.OverrideOffline, "off-b2b", "confirmation"},
		{agent.OverrideEmergency, "em-b2b", "codes"},
		{agent.OverrideTotalFailure, "tf-b2b", "nocodes"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			// An override alone changes no legal period (i18): offline,
			// emergency and total failure are announced, with a reference.
			if tt.override == agent.OverrideOffline24 {
				if err := x.agent.SetMode(ctx, tt.override); err != nil {
					t.Fatal(err)
				}
			} else if err := x.agent.Announce(ctx, agent.Announcement{Mode: tt.override, Reference: "BIP MF test"}); err != nil {
				t.Fatal(err)
			}
			sale := b2bSale()
			switch {
			case strings.HasSuffix(tt.key, "upr"):
				sale = uprSale()
			case strings.HasSuffix(tt.key, "exempt"):
				sale = exempt
			case strings.HasSuffix(tt.key, "consumer"):
				sale = consumerSale()
			}
			v := x.issue(tt.key, sale)
			d := x.printedJob(v.ID, 0)
			switch tt.want {
			case "confirmation":
				if !isConfirmation(d) || !strings.Contains(d.Text, "NIP: "+buyerNIP) || !strings.Contains(d.Text, v.Number) || !strings.Contains(d.Text, "KSeF") {
					t.Errorf("%s in %s: want a confirmation naming the invoice, the buyer's NIP and KSeF; printed %d codes:\n%s", tt.key, v.Mode, len(d.QR), d.Text)
				}
				if !v.Confirmation {
					t.Error("the view does not say the buyer got a confirmation")
				}
			case "codes":
				if len(d.QR) != 2 || strings.Contains(d.Text, receipt.TitleConfirmation) || v.Confirmation {
					t.Errorf("%s in %s: %d codes, confirmation %v, want the invoice with both codes:\n%s", tt.key, v.Mode, len(d.QR), v.Confirmation, d.Text)
				}
			case "nocodes":
				if len(d.QR) != 0 || !strings.Contains(d.Text, receipt.TitleVAT) || v.Confirmation {
					t.Errorf("%s in %s: want the invoice without codes:\n%s", tt.key, v.Mode, d.Text)
				}
			}
		})
	}
}

// TestB2BConfirmationThenInvoice: the invoice of a buyer handed a
// confirmation is uploaded ahead of the queue, and once KSeF accepts it it
// prints at once (print_on_acceptance) with KOD I labelled with its KSeF
// number, as the buyer's first copy (no DUPLIKAT). A later reprint is a
// duplicate.
func TestB2BConfirmationThenInvoice(t *testing.T) {
	e := newEnv(t, nil)
	e.Down()
	x := e.start(func(o *agent.Options) { o.B2BOffline, o.PrintOnAcceptance = agent.B2BConfirmation, true }, true)
	var consumers []string
	for _, k := range []string{"c1", "c2", "c3"} {
		consumers = append(consumers, x.issue(k, consumerSale()).ID)
	}
	b2b := x.issue("b2b", b2bSale())
	if d := x.printedJob(b2b.ID, 0); !isConfirmation(d) {
		t.Fatalf("the sale printed:\n%s", d.Text)
	}
	if inv := x.get(b2b.ID); !hasEvent(inv, "upload prioritized", "") {
		t.Errorf("the B2B invoice was not prioritized: %+v", inv.Events)
	}

	e.sim.ClearFaults()
	x.flush(20 * time.Second)
	inv := x.get(b2b.ID)
	got := simByNumber(e.sim)
	if first := e.sim.Invoices()[0]; first.InvoiceNumber != inv.Number {
		t.Errorf("KSeF received %s first, want the B2B invoice %s ahead of the queue", first.InvoiceNumber, inv.Number)
	}
	for _, id := range consumers {
		if c := x.get(id); got[c.Number].Acquired.Before(got[inv.Number].Acquired) {
			t.Errorf("consumer %s reached KSeF before the B2B invoice", c.Number)
		}
	}

	d := x.printedJob(b2b.ID, 1)
	if len(d.QR) != 1 || !strings.Contains(d.Text, inv.KSeFNumber) || !strings.Contains(d.Text, receipt.TitleVAT) {
		t.Fatalf("after acceptance: %d codes, text:\n%s\nwant the invoice with KOD I labelled %s", len(d.QR), d.Text, inv.KSeFNumber)
	}
	checkKOD1(t, d.QR[0], inv)
	if strings.Contains(d.Text, "DUPLIKAT") {
		t.Errorf("the buyer's first invoice is marked DUPLIKAT:\n%s", d.Text)
	}
	if _, err := x.agent.Reprint(context.Background(), b2b.ID); err != nil {
		t.Fatal(err)
	}
	if d := x.printedJob(b2b.ID, 2); !strings.Contains(d.Text, "DUPLIKAT") || len(d.QR) != 1 {
		t.Errorf("a reprint after the invoice: %d codes, text:\n%s\nwant a DUPLIKAT", len(d.QR), d.Text)
	}
}

// TestB2BConfirmationReprint: without print_on_acceptance the invoice waits
// for a reprint; a reprint before acceptance repeats the confirmation (the
// buyer still may not get the invoice), after it prints the invoice.
func TestB2BConfirmationReprint(t *testing.T) {
	e := newEnv(t, nil)
	e.Down()
	x := e.start(func(o *agent.Options) { o.B2BOffline = agent.B2BConfirmation }, true)
	b2b := x.issue("b2b", b2bSale())
	x.printedJob(b2b.ID, 0)
	ctx := context.Background()
	if _, err := x.agent.Reprint(ctx, b2b.ID); err != nil {
		t.Fatal(err)
	}
	if d := x.printedJob(b2b.ID, 1); !isConfirmation(d) {
		t.Errorf("a reprint before acceptance printed an invoice:\n%s", d.Text)
	}
	e.sim.ClearFaults()
	x.flush(20 * time.Second)
	time.Sleep(200 * time.Millisecond) // a few dispatcher rounds: nothing prints on its own
	inv := x.get(b2b.ID)
	if n := len(x.jobsOf(inv)); n != 2 {
		t.Fatalf("%d prints after acceptance without print_on_acceptance, want 2", n)
	}
	if _, err := x.agent.Reprint(ctx, b2b.ID); err != nil {
		t.Fatal(err)
	}
	d := x.printedJob(b2b.ID, 2)
	if len(d.QR) != 1 || !strings.Contains(d.Text, inv.KSeFNumber) || strings.Contains(d.Text, "DUPLIKAT") {
		t.Errorf("reprint after acceptance: %d codes, text:\n%s\nwant the invoice, labelled %s, not a duplicate", len(d.QR), d.Text, inv.KSeFNumber)
	}
}
