package agent

import (
	"testing"
	"time"

	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/outbox"
)

// TestConfirmationDocGolden pins how a B2B invoice issued offline24 maps onto
// the transaction confirmation its buyer is handed, before and after KSeF
// accepts it.
func TestConfirmationDocGolden(t *testing.T) {
	at := time.Date(2027, 1, 4, 10, 0, 0, 0, ksef.Warsaw)
	seller := ksef.Seller{NIP: "5265877635", Name: "Stacja Paliw „Żuraw” Sp. z o.o.",
		Address: ksef.Address{Country: "PL", Line1: "ul. Źródlana 7/3", Line2: "90-001 Łódź"}}
	sale := ksef.Sale{Buyer: ksef.Buyer{Kind: ksef.BuyerNIP, NIP: "7740001454", Name: "Firma Łęczyca S.A.",
		Address: &ksef.Address{Country: "PL", Line1: "ul. Długa 5", Line2: "09-400 Płock"}}, IssueDate: ksef.DateOf(at), Place: "Łódź",
		Lines:   []ksef.Line{{Name: "Olej napędowy ON", Unit: "l", Quantity: ksef.MustParseQuantity("40.5"), UnitPrice: ksef.MustParseAmount("6.49"), VATRate: ksef.Rate23}},
		Payment: &ksef.Payment{Form: ksef.PayCard, Paid: true}}
	inv := ksef.Invoice{Seller: seller, Number: "FV/T1/2027/01/000001", GeneratedAt: at, Sale: sale}
	xml, err := inv.XML()
	if err != nil {
		t.Fatal(err)
	}
	a := &Agent{opts: Options{Now: func() time.Time { return at }, Footer: []string{"Dziękujemy!"}}, inflight: map[string]bool{}}
	snap := &snapshot{V: 1, Invoice: inv, B2B: B2BConfirmation}
	for _, accepted := range []bool{false, true} {
		name := "confirmation-b2b"
		rec := &outbox.Invoice{ID: "0000000001", Number: inv.Number, Mode: "offline24", P1: sale.IssueDate.String(), BuyerClass: BuyerB2B,
			KOD1: ksef.KOD1(ksef.EnvTest, seller.NIP, sale.IssueDate, ksef.InvoiceHash(xml)), KOD2: "https://qr-test.ksef.mf.gov.pl/certificate/…",
			Upload: outbox.UploadQueued, Deadline: ksef.DateOf(at).AddDays(1).End()}
		if accepted {
			name += "-accepted"
			rec.Upload, rec.KSeFNumber, rec.AcceptedAt = outbox.UploadAccepted, ksef.NewKSeFNumber(seller.NIP, at, [6]byte{1, 2, 3}), at.Add(time.Hour)
		}
		job := &outbox.PrintJob{RequestedAt: at}
		if got := a.handoutOf(rec, snap, job); got != handConfirmation {
			t.Fatalf("%s: the original print hands out %d, want a confirmation", name, got)
		}
		c, err := a.confirmationDoc(rec, snap, job)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("receipt.Confirmation does not validate: %v", err)
		}
		goldenJSON(t, "receipt-"+name, c)
	}
}

// TestHandout is the rule table of b2b.go: what each print of an invoice
// carries, by policy, mode, buyer and state.
func TestHandout(t *testing.T) {
	a := &Agent{inflight: map[string]bool{}, opts: Options{OnlineBudget: time.Second}}
	at := time.Date(2027, 1, 4, 10, 0, 0, 0, ksef.Warsaw)
	orig, dup := &outbox.PrintJob{}, &outbox.PrintJob{Duplicate: true}
	tests := []struct {
		name     string
		policy   B2BPolicy
		hold     bool // a snapshot from before the policy, or an unusable Offline certificate
		mode     string
		accepted bool
		job      *outbox.PrintJob
		want     handout
	}{
		{"consumer or exempt", "", false, "offline24", false, orig, handInvoice},
		{"confirmation offline24", B2BConfirmation, false, "offline24", false, orig, handConfirmation},
		{"confirmation offline", B2BConfirmation, false, "offline", false, orig, handConfirmation},
		{"confirmation emergency", B2BConfirmation, false, "emergency", false, orig, handInvoice},
		{"confirmation total failure", B2BConfirmation, false, "total_failure", false, orig, handInvoice},
		{"original after acceptance stays a confirmation", B2BConfirmation, false, "offline24", true, orig, handConfirmation},
		{"reprint before acceptance", B2BConfirmation, false, "offline24", false, dup, handConfirmation},
		{"reprint after acceptance", B2BConfirmation, false, "offline24", true, dup, handInvoice},
		{"online accepted in budget", B2BConfirmation, false, "online", true, orig, handInvoice},
		{"hold offline24", B2BHold, false, "offline24", false, orig, handHeld},
		{"hold accepted", B2BHold, false, "offline24", true, orig, handInvoice},
		{"hold emergency", B2BHold, false, "emergency", false, orig, handInvoice},
		{"old snapshot held", "", true, "offline", false, orig, handHeld},
		{"handover", B2BHandover, false, "offline24", false, orig, handInvoice},
		// An online-first sale past its budget with an Offline certificate
		// that cannot sign: no buyer gets a KOD II that does not verify.
		{"unusable certificate", "", true, "online", false, orig, handHeld},
		{"unusable certificate, handover", B2BHandover, true, "online", false, orig, handHeld},
		{"unusable certificate, handover accepted", B2BHandover, true, "online", true, orig, handInvoice},
		{"unusable certificate, confirmation", B2BConfirmation, true, "online", false, orig, handConfirmation},
	}
	for _, tt := range tests {
		inv := &outbox.Invoice{ID: "1", Mode: tt.mode, IssuedAt: at, Upload: outbox.UploadQueued}
		snap := &snapshot{B2B: tt.policy, Hold: tt.hold, OnlineUntil: at.Add(time.Second)}
		if tt.accepted {
			inv.Upload, inv.AcceptedAt = outbox.UploadAccepted, at.Add(time.Millisecond)
		}
		if got := a.handoutOf(inv, snap, tt.job); got != tt.want {
			t.Errorf("%s: handout %d, want %d", tt.name, got, tt.want)
		}
	}
}
