package agent

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"strings"
	"time"

	"github.com/posagent/posagent/internal/backoff"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/ksef/ksefapi"
	"github.com/posagent/posagent/outbox"
)

// uploadLoop is the upload scheduler: one goroutine owned by Run. It never
// gives up and never drops an invoice: every failure becomes a persisted
// not-before on the record and a jittered, capped wait here.
//
// The backoff grows once per failed round, and a failed round's wait is
// held: the kick of each new sale does not start another round (during an
// outage every sale kicks, and each kicked round used to count a failure,
// so fifteen sales pushed the wait to its cap in two seconds). While the
// link is down a probe (LinkProber) asks every LinkProbeInterval whether
// KSeF answers; when it does, a round starts at once (its success resets
// the backoff).
func (a *Agent) uploadLoop(ctx context.Context) {
	bo := &backoff.Backoff{Min: a.opts.RetryMin, Max: a.opts.RetryMax}
	timer := time.NewTimer(0)
	defer timer.Stop()
	probe := time.NewTimer(time.Hour) // armed only while the link is down
	probe.Stop()
	defer probe.Stop()
	held := false
	for {
		probed := false
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-a.kickUpload:
			if held {
				continue
			}
		case <-probe.C:
			if !a.pingLink(ctx) {
				probe.Reset(a.probeEvery())
				continue
			}
			a.log.Info("KSeF answers again; uploads resume", "consecutive_errors", bo.Failures())
			probed = true
		}
		probe.Stop()
		wait, failed := a.uploadRound(ctx, bo)
		if ctx.Err() != nil {
			return
		}
		held = failed
		// A round the probe started that fails again (KSeF answers the
		// probe but fails the uploads, a 5xx) waits out its backoff step:
		// at most one extra round per step.
		if failed && !probed && a.linkDown() && a.canProbe() {
			probe.Reset(a.probeEvery())
		}
		timer.Reset(wait)
	}
}

// uploadRound does one pass and returns how long to sleep before the next
// and whether it failed (its wait is then held against kicks).
func (a *Agent) uploadRound(ctx context.Context, bo *backoff.Backoff) (time.Duration, bool) {
	a.probe(ctx, false)
	a.syncDeadlines(ctx) // the feed may have opened or ended a period
	if err := a.ensureAuth(ctx); err != nil {
		return a.roundFailed(ctx, bo, "authenticate", err), true
	}
	a.fetchUPOs(ctx)
	a.archiveNearFull(ctx)
	pending, err := a.resolveSending(ctx)
	if err != nil {
		return a.roundFailed(ctx, bo, "resolve", err), true
	}
	now := a.now()
	// Without the XML: a batch streams it from the store one invoice at a
	// time, a trickle reads each just before sending it.
	due, err := a.store.ListDue(ctx, now, a.opts.BatchMax)
	if err != nil {
		return a.roundFailed(ctx, bo, "list uploads", err), true
	}
	if len(due) == 0 {
		a.sessMu.Lock()
		idle := a.sess != nil && now.Sub(a.sessUsed) >= sessionIdle
		a.sessMu.Unlock()
		if idle && !pending {
			a.closeSession(ctx)
		}
		a.probeIdleLink(ctx)
		return a.nextWake(ctx, pending), false
	}
	a.mu.Lock()
	limited := now.Before(a.rateLimited)
	a.mu.Unlock()
	if len(due) >= a.opts.BatchThreshold || (limited && len(due) > 1) {
		err = a.sendBatches(ctx, due, bo)
	} else {
		var stop int
		stop, err = a.sendTrickle(ctx, planned(due[:min(len(due), DefaultTrickleMax)]), bo)
		if rest := due[stop:]; rateLimit(err) != nil && len(rest) > 1 {
			// KSeF limits interactive sends (429): the rest of the backlog,
			// the refused invoice with it, goes in a batch session at once,
			// whose limits are apart (ksef-api.md §6: "use batch sessions
			// for backlog flushes"). A refused invoice left alone waits for
			// its Retry-After (its not-before); rateLimited prefers batches
			// until then.
			a.log.Info("interactive sends rate-limited; the rest goes in a batch session", "invoices", len(rest))
			err = a.sendBatches(ctx, rest, bo)
		}
	}
	if rateLimit(err) != nil {
		// Answered: the records refused carry the Retry-After as their
		// not-before, which nextWake honours, and the link is up.
		return max(a.opts.PollInterval, a.nextWake(ctx, false)), false
	}
	if err != nil {
		return a.roundFailed(ctx, bo, "upload", err), true
	}
	if bo.Failures() > 0 {
		a.log.Info("upload recovered", "consecutive_errors", bo.Failures())
	}
	bo.Reset()
	// Something was sent: look at its status soon.
	return a.opts.PollInterval, false
}

