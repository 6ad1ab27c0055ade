package agent

import (
	"context"
	"fmt"

	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/outbox"
	"github.com/posagent/posagent/receipt"
)

// B2BPolicy is what a domestic business buyer is handed when its invoice is
// issued in offline24 or offline (KSeF unavailability).
//
// The source: such a buyer receives its invoice through KSeF, once it has a
// KSeF number (art. 106gb ust. 4). Offline24 (art. 106nda) and offline during
// an announced unavailability (art. 106nh) therefore do not allow handing a
// domestic B2B buyer the invoice's visualisation; only the failure mode
// (art. 106nf) allows it for every buyer, and a total failure has no KSeF to
// wait for (practitioners on the official tracker, CIRFMF/ksef-api#58; MF's
// answers to DGP, gazetaprawna.pl 2025-12-13: the visualisation of an
// offline24 invoice may be handed over once it has its KSeF number). A buyer
// flagged VAT-exempt (ksef.Buyer.VATExempt) is handed the invoice as a
// consumer is.
type B2BPolicy string

// B2B policies (config policy.b2b_offline).
const (
	// B2BConfirmation prints a transaction confirmation at once (no invoice
	// title, no QR codes); the invoice is uploaded first in the queue and,
	// once KSeF accepts it, printed on reprint, or at once with
	// Options.PrintOnAcceptance. The default.
	B2BConfirmation B2BPolicy = "confirmation"
	// B2BHandover prints the offline invoice with both codes, as for any
	// other buyer: the operator takes the legal risk.
	B2BHandover B2BPolicy = "handover"
	// B2BHold prints nothing until KSeF accepts the invoice, then the
	// invoice with KOD I labelled with its KSeF number.
	B2BHold B2BPolicy = "hold"
)

// handout is what one print of an invoice carries.
type handout int

const (
	handInvoice      handout = iota // the invoice, with the codes of its state
	handConfirmation                // a transaction confirmation
	handHeld                        // nothing yet: wait for KSeF
)

// restrictedMode reports whether a B2B buyer may not be handed an invoice
// issued in this mode before it is in KSeF: offline24 (art. 106nda) and
// offline (art. 106nh); emergency (art. 106nf) and total failure may.
func restrictedMode(mode string) bool {
	return mode == ksef.ModeOffline24.String() || mode == ksef.ModeOffline.String()
}

// handoutOf decides what a print job of inv carries. It depends on the
// policy stored at issue and on the mode the invoice was handed over in
// (effectiveMode, final once the online attempt is over), so a job renders
// the same document however often it is retried; only acceptance turns a
// later print into the invoice. The original job of a confirmation stays a
// confirmation even when it prints after the acceptance: the invoice is a
// print of its own (print_on_acceptance, or a reprint).
func (a *Agent) handoutOf(inv *outbox.Invoice, snap *snapshot, job *outbox.PrintJob) handout {
	accepted := inv.Upload == outbox.UploadAccepted
	policy := snap.B2B
	if snap.Hold && (policy == "" || policy == B2BHandover) {
		// Hold keeps the print until acceptance whatever the mode: an
		// online-first sale whose Offline certificate cannot sign a KOD II
		// that verifies (ksef-api.md §1.2) — a B2B buyer under handover as
		// much as any other buyer — or a B2B invoice stored before the
		// policy existed (those were held in every mode but total failure).
		// Confirmation and hold print no codes, so their own rule stands.
		if accepted || inv.Mode == ksef.ModeTotalFailure.String() {
			return handInvoice
		}
		return handHeld
	}
	if policy == "" || policy == B2BHandover || !restrictedMode(effectiveMode(inv, snap, a.isInflight(inv.ID))) {
		return handInvoice
	}
	switch {
	case policy == B2BHold && !accepted:
		return handHeld
	case policy == B2BConfirmation && (!accepted || job == nil || !job.Duplicate):
		return handConfirmation
	}
	return handInvoice
}

