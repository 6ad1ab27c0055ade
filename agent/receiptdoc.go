package agent

import (
	"fmt"
	"strings"
	"time"

	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/outbox"
	"github.com/posagent/posagent/receipt"
)

// LabelOffline is the label under KOD I before KSeF has the invoice.
const LabelOffline = "OFFLINE"

// effectiveMode is the mode the invoice was handed over in. A record issued
// online that KSeF did not accept within the online-first budget was printed
// with both offline codes: it is offline24. The scheduler leaves such records
// alone until the budget has passed, so an acceptance within the budget can
// only come from the attempt itself.
func effectiveMode(inv *outbox.Invoice, snap *snapshot, attempting bool) string {
	if inv.Mode != ksef.ModeOnline.String() {
		return inv.Mode
	}
	if inv.Upload == outbox.UploadAccepted && !inv.AcceptedAt.After(snap.OnlineUntil) {
		return inv.Mode
	}
	if inv.Upload != outbox.UploadAccepted && attempting {
		return inv.Mode // the attempt is still running
	}
	return ksef.ModeOffline24.String()
}

// inBudget reports whether an online-first record is still within its
// budget, when only the Issue attempt may send it.
func (a *Agent) inBudget(inv *outbox.Invoice, now time.Time) bool {
	return inv.Mode == ksef.ModeOnline.String() && !now.After(inv.IssuedAt.Add(a.opts.OnlineBudget))
}

// codes returns the QR links a print of inv carries now: after acceptance
// KOD I labelled with the KSeF number and no KOD II; before, KOD I labelled
// OFFLINE and KOD II; none at all for an invoice issued in a total failure
// that KSeF does not have yet (ksef-api.md §1: such invoices carry no codes).
func codes(inv *outbox.Invoice) (kod1, label, kod2 string) {
	if inv.Upload == outbox.UploadAccepted && inv.KSeFNumber != "" {
		return inv.KOD1, inv.KSeFNumber, ""
	}
	if inv.Mode == ksef.ModeTotalFailure.String() {
		return "", "", ""
	}
	return inv.KOD1, LabelOffline, inv.KOD2
}

var modeLabels = map[string]string{
	"online":        "online",
	"offline24":     "offline24",
	"offline":       "offline (niedostępność KSeF)",
	"emergency":     "awaryjny (awaria KSeF)",
	"total_failure": "awaria całkowita KSeF",
}

var payLabels = map[ksef.PaymentForm]string{
	ksef.PayCash: "gotówka", ksef.PayCard: "karta", ksef.PayVoucher: "bon",
	ksef.PayCheque: "czek", ksef.PayCredit: "kredyt", ksef.PayTransfer: "przelew",
	ksef.PayMobile: "płatność mobilna",
}

// money formats an amount the Polish way, with a decimal comma.
func money(a ksef.Amount) string { return strings.Replace(a.String(), ".", ",", 1) }

func qty(q ksef.Quantity) string { return strings.Replace(q.String(), ".", ",", 1) }