// rateLimit returns KSeF's 429 in err, or nil.
func rateLimit(err error) *ksefapi.APIError {
	var ae *ksefapi.APIError
	if errors.As(err, &ae) && ae.Status == http.StatusTooManyRequests {
		return ae
	}
	return nil
}

// roundFailed logs (rate-limited by the backoff count) and returns the wait:
// one backoff step per failed round, or a 429's Retry-After as given
// (ksefapi clamps it to MaxRetryAfter), which does not grow the backoff.
func (a *Agent) roundFailed(ctx context.Context, bo *backoff.Backoff, op string, err error) time.Duration {
	if ctx.Err() != nil {
		return 0
	}
	if ae := rateLimit(err); ae != nil && ae.RetryAfter > 0 {
		a.log.Info("KSeF asks to wait", "op", op, "retry_after", ae.RetryAfter)
		return ae.RetryAfter
	}
	d := bo.Next()
	if n := bo.Failures(); n == 1 || n%10 == 0 {
		a.log.Warn("upload round failed", "op", op, "error", err, "consecutive_errors", n, "retry_in", d)
	}
	return a.retryWait(ctx, d)
}

// retryWait is d, but not before the earliest persisted not-before.
func (a *Agent) retryWait(ctx context.Context, d time.Duration) time.Duration {
	if w := a.nextWake(ctx, false); w > d {
		return w
	}
	return d
}

// nextWake is the time until the earliest queued not-before, capped at
// UploadInterval; PollInterval while KSeF is still processing something.
func (a *Agent) nextWake(ctx context.Context, processing bool) time.Duration {
	if processing {
		return a.opts.PollInterval
	}
	wait := a.opts.UploadInterval
	now := a.now()
	// List leaves the XML out: only the not-before times matter here. Pages
	// are small and the scan stops at an invoice due now, since nothing
	// wakes earlier: during an outage every failed round asks, and a
	// backlog's first record is usually due.
	f := outbox.Filter{Upload: outbox.UploadQueued, Limit: nextWakeFirst}
	for seen := 0; seen < nextWakeScan; {
		q, err := a.store.List(ctx, f)
		if err != nil {
			return wait
		}
		for i := range q {
			inv := &q[i]
			at := inv.NotBefore
			if a.inBudget(inv, now) {
				at = inv.IssuedAt.Add(a.opts.OnlineBudget + time.Millisecond)
			}
			if d := at.Sub(now); d < wait {
				wait = max(d, time.Millisecond)
				if wait == time.Millisecond {
					return wait
				}
			}
		}
		if len(q) < f.Limit {
			break
		}
		seen += len(q)
		f.After = q[len(q)-1].ID
		f.Limit = min(2*f.Limit, nextWakePage)
	}
	return wait
}

// nextWake reads queued records in pages growing from nextWakeFirst to
// nextWakePage, at most nextWakeScan of them (the bound the single
// 1000-record read had).
const (
	nextWakeFirst = 4
	nextWakePage  = 128
	nextWakeScan  = 1000
)

// ensureAuth logs in when the client has no valid session with KSeF.
func (a *Agent) ensureAuth(ctx context.Context) error {
	a.mu.Lock()
	ok := a.authed
	a.mu.Unlock()
	if ok {
		return nil
	}
	_, err := a.api.Authenticate(ctx)
	a.noteLink(err)
	if err != nil {
		a.noteErr("authenticate", err)
		return fmt.Errorf("agent: authenticate: %w", err)
	}
	a.mu.Lock()
	a.authed = true
	a.mu.Unlock()
	return nil
}

// authLost marks the login as gone when err says so.
func (a *Agent) authLost(err error) {
	if errors.Is(err, ksefapi.ErrUnauthorized) {
		a.mu.Lock()
		a.authed = false
		a.mu.Unlock()
		a.dropSession(nil)
	}
}

// sessionIdle is how long an unused online session stays open: closing it
// starts the session UPO, reopening costs a key exchange.
const sessionIdle = 5 * time.Minute

// session returns the open online session, opening one if needed.
func (a *Agent) session(ctx context.Context) (*ksefapi.OnlineSession, error) {
	a.sessMu.Lock()
	defer a.sessMu.Unlock()
	a.sessUsed = a.now()
	if a.sess != nil && (a.sess.ValidUntil.IsZero() || a.now().Add(time.Minute).Before(a.sess.ValidUntil)) {
		return a.sess, nil
	}
	s, err := a.api.OpenOnline(ctx)
	if err != nil {
		a.authLost(err)
		return nil, fmt.Errorf("agent: open online session: %w", err)
	}
	a.sess = s
	return s, nil
}

// dropSession forgets s (or any session when s is nil) without closing it:
// KSeF refused it (21155, expiry), so a new one is opened next time.
func (a *Agent) dropSession(s *ksefapi.OnlineSession) {
	a.sessMu.Lock()
	if s == nil || a.sess == s {
		a.sess = nil
	}
	a.sessMu.Unlock()
}

