package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/outbox"
)

// CorrectionRequest asks for a correcting invoice (KOR) of an earlier one.
type CorrectionRequest struct {
	Key    string // idempotency key, as for Issue
	Body   []byte // raw request body, optional: as IssueRequest.Body
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

// content is the request without its key and raw body: what the key is
// bound to and what a pending correction keeps.
func (r CorrectionRequest) content() CorrectionRequest {
	return CorrectionRequest{Reason: r.Reason, Type: r.Type, Lines: r.Lines, AfterRows: r.AfterRows, Payment: r.Payment}
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

// Correct issues a correcting invoice (KOR) of invoice id. A correction of
// an invoice in KSeF is issued and sent only once the original has its KSeF
// number (tryby-offline.md: "Fakturę korygującą przesyła się dopiero po
// nadaniu numeru KSeF dokumentowi pierwotnemu"), and it names that number
// (FA(3) DaneFaKorygowanej: NrKSeF=1 and NrKSeFFaKorygowanej). So:
//
//   - an original that has its number is corrected at once;
//   - an original issued outside KSeF in a total failure and kept outside
//     (not uploaded), and any correction during a total failure, is
//     corrected at once outside KSeF (tryby-offline.md, "Tryb awarii
//     całkowitej"), naming the original with NrKSeFN=1;
//   - otherwise the request is stored durably as pending (Issued.Pending), a
//     slip saying so is printed, the original goes to the front of the
//     upload queue, and the correction is issued and printed once KSeF
//     accepts the original. Pending corrections of one original are issued
//     in the order they were asked for; they survive a restart.
//
// A replay of the key returns the pending request, or the correction once
// it is issued.
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
	orig, err := a.correctable(ctx, id)
	if err != nil {
		return nil, err
	}
	// The key is bound to the decoded request (its JSON encoding is
	// canonical), as a sale's is.
	canon, err := json.Marshal(struct {
		ID  string
		Req CorrectionRequest
	}{id, req.content()})
	if err != nil {
		return nil, fmt.Errorf("agent: encode correction: %w", err)
	}
	bind := binding{fp: outbox.HashOf(canon), alt: rawHash(req.Body)}
	now := a.now()
	inv, err := a.correctionInvoice(orig, req, now)
	if err != nil {
		return nil, err
	}
	if a.mustWait(orig) {
		// Validate now, as it will be issued (naming a KSeF number): the
		// request must not wait to be refused.
		draft, corr := *inv, *inv.Correction
		corr.OriginalKSeF = ksef.NewKSeFNumber(a.opts.Seller.NIP, now, [6]byte{})
		draft.Correction = &corr
		if err := validateDraft(draft); err != nil {
			return nil, err
		}
		res, err := a.requestCorrection(ctx, orig, req, bind.fp, now)
		if !errors.Is(err, outbox.ErrIssueNow) {
			return res, err
		}
		// Accepted meanwhile, or issued already (a replay): issue or replay
		// it now, after any earlier request of the same original.
		a.issuePending(ctx, orig.ID)
		if orig, err = a.correctable(ctx, id); err != nil {
			return nil, err
		}
		if inv, err = a.correctionInvoice(orig, req, now); err != nil {
			return nil, err
		}
	}
	return a.issue(ctx, req.Key, bind, *inv, orig.ID, now)
}

// correctable returns the invoice a correction of id corrects: id, or the
// technical correction that replaced it; or why it cannot be corrected.
func (a *Agent) correctable(ctx context.Context, id string) (*outbox.Invoice, error) {
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
	return orig, nil
}

// mustWait reports whether a correction of orig waits for orig's KSeF
// number: orig is bound for KSeF and not accepted, and no total failure
// runs (a correction in one is issued outside KSeF).
func (a *Agent) mustWait(orig *outbox.Invoice) bool {
	switch {
	case orig.Upload == outbox.UploadAccepted, orig.Upload == outbox.UploadOutside:
		return false
	}
	return a.decide().mode != ksef.ModeTotalFailure
}

// correctionInvoice builds the KOR of orig asked for by req, issued at now.
// It names orig's KSeF number when orig has one, and NrKSeFN=1 (issued
// outside KSeF) otherwise.
func (a *Agent) correctionInvoice(orig *outbox.Invoice, req CorrectionRequest, now time.Time) (*ksef.Invoice, error) {
	snap, err := decodeSnapshot(orig.Doc)
	if err != nil {
		return nil, err
	}
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
		OriginalNumber: orig.Number, OriginalDate: p1,
	}
	if orig.Upload == outbox.UploadAccepted {
		corr.OriginalKSeF = orig.KSeFNumber
	}
	if req.AfterRows {
		corr.Before = snap.Invoice.Sale.Lines
	}
	// The seller as configured now: a correction carries today's standing
	// annotations; its margin rows keep the original's scheme.
	seller := a.opts.Seller
	if seller.MarginScheme == "" {
		seller.MarginScheme = snap.Invoice.Seller.MarginScheme
	}
	return &ksef.Invoice{Seller: seller, Kind: ksef.KindKOR, GeneratedAt: now,
		SystemInfo: a.opts.SystemInfo, Sale: sale, Correction: corr}, nil
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
	if err := a.prepareSale(&fixed, now, snap.Invoice.Correction == nil, false); err != nil {
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
	build := a.builder(inv, decision{mode: mode, technical: true}, now)
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
