package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/ksef/ksefapi"
	"github.com/posagent/posagent/outbox"
)

// Buyer classes stored on each invoice.
const (
	BuyerConsumer = "consumer" // no tax identifier
	BuyerB2B      = "b2b"      // domestic business: a Polish NIP
	BuyerEU       = "eu"       // EU VAT number
	BuyerForeign  = "foreign"  // a tax id from outside the EU
)

// IssueRequest is one sale from the till.
type IssueRequest struct {
	// Key is the till's Idempotency-Key (1-200 bytes); a replay with the same
	// Body returns the stored invoice, with another Body fails with
	// ErrIdempotencyConflict.
	Key string
	// Body is the raw request body the key is bound to; nil means the
	// canonical JSON of Sale.
	Body []byte
	Sale ksef.Sale
}

// Issued is the answer to Issue and Correct.
type Issued struct {
	View
	Replayed bool `json:"replayed"`
}

// snapshot is the agent's opaque document stored with each invoice: the
// invoice as built (to re-render receipts and to build corrections) and the
// decisions taken at issue time.
type snapshot struct {
	V       int          `json:"v"`
	Invoice ksef.Invoice `json:"invoice"`
	// OnlineUntil is the end of the online-first budget: a record issued in
	// mode online that KSeF had not accepted by then was handed over offline24.
	OnlineUntil time.Time `json:"online_until,omitzero"`
	// Hold: a domestic B2B offline invoice is printed only after acceptance.
	Hold bool `json:"hold,omitempty"`
}

func decodeSnapshot(b []byte) (*snapshot, error) {
	var s snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("agent: decode invoice snapshot: %w", err)
	}
	return &s, nil
}

// Issue validates a sale, issues its invoice in one outbox transaction
// (number, FA(3) XML, hash, KOD I and KOD II, deadline), queues the print and
// answers after the commit. Under the online-first policy it first waits up to
// OnlineBudget for a KSeF number (see the package documentation).
func (a *Agent) Issue(ctx context.Context, req IssueRequest) (*Issued, error) {
	if err := checkKey(req.Key); err != nil {
		return nil, err
	}
	now := a.now()
	sale := req.Sale
	if err := a.prepareSale(&sale, now, true); err != nil {
		return nil, err
	}
	if sale.Kind == ksef.KindKOR {
		return nil, &RequestError{Field: "kind", Reason: "a correction is made with Correct on the original invoice"}
	}
	inv := ksef.Invoice{Seller: a.opts.Seller, GeneratedAt: now, SystemInfo: a.opts.SystemInfo, Sale: sale}
	return a.issue(ctx, req.Key, fingerprint(req.Body, sale), inv, "", now)
}

// prepareSale fills the defaults a till may leave out and validates the
// sale. A correction's sale (difference rows) is validated with its invoice
// instead (validate false).
func (a *Agent) prepareSale(s *ksef.Sale, now time.Time, validate bool) error {
	today := ksef.DateOf(now)
	if s.IssueDate.IsZero() {
		s.IssueDate = today
	}
	if s.Place == "" {
		s.Place = a.opts.Place
	}
	var errs ksef.ValidationErrors
	if s.Number != "" {
		errs = append(errs, &ksef.ValidationError{Field: "number", Reason: "assigned by the agent; leave it out"})
	}
	if s.IssueDate.Valid() && s.IssueDate.After(today) {
		errs = append(errs, &ksef.ValidationError{Field: "issue_date", Reason: fmt.Sprintf("%v is after today (%v)", s.IssueDate, today)})
	}
	if !validate {
		// checked with the invoice
	} else if err := s.Validate(); err != nil {
		var ve ksef.ValidationErrors
		if !errors.As(err, &ve) {
			return fmt.Errorf("%w: %w", ErrInvalidRequest, err)
		}
		errs = append(errs, ve...)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalidRequest, errs)
	}
	return nil
}