// closeSession closes the idle online session, which starts its UPO.
func (a *Agent) closeSession(ctx context.Context) {
	a.sessMu.Lock()
	s := a.sess
	a.sess = nil
	a.sessMu.Unlock()
	if s == nil {
		return
	}
	if err := a.api.CloseOnline(ctx, s); err != nil && ctx.Err() == nil {
		a.log.Debug("close online session", "session", s.Reference, "error", err)
	}
}

// sendOffline is the offlineMode flag of every send, the online attempt's
// and the scheduler's alike: true for anything issued offline, for an
// online-first sale past its budget (handed over offline24), for a
// technical correction, and for anything sent on a later Warsaw day than
// its P_1. KSeF compares the calendar day of P_1 with the day it takes the
// invoice and classifies a later one as offline itself
// (offline/automatyczne-okreslanie-trybu-offline.md; tryby-offline.md:
// offline invoices are sent with offlineMode=true), so the flag must say so
// even for an online attempt that crosses midnight.
func (a *Agent) sendOffline(inv *outbox.Invoice, now time.Time) bool {
	if inv.TechnicalCorrectionOf != "" || inv.Mode == ksef.ModeTotalFailure.String() {
		// offline/korekta-techniczna.md: only with offlineMode=true; an
		// invoice of a total failure was issued outside KSeF, and is sent
		// (opted in) after the failure.
		return true
	}
	m, err := ksef.ParseMode(inv.Mode)
	if err == nil && m == ksef.ModeOnline && !a.isInflight(inv.ID) {
		m = ksef.ModeOffline24 // only the Issue attempt sends within the budget
	}
	p1, perr := ksef.ParseDate(inv.P1)
	if err != nil || perr != nil {
		return true
	}
	return ksef.SendOffline(m, p1, now)
}

// sendTrickle sends due invoices one by one in the online session, earliest
// deadline first. A failure stops it at the invoice it hit, whose index in
// due it returns (len(due) when none did): that invoice and the ones after
// it were not sent, or were refused and put back with a not-before.
func (a *Agent) sendTrickle(ctx context.Context, due []outbox.Invoice, bo *backoff.Backoff) (stop int, err error) {
	for i := range due {
		inv := &due[i]
		if a.isInflight(inv.ID) || a.inBudget(inv, a.now()) {
			continue
		}
		sess, err := a.session(ctx)
		a.noteLink(err)
		if err != nil {
			a.noteErr("upload", err)
			return i, a.maybeRateLimit(err)
		}
		xml := inv.XML
		if xml == nil {
			if xml, err = a.store.XML(ctx, inv.ID); err != nil {
				return i, err
			}
		}
		if err := a.store.MarkSending(ctx, inv.ID, sess.Reference); err != nil {
			continue // moved meanwhile (an online attempt took it)
		}
		inv.LastSendAt = a.now()
		opts := ksefapi.SendOptions{OfflineMode: a.sendOffline(inv, a.now())}
		if inv.TechnicalCorrectionOf != "" {
			h := inv.HashOfCorrected
			opts.HashOfCorrected = h[:]
		}
		ref, err := a.api.SendInvoice(ctx, sess, xml, opts)
		a.noteLink(err)
		if err != nil {
			a.noteErr("upload", err)
			a.failedSend(ctx, inv, sess, err, bo)
			if errors.Is(err, ksefapi.ErrSessionFull) {
				continue // a fresh session takes the rest
			}
			return i, err
		}
		if err := a.store.SetInvoiceRef(ctx, inv.ID, ref); err != nil {
			a.log.Warn("record invoice reference", "id", inv.ID, "error", err)
		}
	}
	return len(due), nil
}

func (a *Agent) isInflight(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.inflight[id]
}