// handedConfirmation reports whether the buyer of inv was handed a
// transaction confirmation instead of the invoice: what its original print
// carries.
func (a *Agent) handedConfirmation(inv *outbox.Invoice, snap *snapshot) bool {
	return a.handoutOf(inv, snap, nil) == handConfirmation
}

// wantsPriority reports whether an invoice is uploaded ahead of the queue:
// its buyer waits for it to be in KSeF.
func wantsPriority(policy B2BPolicy, mode ksef.Mode) bool {
	return (policy == B2BConfirmation || policy == B2BHold) &&
		(mode == ksef.ModeOnline || restrictedMode(mode.String()))
}

// firstInvoicePrint reports whether job is the first print of the invoice
// after a confirmation: the first reprint requested once KSeF accepted it.
// That print is the invoice's first visualisation, not a duplicate.
func firstInvoicePrint(inv *outbox.Invoice, job *outbox.PrintJob) bool {
	if inv.AcceptedAt.IsZero() || job == nil || !job.Duplicate {
		return false
	}
	for _, r := range inv.Reprints {
		if !r.At.Before(inv.AcceptedAt) {
			return r.JobID == job.ID
		}
	}
	return false
}

// printAccepted queues the print of an invoice KSeF has just accepted when
// its buyer was handed a confirmation and PrintOnAcceptance is set. A crash
// between the acceptance and this print loses only the automatic print: the
// invoice stays available through reprint.
func (a *Agent) printAccepted(ctx context.Context, inv *outbox.Invoice) {
	if !a.opts.PrintOnAcceptance || inv.BuyerClass != BuyerB2B {
		return
	}
	rec, err := a.store.GetForPrint(ctx, inv.ID)
	if err != nil {
		a.log.Warn("print on acceptance", "id", inv.ID, "error", err)
		return
	}
	snap, err := decodeSnapshot(rec.Doc)
	if err != nil {
		a.log.Warn("print on acceptance", "id", inv.ID, "error", err)
		return
	}
	if !a.handedConfirmation(rec, snap) {
		return
	}
	job, err := a.store.Reprint(ctx, inv.ID)
	if err != nil {
		a.log.Warn("print on acceptance", "id", inv.ID, "error", err)
		return
	}
	a.log.Info("printing the invoice KSeF accepted after its confirmation", "id", inv.ID, "number", inv.Number, "job", job.ID)
	a.queuePrint(ctx, job.ID)
}

// confirmationDoc maps an invoice onto the transaction confirmation its
// buyer is handed instead of it.
func (a *Agent) confirmationDoc(inv *outbox.Invoice, snap *snapshot, job *outbox.PrintJob) (receipt.Confirmation, error) {
	doc, err := a.receiptDoc(inv, snap, job)
	if err != nil {
		return receipt.Confirmation{}, err
	}
	b := snap.Invoice.Sale.Buyer
	c := receipt.Confirmation{
		SellerName: doc.SellerName, SellerAddress: doc.SellerAddress, SellerNIP: doc.SellerNIP,
		Invoice: doc.Number, Date: doc.Date, Place: doc.Place,
		BuyerNIP: b.NIP, Buyer: buyerLines(ksef.Buyer{Name: b.Name, Address: b.Address}),
		Lines: doc.Lines, TotalNet: doc.TotalNet, TotalVAT: doc.TotalVAT, TotalGross: doc.TotalGross,
		Currency: doc.Currency, Payment: doc.Payment, Duplicate: doc.Duplicate, Repeat: doc.Repeat, Footer: doc.Footer,
	}
	notice := fmt.Sprintf("Faktura %s zostanie przesłana do KSeF", inv.Number)
	if !inv.Deadline.IsZero() {
		notice += " do " + ksef.DateOf(inv.Deadline).String()
	}
	c.Notice = []string{notice + " i będzie tam dostępna dla nabywcy pod numerem KSeF."}
	if inv.Upload == outbox.UploadAccepted && inv.KSeFNumber != "" {
		c.Notice = []string{fmt.Sprintf("Faktura %s jest w KSeF: %s.", inv.Number, inv.KSeFNumber)}
	}
	return c, nil
}
