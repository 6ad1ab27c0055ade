package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/outbox"
	"github.com/posagent/posagent/receipt"
)

// PendingView is a correction that waits for its original's KSeF number
// (Correct): it is issued, and printed, once KSeF accepts the original.
type PendingView struct {
	ID             string    `json:"id"`       // the request's id, in request order
	Corrects       string    `json:"corrects"` // the original's invoice id
	OriginalNumber string    `json:"original_number"`
	RequestedAt    time.Time `json:"requested_at"`
	SlipPrint      string    `json:"slip_print_state"` // pending, printed, failed
}

// pendingDoc is what the store keeps of a pending request: the request as
// asked, to build the correction from when the original is accepted.
type pendingDoc struct {
	V   int               `json:"v"`
	Req CorrectionRequest `json:"req"`
}

// SlipNoCodes is printed on a correction slip where an invoice has its QR
// codes: the slip is not an invoice.
const SlipNoCodes = "To nie jest faktura: faktura korygująca zostanie wystawiona po nadaniu numeru KSeF fakturze pierwotnej"

// requestCorrection stores req as a pending correction of orig, prints its
// slip and puts orig at the front of the upload queue.
func (a *Agent) requestCorrection(ctx context.Context, orig *outbox.Invoice, req CorrectionRequest, fp outbox.Hash, now time.Time) (*Issued, error) {
	doc, err := json.Marshal(pendingDoc{V: 1, Req: req.content()})
	if err != nil {
		return nil, fmt.Errorf("agent: encode pending correction: %w", err)
	}
	pc, replayed, err := a.store.RequestCorrection(ctx, outbox.CorrectionRequest{
		SaleID: req.Key, Fingerprint: fp, OriginalID: orig.ID, Now: now, Doc: doc})
	if errors.Is(err, outbox.ErrIssueNow) {
		return nil, err
	}
	if err != nil {
		return nil, storeErr("correct", err)
	}
	if !replayed {
		a.log.Info("correction pending until the original has its KSeF number", "original", orig.ID, "number", orig.Number, "request", pc.ID)
		if err := a.store.Prioritize(ctx, orig.ID); err != nil {
			a.log.Warn("prioritize the upload of a corrected invoice", "id", orig.ID, "error", err)
		}
		a.queuePrint(ctx, pc.SlipJobID)
		kick(a.kickUpload)
	}
	return &Issued{Pending: a.pendingView(ctx, orig, pc), Replayed: replayed}, nil
}

// pendingView describes pc, with its slip's print state when the store has
// it.
func (a *Agent) pendingView(ctx context.Context, orig *outbox.Invoice, pc *outbox.PendingCorrection) *PendingView {
	v := &PendingView{ID: pc.ID, Corrects: orig.ID, OriginalNumber: orig.Number, RequestedAt: pc.RequestedAt}
	if j, err := a.store.PrintJob(ctx, pc.SlipJobID); err == nil {
		v.SlipPrint = j.State.String()
	}
	return v
}

// issuePending issues, in request order, the corrections waiting for orig
// once it is accepted (or technically corrected by an accepted invoice).
// It stops at the first one that fails, so the order holds; the next call
// (the next acceptance, or the next Run) tries again.
func (a *Agent) issuePending(ctx context.Context, origID string) {
	list, err := a.store.PendingCorrections(ctx, origID)
	if err != nil || len(list) == 0 {
		if err != nil && ctx.Err() == nil {
			a.log.Warn("read pending corrections", "original", origID, "error", err)
		}
		return
	}
	orig, err := a.correctable(ctx, origID) // a technical correction stands for a rejected original
	if err != nil || orig.Upload != outbox.UploadAccepted {
		return
	}
	for i := range list {
		pc := &list[i]
		if err := a.issueOnePending(ctx, orig, pc); err != nil {
			a.log.Error("ALARM: cannot issue a pending correction; retried at the next acceptance or restart",
				"original", orig.Number, "request", pc.ID, "error", err)
			a.noteErr("correction", err)
			return
		}
	}
}