// failedSend decides what a failed Send means for the record, which is in
// state sending.
func (a *Agent) failedSend(ctx context.Context, inv *outbox.Invoice, sess *ksefapi.OnlineSession, err error, bo *backoff.Backoff) {
	ctx = context.WithoutCancel(ctx)
	now := a.now()
	code := errCode(err)
	var ae *ksefapi.APIError
	isAPI := errors.As(err, &ae)
	switch {
	case errors.Is(err, ksefapi.ErrSessionFull):
		a.dropSession(sess)
		a.retry(ctx, inv.ID, now, code)
	case errors.Is(err, ksefapi.ErrTechnicalCorrectionUnavailable), errors.Is(err, ksefapi.ErrTechnicalCorrectionNotAllowed):
		a.reject(ctx, inv, code, err.Error())
	case isAPI && ae.Status == 429:
		// Retry-After as given (ksefapi clamps it); without one, a backoff step.
		a.maybeRateLimit(err)
		wait := ae.RetryAfter
		if wait <= 0 {
			wait = nextStep(bo)
		}
		a.retry(ctx, inv.ID, now.Add(wait), code)
	case errors.Is(err, ksefapi.ErrUnauthorized), errors.Is(err, ksefapi.ErrSessionClosed):
		a.authLost(err)
		a.dropSession(sess)
		a.retry(ctx, inv.ID, now, code)
	case isAPI && ae.Status >= 400 && ae.Status < 500 && !ae.Retryable():
		// Answered and refused: the session may have expired (21180) or the
		// request is wrong. KSeF did not take the invoice, so a resend in a
		// new session is safe; a persistent refusal keeps the backoff long.
		a.dropSession(sess)
		a.retry(ctx, inv.ID, now.Add(bo.Next()), code)
	case answered(ae):
		// A complete answer (5xx, or a 4xx that may pass): the request is
		// over, nothing of it is still in flight, so it is queued again at
		// once behind the backoff. Had KSeF taken it anyway, the resend
		// meets a 440 whose original has our hash and counts as accepted.
		a.retry(ctx, inv.ID, now.Add(nextStep(bo)), code)
	default:
		// Outcome unknown (timeout, connection dropped mid-request): the
		// invoice may still land. Leave it sending; resolveSending asks
		// KSeF for the session's invoices and matches our hash, and only
		// after SendGrace is it sent again.
	}
}

// answered reports whether ae (the *APIError a caller already took out of
// the error, or nil) is a complete HTTP answer from KSeF, as opposed to a
// transport failure whose request may still be processed.
func answered(ae *ksefapi.APIError) bool {
	return ae != nil && ae.Status > 0
}

// nextStep is bo's next delay drawn on a copy, for not-before times set
// inside a round that fails: the round counts the failure once
// (roundFailed), not once per record.
func nextStep(bo *backoff.Backoff) time.Duration {
	peek := *bo
	return peek.Next()
}

// maybeRateLimit notes a 429 and returns err.
func (a *Agent) maybeRateLimit(err error) error {
	if ae := rateLimit(err); ae != nil {
		a.mu.Lock()
		a.rateLimited = a.now().Add(max(ae.RetryAfter, time.Minute))
		a.mu.Unlock()
	}
	return err
}

func (a *Agent) retry(ctx context.Context, id string, notBefore time.Time, code string) {
	if code == "" {
		code = "transport"
	}
	if err := a.store.Retry(ctx, id, notBefore, code); err != nil {
		a.log.Warn("requeue invoice", "id", id, "error", err)
	}
}

func (a *Agent) reject(ctx context.Context, inv *outbox.Invoice, code, details string) {
	if err := a.store.MarkRejected(ctx, inv.ID, code, details); err != nil {
		a.log.Warn("mark rejected", "id", inv.ID, "error", err)
		return
	}
	a.log.Error("ALARM: KSeF rejected an invoice; it awaits a technical correction",
		"id", inv.ID, "number", inv.Number, "code", code, "details", details)
	a.noteErr("rejected", fmt.Errorf("invoice %s rejected: %s %s", inv.Number, code, details))
}

// resolveSending settles records left in state sending — by an earlier
// round, an online attempt that ran out of budget, or a previous run that
// stopped mid-upload — by asking KSeF, never by guessing: the invoice
// status by its reference, or the session's invoices matched by hash; with
// no reference at all it is queued again, and a resend that meets a 440
// whose original has our hash counts as accepted. It reports whether KSeF
// is still processing any of them.
func (a *Agent) resolveSending(ctx context.Context) (processing bool, err error) {
	// One list (and at most one status) per session and round: a batch of
	// 10 000 records left sending is settled by one paged list, not 10 000.
	views := map[string]*sessionView{}
	after := ""
	for {
		list, err := a.store.List(ctx, outbox.Filter{Upload: outbox.UploadSending, After: after, Limit: 200})
		if err != nil {
			return processing, err
		}
		for i := range list {
			inv := &list[i]
			if a.isInflight(inv.ID) || a.inBudget(inv, a.now()) {
				processing = true
				continue
			}
			p, err := a.resolveOne(ctx, inv, views)
			if err != nil {
				return processing, err
			}
			processing = processing || p
		}
		if len(list) < 200 {
			return processing, nil
		}
		after = list[len(list)-1].ID
	}
}