// receiptDoc maps a stored invoice onto a receipt document.
func (a *Agent) receiptDoc(inv *outbox.Invoice, snap *snapshot, job *outbox.PrintJob) (receipt.Doc, error) {
	ki := &snap.Invoice
	s := &ki.Sale
	tot, err := ki.Totals()
	if err != nil {
		return receipt.Doc{}, fmt.Errorf("agent: receipt totals: %w", err)
	}
	doc := receipt.Doc{
		SellerName: ki.Seller.Name,
		SellerNIP:  ki.Seller.NIP,
		Number:     inv.Number,
		Date:       inv.P1,
		Place:      s.Place,
		Currency:   s.Currency,
		TotalNet:   money(tot.Net),
		TotalVAT:   money(tot.VAT),
		TotalGross: money(tot.Gross),
		Footer:     a.opts.Footer,
	}
	if doc.Currency == "" {
		doc.Currency = "PLN"
	}
	for _, l := range []string{ki.Seller.Address.Line1, ki.Seller.Address.Line2} {
		if l != "" {
			doc.SellerAddress = append(doc.SellerAddress, l)
		}
	}
	switch kindOf(ki) {
	case ksef.KindKOR:
		doc.Title = receipt.TitleCorrection
	case ksef.KindUPR:
		doc.Title = receipt.TitleSimplified
	default:
		doc.Title = receipt.TitleVAT
	}
	mode := effectiveMode(inv, snap, a.isInflight(inv.ID))
	line := "Tryb: " + modeLabels[mode]
	if inv.Upload != outbox.UploadAccepted && !inv.Deadline.IsZero() {
		line += " — wysyłka do KSeF do " + ksef.DateOf(inv.Deadline).String()
	}
	if c := ki.Correction; c != nil {
		line += fmt.Sprintf("; korekta faktury %s z %s", c.OriginalNumber, c.OriginalDate)
		if c.Reason != "" {
			line += ", przyczyna: " + c.Reason
		}
	}
	doc.ModeLine = line
	doc.Buyer = buyerLines(s.Buyer)
	// A correction with before rows prints both states, so the difference
	// in the totals can be read off the receipt.
	var before []ksef.Line
	suffix := ""
	if c := ki.Correction; c != nil && len(c.Before) > 0 {
		before, suffix = c.Before, " (po korekcie)"
	}
	for i, l := range before {
		if err := addLine(&doc, l, " (przed korektą)"); err != nil {
			return receipt.Doc{}, fmt.Errorf("agent: receipt before row %d: %w", i, err)
		}
	}
	for i, l := range s.Lines {
		if err := addLine(&doc, l, suffix); err != nil {
			return receipt.Doc{}, fmt.Errorf("agent: receipt line %d: %w", i, err)
		}
	}
	for _, g := range tot.Groups {
		doc.VAT = append(doc.VAT, receipt.VATRow{Rate: g.Rate.Label(), Net: money(g.Net), VAT: money(g.VAT), Gross: money(g.Gross)})
	}
	if p := s.Payment; p != nil {
		if p.Paid {
			doc.Payment = fmt.Sprintf("Płatność: %s, %s %s", payLabels[p.Form], money(tot.Gross), doc.Currency)
		} else {
			doc.Payment = "Forma płatności: " + payLabels[p.Form]
			if !p.Date.IsZero() {
				doc.Payment += ", termin " + p.Date.String()
			}
		}
	}
	doc.KOD1, doc.KOD1Label, doc.KOD2 = codes(inv)
	if doc.KOD1 == "" {
		doc.NoCodes = receipt.NoCodesTotalFailure
	}
	// The first invoice printed after a confirmation is the buyer's first
	// copy, not a duplicate (b2b.go).
	if job != nil && job.Duplicate && !(firstInvoicePrint(inv, job) && a.handedConfirmation(inv, snap)) {
		doc.Duplicate = ksef.DateOf(job.RequestedAt).String()
	}
	doc.Repeat = repeatMark(job)
	return doc, nil
}

func buyerLines(b ksef.Buyer) []string {
	var out []string
	if b.Name != "" {
		out = append(out, b.Name)
	}
	if ad := b.Address; ad != nil {
		for _, l := range []string{ad.Line1, ad.Line2} {
			if l != "" {
				out = append(out, l)
			}
		}
	}
	switch b.Kind {
	case ksef.BuyerNIP:
		out = append(out, "NIP: "+b.NIP)
	case ksef.BuyerEU:
		out = append(out, "VAT UE: "+b.EUCode+b.EUVAT)
	case ksef.BuyerForeign:
		id := "NrID: " + b.ID
		if b.Country != "" {
			id += " (" + b.Country + ")"
		}
		out = append(out, id)
	}
	return out
}

func addLine(doc *receipt.Doc, l ksef.Line, suffix string) error {
	v, err := ksef.LineValue(l)
	if err != nil {
		return err
	}
	doc.Lines = append(doc.Lines, receipt.Line{
		Name: l.Name + suffix, Qty: qty(l.Quantity), Unit: l.Unit,
		UnitPrice: money(l.UnitPrice), Value: money(v), Rate: l.VATRate.Label(),
	})
	return nil
}