func (a *Agent) issueOnePending(ctx context.Context, orig *outbox.Invoice, pc *outbox.PendingCorrection) error {
	var doc pendingDoc
	if err := json.Unmarshal(pc.Doc, &doc); err != nil {
		return fmt.Errorf("agent: decode pending correction %s: %w", pc.ID, err)
	}
	now := a.now()
	inv, err := a.correctionInvoice(orig, doc.Req, now)
	if err != nil {
		return err
	}
	// KSeF just accepted the original: the correction goes out with the next
	// upload round, handed over offline24 meanwhile (no online attempt here,
	// inside the scheduler).
	res, err := a.issueAs(ctx, pc.SaleID, binding{fp: pc.Fingerprint}, *inv, pc.OriginalID, now, a.decide().offline())
	if err != nil {
		return err
	}
	a.log.Info("pending correction issued", "original", orig.Number, "request", pc.ID, "id", res.ID, "number", res.Number)
	return nil
}

// issueAllPending issues the pending corrections whose originals are
// accepted: those a crash left between the acceptance and the issue.
func (a *Agent) issueAllPending(ctx context.Context) {
	list, err := a.store.PendingCorrections(ctx, "")
	if err != nil {
		return
	}
	seen := map[string]bool{}
	for _, pc := range list {
		if !seen[pc.OriginalID] {
			seen[pc.OriginalID] = true
			a.issuePending(ctx, pc.OriginalID)
		}
	}
}

// pendingReady reports whether a pending correction can be issued (its
// original is accepted) but is not yet: Flush waits for it.
func (a *Agent) pendingReady(ctx context.Context) (bool, error) {
	list, err := a.store.PendingCorrections(ctx, "")
	if err != nil {
		return false, storeErr("flush", err)
	}
	for _, pc := range list {
		if orig, err := a.correctable(ctx, pc.OriginalID); err == nil && orig.Upload == outbox.UploadAccepted {
			return true, nil
		}
	}
	return false, nil
}

// pendingOf returns the pending corrections of inv, when it printed a slip.
func (a *Agent) pendingOf(ctx context.Context, inv *outbox.Invoice) []string {
	if len(inv.Slips) == 0 {
		return nil
	}
	list, err := a.store.PendingCorrections(ctx, inv.ID)
	if err != nil {
		return nil
	}
	ids := make([]string, len(list))
	for i := range list {
		ids[i] = list[i].ID
	}
	return ids
}

// slipDoc is the receipt of a correction slip: the correction as asked, on
// the original's data, titled and marked as not an invoice.
func (a *Agent) slipDoc(ctx context.Context, orig *outbox.Invoice, job *outbox.PrintJob) (receipt.Doc, error) {
	req := CorrectionRequest{AfterRows: true} // a slip of a request already issued shows the original
	if list, err := a.store.PendingCorrections(ctx, orig.ID); err == nil {
		for _, pc := range list {
			var doc pendingDoc
			if pc.ID == job.Slip && json.Unmarshal(pc.Doc, &doc) == nil {
				req = doc.Req
			}
		}
	}
	inv, err := a.correctionInvoice(orig, req, job.RequestedAt)
	if err != nil {
		return receipt.Doc{}, err
	}
	snap := &snapshot{V: 1, Invoice: *inv}
	rec := &outbox.Invoice{Number: orig.Number, P1: ksef.DateOf(job.RequestedAt).String(),
		Mode: ksef.ModeOffline24.String(), Upload: outbox.UploadQueued}
	doc, err := a.receiptDoc(rec, snap, nil)
	if err != nil {
		return receipt.Doc{}, err
	}
	doc.Title = receipt.TitleCorrectionPending
	doc.ModeLine = fmt.Sprintf("Zlecenie korekty faktury %s z %s", orig.Number, orig.P1)
	if req.Reason != "" {
		doc.ModeLine += ", przyczyna: " + req.Reason
	}
	doc.KOD1, doc.KOD1Label, doc.KOD2, doc.NoCodes = "", "", "", SlipNoCodes
	return doc, nil
}