func (a *Agent) resolveOne(ctx context.Context, inv *outbox.Invoice, views map[string]*sessionView) (processing bool, err error) {
	switch {
	case inv.SessionRef != "" && inv.InvoiceRef != "":
		st, err := a.api.InvoiceStatus(ctx, inv.SessionRef, inv.InvoiceRef)
		a.noteLink(err)
		if err != nil {
			var ae *ksefapi.APIError
			if errors.As(err, &ae) && ae.Status == 404 {
				a.retry(ctx, inv.ID, a.now(), "404")
				return false, nil
			}
			a.authLost(err)
			return false, fmt.Errorf("agent: invoice status of %s: %w", inv.Number, err)
		}
		return !a.applyStatus(ctx, inv, st), nil
	case inv.SessionRef != "":
		v := views[inv.SessionRef]
		if v == nil {
			v = &sessionView{}
			if err := a.listSession(ctx, inv.SessionRef, v); err != nil {
				return false, err
			}
			views[inv.SessionRef] = v
		}
		if v.gone {
			a.retry(ctx, inv.ID, a.now(), "404")
			return false, nil
		}
		if st := v.find(inv); st != nil {
			return !a.settle(ctx, inv, st), nil
		}
		// KSeF's session does not hold it. Once the grace has passed a send
		// still on the wire has landed or never will.
		if !a.inGrace(inv) {
			a.retry(ctx, inv.ID, a.now(), "not_in_session")
			return false, nil
		}
		// Within the grace only a session KSeF calls final settles it: its
		// list is then complete. An open or processing one keeps the grace
		// (a batch whose close may have reached KSeF, a send in flight).
		final, err := a.sessionFinal(ctx, inv.SessionRef, v)
		if err != nil || !final {
			return true, err
		}
		if st := v.find(inv); st != nil {
			return !a.settle(ctx, inv, st), nil
		}
		a.retry(ctx, inv.ID, a.now(), fmt.Sprint("session_", v.code))
		return false, nil
	case inv.Batch != "":
		// A batch with no session recorded: the run stopped before OnOpen
		// stored the session KSeF named, and SendBatch sends the close only
		// after that, so KSeF never processes it. Nothing can land.
		a.retry(ctx, inv.ID, a.now(), "batch_not_closed")
		return false, nil
	default:
		// Sending with no session and no batch: a record written before
		// either was stored. Resend after the grace; a 440 whose original
		// has our hash settles it.
		if a.inGrace(inv) {
			return true, nil
		}
		a.retry(ctx, inv.ID, a.now(), "unknown")
		return false, nil
	}
}

// sessionView is what one resolve round learned of a KSeF session.
type sessionView struct {
	list   []ksefapi.InvoiceStatus
	gone   bool // KSeF does not know the session (404)
	asked  bool // its status was asked this round
	code   int  // the status code, once asked; 0 if the call failed
	byHash map[string]*ksefapi.InvoiceStatus
}

// find returns the session's entry for inv's hash, or nil.
func (v *sessionView) find(inv *outbox.Invoice) *ksefapi.InvoiceStatus {
	if v.byHash == nil {
		v.byHash = make(map[string]*ksefapi.InvoiceStatus, len(v.list))
		for i := range v.list {
			v.byHash[v.list[i].InvoiceHash] = &v.list[i]
		}
	}
	return v.byHash[inv.Hash.Base64()]
}

// listSession reads the session's invoice list into v.
func (a *Agent) listSession(ctx context.Context, ref string, v *sessionView) error {
	all, err := a.api.AllInvoices(ctx, ref, false)
	a.noteLink(err)
	if err != nil {
		var ae *ksefapi.APIError
		if errors.As(err, &ae) && ae.Status == 404 {
			v.gone = true
			return nil
		}
		a.authLost(err)
		return fmt.Errorf("agent: session invoices of %s: %w", ref, err)
	}
	v.list, v.byHash = all, nil
	return nil
}

// sessionFinal asks KSeF, once per round, whether the session is final
// (processed, failed or cancelled: code 200 and up). A final session's list
// is read again: the one read before the answer may predate the end of its
// processing. A failed status call is no answer: the grace holds.
func (a *Agent) sessionFinal(ctx context.Context, ref string, v *sessionView) (bool, error) {
	if v.asked {
		// A final code means list was read again after it: a failed read
		// returned its error and ended the round.
		return v.code >= ksefapi.SessionDone, nil
	}
	v.asked = true
	st, err := a.api.SessionStatus(ctx, ref)
	a.noteLink(err)
	if err != nil {
		a.authLost(err)
		a.log.Debug("session status", "session", ref, "error", err)
		return false, nil
	}
	v.code = st.Status.Code
	if v.code < ksefapi.SessionDone {
		return false, nil
	}
	if err := a.listSession(ctx, ref, v); err != nil {
		return false, err
	}
	return true, nil
}

// settle applies a session list entry: its reference, then its status.
func (a *Agent) settle(ctx context.Context, inv *outbox.Invoice, st *ksefapi.InvoiceStatus) (final bool) {
	if st.ReferenceNumber != "" {
		_ = a.store.SetInvoiceRef(ctx, inv.ID, st.ReferenceNumber)
	}
	return a.applyStatus(ctx, inv, st)
}

// inGrace reports whether the last send of inv started less than SendGrace
// ago. A record without LastSendAt (written before the field existed) has
// had its grace.
func (a *Agent) inGrace(inv *outbox.Invoice) bool {
	return !inv.LastSendAt.IsZero() && a.now().Sub(inv.LastSendAt) < a.opts.SendGrace
}