func checkKey(k string) error {
	switch {
	case k == "":
		return &RequestError{Field: "key", Reason: "an idempotency key is required"}
	case len(k) > outbox.MaxSaleIDLen:
		return &RequestError{Field: "key", Reason: fmt.Sprintf("longer than %d bytes", outbox.MaxSaleIDLen)}
	}
	return nil
}

func fingerprint(body []byte, v any) outbox.Hash {
	if body == nil {
		body, _ = json.Marshal(v)
	}
	return outbox.HashOf(body)
}

// classify returns the buyer class of a sale.
func classify(b ksef.Buyer) string {
	switch b.Kind {
	case ksef.BuyerNIP:
		return BuyerB2B
	case ksef.BuyerEU:
		return BuyerEU
	case ksef.BuyerForeign:
		return BuyerForeign
	}
	return BuyerConsumer
}

// issue runs the outbox transaction for inv (a sale or a correction of
// correctionOf), then the online attempt if the decision asks for one, then
// queues the print.
func (a *Agent) issue(ctx context.Context, key string, fp outbox.Hash, inv ksef.Invoice, correctionOf string, now time.Time) (*Issued, error) {
	d := a.decide()
	if correctionOf != "" && inv.Correction != nil && inv.Correction.OriginalKSeF == "" {
		d.online = false // the outbox holds it until the original is accepted
		if d.mode == ksef.ModeOnline {
			d.mode = ksef.ModeOffline24
		}
	}
	// Validate with a placeholder number so a bad request fails before the
	// transaction, with the field paths of the sale.
	probe := inv
	probe.Number = "0"
	if err := probe.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	build := a.builder(inv, d, now)
	rec, replayed, err := a.store.Issue(ctx, outbox.IssueRequest{
		SaleID: key, Fingerprint: fp, Series: a.opts.Series, Now: now,
		CorrectionOf: correctionOf, Build: build,
	})
	if err != nil {
		return nil, storeErr("issue", err)
	}
	if replayed {
		v, err := a.view(ctx, rec)
		if err != nil {
			return nil, err
		}
		return &Issued{View: *v, Replayed: true}, nil
	}
	if a.m != nil {
		a.m.sales.Inc()
	}
	a.log.Info("issued", "id", rec.ID, "number", rec.Number, "mode", rec.Mode, "buyer", rec.BuyerClass)
	if d.online {
		a.tryOnline(ctx, rec.ID)
		if r, err := a.store.Get(ctx, rec.ID); err == nil {
			rec = r
		}
	}
	a.queuePrint(ctx, rec.PrintJobID)
	kick(a.kickUpload)
	v, err := a.view(ctx, rec)
	if err != nil {
		return nil, err
	}
	return &Issued{View: *v}, nil
}

// builder returns the outbox build callback: it runs inside the issue
// transaction, so it only computes (XML, hash, links, signature, deadline).
func (a *Agent) builder(inv ksef.Invoice, d decision, now time.Time) outbox.BuildFunc {
	return func(number string) (*outbox.Built, error) {
		inv := inv
		inv.Number = number
		xml, err := inv.XML()
		if err != nil {
			return nil, err
		}
		tot, err := inv.Totals()
		if err != nil {
			return nil, err
		}
		hash := ksef.InvoiceHash(xml)
		p1 := inv.Sale.IssueDate
		b := &outbox.Built{
			XML:        xml,
			KOD1:       ksef.KOD1(a.opts.Environment, a.opts.Seller.NIP, p1, hash),
			Mode:       d.mode.String(),
			BuyerClass: classify(inv.Sale.Buyer),
			P1:         p1.String(),
			Kind:       kindOf(&inv),
			Gross:      int64(tot.Gross),
			VAT:        int64(tot.VAT),
		}
		// KOD II is made for every mode but total failure, including online:
		// an online-first sale that gets no number in time is handed over
		// offline24 with the same bytes, so the same hash and link.
		if d.mode != ksef.ModeTotalFailure {
			b.KOD2, err = ksef.KOD2(a.opts.Environment, a.opts.ContextType, a.opts.ContextValue, a.opts.Seller.NIP, hash, a.signer)
			if err != nil {
				return nil, fmt.Errorf("agent: sign KOD II: %w", err)
			}
		}
		dlMode := d.mode
		if dlMode == ksef.ModeOnline {
			dlMode = ksef.ModeOffline24 // the deadline that applies if the budget runs out
		}
		dl, err := a.opts.Calendar.Deadline(dlMode, p1, a.periodsNow(ksef.DateOf(now)))
		if err != nil {
			return nil, fmt.Errorf("agent: deadline: %w", err)
		}
		if t, ok := dl.Instant(); ok {
			b.Deadline = t
		}
		snap := snapshot{V: 1, Invoice: inv}
		if d.online {
			snap.OnlineUntil = now.Add(a.opts.OnlineBudget)
		}
		snap.Hold = b.BuyerClass == BuyerB2B && !a.opts.B2BOfflineHandover
		// A receipt that goes to an idle printer at once is recorded started
		// here, so its first byte waits for no second fsync (the journal's).
		b.PrintStarted = !d.online && !a.held(&outbox.Invoice{Mode: b.Mode}, &snap) && a.printerIdle()
		if b.Doc, err = json.Marshal(snap); err != nil {
			return nil, fmt.Errorf("agent: encode snapshot: %w", err)
		}
		return b, nil
	}
}

