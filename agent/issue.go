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
	// Key is the till's Idempotency-Key (1-200 bytes). It is bound to the
	// sale as received, in its canonical form (ksef.Sale.Canonical): a
	// replay of the same sale, however re-serialized, returns the stored
	// invoice; another sale fails with ErrIdempotencyConflict.
	Key string
	// Body is the raw request body, optional: a replay whose raw body
	// matches what an earlier version stored (the body's hash) is a replay
	// too.
	Body []byte
	Sale ksef.Sale
}

// Issued is the answer to Issue and Correct.
type Issued struct {
	View
	Replayed bool `json:"replayed"`
	// Pending is set, and View left empty, when Correct stored the
	// correction to issue once its original has its KSeF number.
	Pending *PendingView `json:"pending,omitempty"`
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
	// Hold: the invoice is printed only after acceptance, in any mode but
	// total failure. Versions before B2B wrote it for a domestic B2B buyer;
	// now it marks an online-first sale whose Offline certificate cannot
	// sign KOD II (handoutOf).
	Hold bool `json:"hold,omitempty"`
	// B2B is the policy.b2b_offline in force at issue for a domestic business
	// buyer that is not VAT-exempt; empty for every other buyer.
	B2B B2BPolicy `json:"b2b,omitempty"`
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
	// Bound before the defaults are filled in: the issue date's is the day.
	bind := binding{fp: outbox.HashOf(req.Sale.Canonical()), alt: rawHash(req.Body)}
	sale := req.Sale
	if err := a.prepareSale(&sale, now, true, true); err != nil {
		return nil, err
	}
	if sale.Kind == ksef.KindKOR {
		return nil, &RequestError{Field: "kind", Reason: "a correction is made with Correct on the original invoice"}
	}
	inv := ksef.Invoice{Seller: a.opts.Seller, GeneratedAt: now, SystemInfo: a.opts.SystemInfo, Sale: sale}
	return a.issue(ctx, req.Key, bind, inv, "", now)
}

// binding is what an idempotency key is bound to: the hash of the
// request's canonical form, stored, and the raw body's hash, which earlier
// versions stored and a replay may still match.
type binding struct{ fp, alt outbox.Hash }

func rawHash(body []byte) outbox.Hash {
	if body == nil {
		return outbox.Hash{}
	}
	return outbox.HashOf(body)
}