// applyStatus moves the record by KSeF's invoice status and reports whether
// the status was final.
func (a *Agent) applyStatus(ctx context.Context, inv *outbox.Invoice, st *ksefapi.InvoiceStatus) (final bool) {
	switch code := st.Code(); {
	case code == ksefapi.InvoiceSuccess:
		a.accept(ctx, inv, st.KsefNumber, st.AcquisitionDate, st.UpoDownloadURL)
		return true
	case code == ksefapi.InvoiceDuplicate:
		return a.duplicate(ctx, inv, st)
	case !st.Final():
		return false
	}
	err := st.Err()
	var se *ksefapi.StatusError
	if errors.As(err, &se) && se.Retryable() {
		a.retry(ctx, inv.ID, a.now().Add(a.opts.RetryMin), fmt.Sprint(se.Code))
		return true
	}
	details := st.Status.Description
	if len(st.Status.Details) > 0 {
		details += ": " + strings.Join(st.Status.Details, "; ")
	}
	a.reject(ctx, inv, fmt.Sprint(st.Code()), details)
	return true
}

// duplicate handles status 440: KSeF already has an invoice with our
// number. It counts as ours only if the original's hash is our hash.
func (a *Agent) duplicate(ctx context.Context, inv *outbox.Invoice, st *ksefapi.InvoiceStatus) bool {
	num, sref := st.OriginalKsefNumber(), st.OriginalSessionReferenceNumber()
	if num == "" || sref == "" {
		a.reject(ctx, inv, "440", "duplicate without the original's KSeF number")
		return true
	}
	orig, err := a.api.AllInvoices(ctx, sref, false)
	a.noteLink(err)
	if err != nil {
		a.noteErr("duplicate check", err)
		return false // ask again next round
	}
	for i := range orig {
		if orig[i].KsefNumber != num {
			continue
		}
		if orig[i].InvoiceHash != inv.Hash.Base64() {
			a.reject(ctx, inv, "440", "number "+inv.Number+" is already in KSeF as "+num+" with different content")
			return true
		}
		a.log.Info("duplicate of our own invoice: accepted with the original KSeF number", "id", inv.ID, "ksef", num)
		a.accept(ctx, inv, num, orig[i].AcquisitionDate, orig[i].UpoDownloadURL)
		return true
	}
	return false
}

func (a *Agent) accept(ctx context.Context, inv *outbox.Invoice, number string, acquired *time.Time, upoURL string) {
	acc := outbox.Acceptance{KSeFNumber: number}
	if acquired != nil {
		acc.AcquiredAt = *acquired
	}
	upoFailed := false
	if upoURL != "" {
		if _, b, err := a.api.DownloadUPO(ctx, upoURL); err == nil {
			acc.UPO = b
		} else {
			a.noteErr("upo", err)
			upoFailed = true
		}
	}
	if err := a.store.MarkAccepted(ctx, inv.ID, acc); err != nil {
		a.log.Warn("mark accepted", "id", inv.ID, "error", err)
		return
	}
	if upoFailed {
		a.mu.Lock()
		a.upoPending[inv.ID] = upoURL
		a.mu.Unlock()
	}
	a.log.Info("accepted by KSeF", "id", inv.ID, "number", inv.Number, "ksef", number)
	if !inv.LastSendAt.IsZero() && a.m != nil {
		a.m.uploadSeconds.ObserveDuration(a.now().Sub(inv.LastSendAt))
	}
	a.releaseWaiting(inv.ID) // held prints may go now
	a.printAccepted(ctx, inv)
	a.issuePending(ctx, inv.ID)
	if inv.TechnicalCorrectionOf != "" {
		a.issuePending(ctx, inv.TechnicalCorrectionOf) // asked of the rejected original
	}
	kick(a.kickUpload) // released and newly issued corrections
}

// sendBatches sends a backlog in batch sessions: offline and online-mode
// invoices apart (offlineMode is per session), technical corrections alone
// in the online session (they need a per-invoice hashOfCorrectedInvoice).
func (a *Agent) sendBatches(ctx context.Context, due []outbox.Due, bo *backoff.Backoff) error {
	now := a.now()
	var offline, online, tech []outbox.Due
	for _, d := range due {
		inv := planned([]outbox.Due{d})[0]
		switch {
		case a.isInflight(inv.ID), a.inBudget(&inv, now):
		case inv.TechnicalCorrectionOf != "":
			tech = append(tech, d)
		case a.sendOffline(&inv, now):
			offline = append(offline, d)
		default:
			online = append(online, d)
		}
	}
	for _, g := range []struct {
		list    []outbox.Due
		offline bool
	}{{offline, true}, {online, false}} {
		if len(g.list) == 0 {
			continue
		}
		if err := a.sendBatch(ctx, g.list, g.offline, bo); err != nil {
			return err
		}
	}
	if len(tech) > 0 {
		_, err := a.sendTrickle(ctx, planned(tech), &backoff.Backoff{Min: a.opts.RetryMin, Max: a.opts.RetryMax})
		return err
	}
	return nil
}

