package agent

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/outbox"
)

// CorrectionRequest asks for a correcting invoice (KOR) of an earlier one.
type CorrectionRequest struct {
	Key    string // idempotency key, as for Issue
	Body   []byte // raw request body; nil means the canonical JSON of the request
	Reason string // PrzyczynaKorekty; optional
	Type   int    // TypKorekty: 1, 2 or 3; 0 leaves it out
	// Lines are difference rows (negative quantities or prices allowed), or
	// with AfterRows the rows as they should be after the correction; the
	// original's rows are then written as the before rows, and no rows at
	// all cancel the original in full.
	Lines     []ksef.Line
	AfterRows bool
	Payment   *ksef.Payment // optional, e.g. a refund
}

// Reprint queues a duplicate of an invoice, marked DUPLIKAT with today's
// date. Before acceptance it carries both offline codes; after acceptance
// KOD I labelled with the KSeF number and no KOD II. For a rejected invoice
// that was technically corrected, the correcting record is printed.
func (a *Agent) Reprint(ctx context.Context, id string) (*View, error) {
	inv, err := a.store.Get(ctx, id)
	if err != nil {
		return nil, storeErr("reprint", err)
	}
	if inv.CorrectedBy != "" {
		id = inv.CorrectedBy
	}
	job, err := a.store.Reprint(ctx, id)
	if err != nil {
		return nil, storeErr("reprint", err)
	}
	a.queuePrint(ctx, job.ID)
	return a.Invoice(ctx, id)
}

// Correct issues a correcting invoice (KOR) of invoice id. It is stored and
// printed at once; the outbox holds its upload until the original is
// accepted, then releases corrections in issue order.
func (a *Agent) Correct(ctx context.Context, id string, req CorrectionRequest) (*Issued, error) {
	if err := checkKey(req.Key); err != nil {
		return nil, err
	}
	if req.Type < 0 || req.Type > 3 {
		return nil, &RequestError{Field: "type", Reason: fmt.Sprintf("want 1, 2 or 3, got %d", req.Type)}
	}
	if len(req.Lines) == 0 && !req.AfterRows {
		return nil, &RequestError{Field: "lines", Reason: "difference rows are required (use after rows with none to cancel in full)"}
	}
	orig, err := a.store.Get(ctx, id) // archived originals are found too
	if err != nil {
		return nil, storeErr("correct", err)
	}
	if orig.CorrectedBy != "" {
		if orig, err = a.store.Get(ctx, orig.CorrectedBy); err != nil {
			return nil, storeErr("correct", err)
		}
	}
	switch {
	case orig.Kind == ksef.KindKOR:
		return nil, fmt.Errorf("agent: correct %s: %w: a correction cannot be corrected; correct the original", orig.Number, ErrIllegalState)
	case orig.Kind == ksef.KindUPR:
		return nil, fmt.Errorf("agent: correct %s: %w: corrections of UPR invoices are not supported", orig.Number, ErrIllegalState)
	case orig.Upload == outbox.UploadRejected:
		return nil, fmt.Errorf("agent: correct %s: %w: KSeF rejected the original; make a technical correction first", orig.Number, ErrIllegalState)
	}
	snap, err := decodeSnapshot(orig.Doc)
	if err != nil {
		return nil, err
	}
	now := a.now()
	p1, err := ksef.ParseDate(orig.P1)
	if err != nil {
		return nil, fmt.Errorf("agent: correct %s: stored P_1: %w", orig.Number, err)
	}
	sale := snap.Invoice.Sale
	sale.Number = ""
	sale.Kind = ""
	sale.SaleDate = ksef.Date{}
	sale.IssueDate = ksef.DateOf(now)
	sale.Lines = req.Lines
	sale.Payment = req.Payment
	corr := &ksef.Correction{
		Reason: req.Reason, Type: req.Type,
		OriginalNumber: orig.Number, OriginalDate: p1, OriginalKSeF: orig.KSeFNumber,
	}
	if req.AfterRows {
		corr.Before = snap.Invoice.Sale.Lines
	}
	inv := ksef.Invoice{Seller: a.opts.Seller, Kind: ksef.KindKOR, GeneratedAt: now,
		SystemInfo: a.opts.SystemInfo, Sale: sale, Correction: corr}
	body := req.Body
	if body == nil {
		body, _ = json.Marshal(struct {
			ID  string
			Req CorrectionRequest
		}{id, CorrectionRequest{Reason: req.Reason, Type: req.Type, Lines: req.Lines, AfterRows: req.AfterRows, Payment: req.Payment}})
	}
	return a.issue(ctx, req.Key, outbox.HashOf(body), inv, orig.ID, now)
}

// TechnicalCorrection re-issues an invoice KSeF rejected, with the operator's
// fixed data, under the SAME number: the new file carries
// hashOfCorrectedInvoice = the rejected file's hash and is sent with
// offlineMode=true in an interactive session. It gets no print of its own:
// the receipt handed out stays valid.
func (a *Agent) TechnicalCorrection(ctx context.Context, id string, fixed ksef.Sale) (*View, error) {
	orig, err := a.store.Get(ctx, id)
	if err != nil {
		return nil, storeErr("technical correction", err)
	}
	if orig.Upload != outbox.UploadRejected {
		return nil, fmt.Errorf("agent: technical correction of %s: %w: only a rejected invoice can be technically corrected (state %s)", orig.Number, ErrIllegalState, orig.Upload)
	}
	snap, err := decodeSnapshot(orig.Doc)
	if err != nil {
		return nil, err
	}
	now := a.now()
	if err := a.prepareSale(&fixed, now, snap.Invoice.Correction == nil); err != nil {
		return nil, err
	}
	inv := snap.Invoice
	inv.Sale = fixed
	inv.Sale.Number = ""
	inv.GeneratedAt = now
	if inv.Correction != nil && orig.CorrectionOf != "" {
		// The corrected original may have its KSeF number by now.
		if o, err := a.store.Get(ctx, orig.CorrectionOf); err == nil {
			if o.CorrectedBy != "" {
				o, err = a.store.Get(ctx, o.CorrectedBy)
			}
			if err == nil && o.Upload == outbox.UploadAccepted {
				c := *inv.Correction
				c.OriginalKSeF = o.KSeFNumber
				inv.Correction = &c
			}
		}
	}
	probe := inv
	probe.Number = orig.Number
	if err := probe.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	mode, err := ksef.ParseMode(orig.Mode)
	if err != nil || mode == ksef.ModeOnline {
		mode = ksef.ModeOffline24
	}
	build := a.builder(inv, decision{mode: mode}, now)
	rec, err := a.store.TechnicalCorrection(ctx, id, now, func(number string) (*outbox.Built, error) {
		b, err := build(number)
		if err != nil {
			return nil, err
		}
		if !orig.Deadline.IsZero() {
			b.Deadline = orig.Deadline // the original's obligation
		}
		return b, nil
	})
	if err != nil {
		return nil, storeErr("technical correction", err)
	}
	a.log.Info("technical correction stored", "id", rec.ID, "number", rec.Number, "corrects", id)
	kick(a.kickUpload)
	return a.view(ctx, rec)
}