func kindOf(inv *ksef.Invoice) string {
	switch {
	case inv.Kind != "":
		return inv.Kind
	case inv.Sale.Kind != "":
		return inv.Sale.Kind
	}
	return ksef.KindVAT
}

// tryOnline sends a just-issued invoice at once and waits, within
// OnlineBudget, for its KSeF number. Whatever happens the record stays
// consistent: accepted, or sending (the scheduler asks KSeF later), or
// queued for the scheduler.
func (a *Agent) tryOnline(ctx context.Context, id string) {
	a.mu.Lock()
	a.inflight[id] = true
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		delete(a.inflight, id)
		a.mu.Unlock()
		kick(a.kickUpload)
	}()
	bctx, cancel := context.WithTimeout(ctx, a.opts.OnlineBudget)
	defer cancel()
	rec, err := a.store.Get(bctx, id)
	if err != nil {
		return
	}
	if err := a.ensureAuth(bctx); err != nil {
		a.noteErr("online attempt", err)
		return
	}
	sess, err := a.session(bctx)
	if err != nil {
		a.noteErr("online attempt", err)
		a.noteLink(err)
		return
	}
	if err := a.store.MarkSending(bctx, id, sess.Reference); err != nil {
		return // the scheduler took it
	}
	rec.LastSendAt = a.now()
	ref, err := a.api.SendInvoice(bctx, sess, rec.XML, ksefapi.SendOptions{OfflineMode: false})
	a.noteLink(err)
	if err != nil {
		a.noteErr("online attempt", err)
		if errors.Is(err, ksefapi.ErrSessionFull) {
			a.dropSession(sess)
		}
		// A complete answer (4xx, 5xx) ended the request: queue it again
		// now, a 5xx behind RetryMin. A transport failure may still land:
		// the record stays sending and the scheduler asks KSeF.
		var ae *ksefapi.APIError
		if errors.As(err, &ae) && answered(ae) {
			nb := a.now()
			if ae.Status >= 500 {
				nb = nb.Add(a.opts.RetryMin)
			}
			a.retry(context.WithoutCancel(ctx), id, nb, errCode(err))
		}
		return
	}
	if err := a.store.SetInvoiceRef(context.WithoutCancel(ctx), id, ref); err != nil {
		a.log.Warn("record invoice reference", "id", id, "error", err)
	}
	poll := min(a.opts.PollInterval, 100*time.Millisecond)
	for {
		st, err := a.api.InvoiceStatus(bctx, sess.Reference, ref)
		if err == nil && st.Final() {
			rec.SessionRef, rec.InvoiceRef = sess.Reference, ref
			a.applyStatus(context.WithoutCancel(ctx), rec, st)
			return
		}
		select {
		case <-bctx.Done():
			a.log.Info("online budget ran out; handing over offline24", "id", id)
			return
		case <-time.After(poll):
		}
	}
}