// sendBatch sends list in one batch session. The records are marked sending
// under a batch label, in one transaction or, on a store near its cap, in
// chunks that fit (markChunk); the iterator handed to SendBatch
// reads each invoice's XML from the store only when the archive writer asks
// for it, so memory stays flat for 10 000 invoices. Once KSeF has named the
// session its reference goes onto the records, and every outcome that is not
// final is left to resolveSending, which asks KSeF before any resend —
// except a session KSeF cannot process (its close was never sent, or was
// refused): its records are queued again at once, behind the round's
// backoff, not after SendGrace.
func (a *Agent) sendBatch(ctx context.Context, list []outbox.Due, offline bool, bo *backoff.Backoff) error {
	ids := make([]string, len(list))
	byID := make(map[string]*outbox.Due, len(list))
	for i := range list {
		ids[i] = list[i].ID
		byID[list[i].ID] = &list[i]
	}
	batch := fmt.Sprintf("B%s-%d", ids[0], a.now().UnixMilli())
	chunk := a.markChunk(len(ids))
	moved, err := a.markSending(ctx, ids, batch, chunk)
	if err != nil {
		return err
	}
	if len(moved) == 0 {
		return nil
	}
	sentAt := a.now()
	var readErr error
	files := func(yield func(string, []byte) bool) {
		for _, id := range moved {
			xml, err := a.store.XML(ctx, id)
			if err != nil {
				// An empty file makes SendBatch refuse the archive before any
				// session opens: nothing reaches KSeF, everything is requeued.
				readErr = fmt.Errorf("agent: read XML of %s for the batch: %w", id, err)
				yield(id+".xml", nil)
				return
			}
			if !yield(id+".xml", xml) {
				return
			}
		}
	}
	a.log.Info("batch session", "invoices", len(moved), "offline", offline, "batch", batch)
	// The session reference is stored the moment KSeF opens the session, so a
	// crash during the upload is resolved from that session, not by a resend.
	onOpen := func(ctx context.Context, ref string) error {
		ctx = context.WithoutCancel(ctx)
		for lo := 0; lo < len(moved); lo += chunk {
			if _, err := a.store.SetSessionRef(ctx, moved[lo:min(lo+chunk, len(moved))], batch, ref); err != nil {
				return err
			}
		}
		return nil
	}
	res, err := a.api.SendBatch(ctx, iter.Seq2[string, []byte](files), ksefapi.BatchOptions{OfflineMode: offline, TempDir: a.opts.TempDir, OnOpen: onOpen})
	if readErr != nil {
		err = errors.Join(readErr, err)
	}
	a.noteLink(err)
	ref := ""
	if res != nil {
		ref = res.Reference
	}
	if err != nil {
		a.noteErr("batch", err)
		a.authLost(err)
	}
	wctx := context.WithoutCancel(ctx)
	var be *ksefapi.BatchError
	switch {
	case ref == "":
		// No session: nothing reached KSeF.
		if err == nil {
			err = errors.New("agent: batch session without reference")
		}
		a.requeueBatch(wctx, moved, err, bo)
		return a.maybeRateLimit(err)
	case err != nil && errors.As(err, &be) && !be.MayProcess():
		// KSeF opened the session, but the close was never sent or was
		// refused: KSeF never processes it (it cancels it when the upload
		// window ends), so nothing of it can land.
		a.log.Info("batch session dropped before its close; invoices queued again",
			"session", ref, "stage", be.Stage, "invoices", len(moved))
		a.requeueBatch(wctx, moved, err, bo)
		return a.maybeRateLimit(err)
	case err != nil:
		// The close may have reached KSeF, or the polling failed, or we are
		// stopping: resolveSending asks KSeF for the session's status.
		return err
	}
	all, lerr := a.api.AllInvoices(wctx, ref, false)
	a.noteLink(lerr)
	if lerr != nil {
		return lerr
	}
	byHash := make(map[string]*ksefapi.InvoiceStatus, len(all))
	for i := range all {
		byHash[all[i].InvoiceHash] = &all[i]
	}
	for _, id := range moved {
		inv := &planned([]outbox.Due{*byID[id]})[0]
		inv.Upload, inv.SessionRef, inv.LastSendAt = outbox.UploadSending, ref, sentAt
		st, ok := byHash[inv.Hash.Base64()]
		switch {
		case ok && st.Final():
			a.applyStatus(wctx, inv, st)
		case ok:
			// Still processing: resolveSending polls the session.
		default:
			// The session was processed and does not hold it.
			a.retry(wctx, id, a.now(), "not_in_session")
		}
	}
	return nil
}