// prepareSale fills the defaults a till may leave out and validates the
// sale. A correction's sale (difference rows) is validated with its invoice
// instead (validate false). A new invoice (issued) is dated today with its
// sale date in the Act's range (ksef.Sale.CheckDates); a technical
// correction keeps the date it was issued on, which may not be later than
// today.
func (a *Agent) prepareSale(s *ksef.Sale, now time.Time, validate, issued bool) error {
	today := ksef.DateOf(now)
	var errs ksef.ValidationErrors
	if issued {
		var ve ksef.ValidationErrors
		if errors.As(s.CheckDates(today), &ve) {
			errs = append(errs, ve...)
		}
	}
	if s.IssueDate.IsZero() {
		s.IssueDate = today
	}
	if s.Place == "" {
		s.Place = a.opts.Place
	}
	if s.Number != "" {
		errs = append(errs, &ksef.ValidationError{Field: "number", Reason: "assigned by the agent; leave it out"})
	}
	if !issued && s.IssueDate.Valid() && s.IssueDate.After(today) {
		errs = append(errs, &ksef.ValidationError{Field: "issue_date", Reason: fmt.Sprintf("%v is after today (%v)", s.IssueDate, today)})
	}
	if validate { // else checked with the invoice
		if err := s.Validate(); err != nil {
			var ve ksef.ValidationErrors
			if !errors.As(err, &ve) {
				return fmt.Errorf("%w: %w", ErrInvalidRequest, err)
			}
			errs = append(errs, ve...)
		}
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
func (a *Agent) issue(ctx context.Context, key string, bind binding, inv ksef.Invoice, correctionOf string, now time.Time) (*Issued, error) {
	d := a.decide()
	if correctionOf != "" && inv.Correction != nil && inv.Correction.OriginalKSeF == "" {
		d = d.offline() // an original outside KSeF: offline, as the original
	}
	return a.issueAs(ctx, key, bind, inv, correctionOf, now, d)
}

// issueAs is issue with the decision taken.
func (a *Agent) issueAs(ctx context.Context, key string, bind binding, inv ksef.Invoice, correctionOf string, now time.Time, d decision) (*Issued, error) {
	if err := validateDraft(inv); err != nil {
		return nil, err
	}
	build := a.builder(inv, d, now)
	rec, replayed, err := a.store.Issue(ctx, outbox.IssueRequest{
		SaleID: key, Fingerprint: bind.fp, AltFingerprint: bind.alt, Series: a.opts.Series, Now: now,
		CorrectionOf: correctionOf, Build: build,
	})
	var ce *OfflineCertError
	if errors.As(err, &ce) {
		a.log.Info("offline invoice refused: the Offline certificate cannot sign KOD II", "reason", ce.Reason, "sale", key)
		return nil, ce
	}
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

// validateDraft validates inv with a placeholder number, so that a bad
// request fails before the transaction, with the field paths of the sale.
func validateDraft(inv ksef.Invoice) error {
	inv.Number = "0"
	if err := inv.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	return nil
}

// builder returns the outbox build callback: it runs inside the issue
// transaction, so it only computes (XML, hash, links, signature, deadline).
func (a *Agent) builder(inv ksef.Invoice, d decision, now time.Time) outbox.BuildFunc {
	return func(number string) (*outbox.Built, error) {
		// Checked here, inside the transaction, so that a replay of a sale
		// issued before the certificate became unusable still gets its
		// invoice: only a new offline invoice is refused.
		certProblem := a.offlineCertProblem(now)
		if certProblem != "" && needsKOD2(d.mode) && !d.technical {
			return nil, &OfflineCertError{Reason: certProblem}
		}
		inv := inv
		inv.Number = number
		xml, err := inv.XML()
		if err != nil {
			return nil, err
		}
		// KSeF refuses an oversized file whatever it holds, so such a sale is
		// refused here, on the exact bytes, before the number is committed:
		// the transaction rolls back and no number is used.
		if err := ksef.CheckSize(xml); err != nil {
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
		// Penalties are in PLN (art. 106ni): keep the PLN amounts of an
		// invoice in another currency.
		if vat, gross, err := inv.Sale.InPLN(tot); err != nil {
			return nil, err
		} else if vat != tot.VAT || gross != tot.Gross {
			b.VATPLN, b.GrossPLN = int64(vat), int64(gross)
		}
		// In a total failure there is no obligation to send
		// (tryby-offline.md): the invoice stays outside the upload queue
		// unless the operator opted in (Options.UploadTotalFailure).
		b.Outside = d.mode == ksef.ModeTotalFailure && !a.opts.UploadTotalFailure
		// KOD II is made for every mode but total failure, including online:
		// an online-first sale that gets no number in time is handed over
		// offline24 with the same bytes, so the same hash and link.
		if d.mode != ksef.ModeTotalFailure {
			signer, _ := a.offlineSigner()
			b.KOD2, err = ksef.KOD2(a.opts.Environment, a.opts.ContextType, a.opts.ContextValue, a.opts.Seller.NIP, hash, signer)
			if err != nil {
				return nil, fmt.Errorf("agent: sign KOD II: %w", err)
			}
		}
		dlMode := d.mode
		if dlMode == ksef.ModeOnline {
			dlMode = ksef.ModeOffline24 // the deadline that applies if the budget runs out
		}
		periods := a.periodsNow(ksef.DateOf(now))
		dl, err := a.opts.Calendar.Deadline(dlMode, p1, periods)
		if errors.Is(err, ksef.ErrNoPeriod) {
			// No announced period covers P_1: the law's deadline is then
			// offline24's (art. 106nda), whatever the mode (SetMode).
			dl, err = a.opts.Calendar.Deadline(ksef.ModeOffline24, p1, periods)
		}
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
		if b.BuyerClass == BuyerB2B && !inv.Sale.Buyer.VATExempt {
			snap.B2B = a.opts.B2BOffline
			b.Priority = wantsPriority(snap.B2B, d.mode)
		}
		// An online-first sale that misses its budget would be handed over
		// offline24 with a KOD II nobody can verify: with an unusable
		// Offline certificate it waits for its KSeF number instead (a B2B
		// buyer under confirmation or hold gets no codes anyway: handoutOf).
		snap.Hold = d.online && certProblem != ""
		// A receipt that goes to an idle printer at once is recorded started
		// here, so its first byte waits for no second fsync (the journal's).
		b.PrintStarted = !d.online && a.handoutOf(&outbox.Invoice{Mode: b.Mode}, &snap, nil) != handHeld && a.printerIdle()
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
	ref, err := a.api.SendInvoice(bctx, sess, rec.XML, ksefapi.SendOptions{OfflineMode: a.sendOffline(rec, rec.LastSendAt)})
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