// requeueBatch queues ids again after a batch KSeF cannot process: not
// before the round's next backoff step (nextStep) or the Retry-After KSeF
// asked for.
func (a *Agent) requeueBatch(ctx context.Context, ids []string, err error, bo *backoff.Backoff) {
	now := a.now()
	nb := now.Add(nextStep(bo))
	var ae *ksefapi.APIError
	if errors.As(err, &ae) && ae.RetryAfter > 0 && now.Add(ae.RetryAfter).After(nb) {
		nb = now.Add(ae.RetryAfter)
	}
	code := errCode(err)
	for _, id := range ids {
		a.retry(ctx, id, nb, code)
	}
}

// markSending marks ids sending under batch, chunk records per transaction.
// If a chunk fails, the records already moved are queued again, so none is
// left sending for a batch that never started.
func (a *Agent) markSending(ctx context.Context, ids []string, batch string, chunk int) ([]string, error) {
	var moved []string
	for lo := 0; lo < len(ids); lo += chunk {
		m, err := a.store.MarkSendingBatch(ctx, ids[lo:min(lo+chunk, len(ids))], batch)
		if err != nil {
			wctx := context.WithoutCancel(ctx)
			for _, id := range moved {
				a.retry(wctx, id, a.now(), "mark_sending")
			}
			return nil, fmt.Errorf("agent: mark batch sending: %w", err)
		}
		moved = append(moved, m...)
	}
	return moved, nil
}

// markChunk is how many records one transaction of a batch marks. Each
// moved record rewrites its pages, which bbolt holds in memory until the
// commit (4–6 KB a record: 10 000 in one transaction would take 40–60 MB),
// so even a roomy store marks at most roomyMarkChunk at a time. On a store
// near its cap the free space (the headroom and drain reserve outbox keeps)
// is cut into transactions that fit with a wide margin, at the cost of a few
// more fsyncs.
func (a *Agent) markChunk(n int) int {
	n = max(n, 1)
	room, err := a.store.Room()
	if err != nil || !room.NearFull() {
		return min(n, roomyMarkChunk)
	}
	return min(max(int(room.Free/markCostPerRecord), minMarkChunk), maxMarkChunk, n)
}

// markCostPerRecord bounds the pages one record's transition rewrites (its
// leaf in the records and the index, shared with its neighbours); the chunk
// bounds keep a tiny store moving and a roomy one from one huge commit.
const (
	markCostPerRecord = 16 << 10
	minMarkChunk      = 8
	maxMarkChunk      = 256
	roomyMarkChunk    = 500
)

// archiveNearFull moves accepted invoices past their retention to the
// archive when the store is near its cap, at most every archiveEvery, so
// their pages are free for the queue's transitions.
func (a *Agent) archiveNearFull(ctx context.Context) {
	room, err := a.store.Room()
	if err != nil || !room.NearFull() {
		return
	}
	now := a.now()
	a.mu.Lock()
	due := now.Sub(a.archivedAt) >= archiveEvery
	if due {
		a.archivedAt = now
	}
	a.mu.Unlock()
	if !due {
		return
	}
	n, err := a.store.Archive(ctx)
	switch {
	case err != nil && ctx.Err() == nil:
		a.log.Warn("archive on a near-full store", "error", err)
	case n > 0:
		a.log.Info("archived accepted invoices to make room", "invoices", n, "used", room.Used, "capacity", room.Capacity)
	}
}

const archiveEvery = 10 * time.Minute

// planned turns due summaries into the queued records they stand for, with
// what sending and settling them reads (no XML: sendTrickle reads it).
func planned(due []outbox.Due) []outbox.Invoice {
	out := make([]outbox.Invoice, len(due))
	for i, d := range due {
		out[i] = outbox.Invoice{ID: d.ID, Number: d.Number, Hash: d.Hash, Mode: d.Mode, P1: d.P1, IssuedAt: d.IssuedAt,
			TechnicalCorrectionOf: d.TechnicalCorrectionOf, HashOfCorrected: d.HashOfCorrected, Upload: outbox.UploadQueued}
	}
	return out
}

// fetchUPOs retries UPO downloads that failed at acceptance. The pre-signed
// links expire, so this is best effort; they are not kept across restarts.
func (a *Agent) fetchUPOs(ctx context.Context) {
	a.mu.Lock()
	todo := make(map[string]string, len(a.upoPending))
	for id, u := range a.upoPending {
		todo[id] = u
	}
	a.mu.Unlock()
	for id, u := range todo {
		_, b, err := a.api.DownloadUPO(ctx, u)
		if err != nil {
			continue
		}
		if err := a.store.AttachUPO(ctx, id, b); err != nil {
			a.log.Warn("attach UPO", "id", id, "error", err)
			continue
		}
		a.mu.Lock()
		delete(a.upoPending, id)
		a.mu.Unlock()
	}
}
