package agent

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/outbox"
)

// Status is the agent's state for the till, the status page and doctor.
type Status struct {
	Link        string    `json:"link"` // up, down or unknown: the last KSeF call
	LinkChecked time.Time `json:"link_checked,omitzero"`
	KSeF        string    `json:"ksef"` // availability feed: AVAILABLE, MAINTENANCE, FAILURE, TOTAL_FAILURE or unknown
	Mode        string    `json:"mode"` // the mode a new sale gets now
	Override    string    `json:"override,omitempty"`
	Policy      string    `json:"policy"`

	Printer PrinterStatus `json:"printer"`

	Backlog          int            `json:"backlog"` // not yet accepted: queued, sending, blocked
	Upload           map[string]int `json:"upload"`  // invoices per upload state
	Print            map[string]int `json:"print"`   // print jobs per state
	EarliestDeadline time.Time      `json:"earliest_deadline,omitzero"`
	DueToday         int            `json:"due_today"`
	Overdue          []OverdueView  `json:"overdue,omitempty"`
	PenaltyExposure  ksef.Amount    `json:"penalty_exposure"` // PLN, the sum of Overdue's Penalty

	CertSerial   string    `json:"cert_serial,omitempty"`
	CertNotAfter time.Time `json:"cert_not_after,omitzero"`
	CertDaysLeft int       `json:"cert_days_left"`
	// OfflineRefused says why offline invoices are refused now
	// (ErrOfflineCertificateInvalid); empty while the Offline certificate
	// can sign KOD II.
	OfflineRefused string      `json:"offline_refused,omitempty"`
	Certificates   []CertState `json:"certificates,omitempty"` // Offline first
	Auth           AuthStatus  `json:"auth"`

	StoreUsed  int64 `json:"store_used"`
	StoreLimit int64 `json:"store_limit"`

	Errors []ErrorEntry `json:"errors,omitempty"` // the last 20, oldest first
}

// AuthStatus is how the agent logs in to KSeF and how that goes.
type AuthStatus struct {
	Method       string    `json:"method,omitempty"` // token or xades
	FailedLogins int       `json:"failed_logins"`    // consecutive
	LastFailure  time.Time `json:"last_failure,omitzero"`
	// TokensEnd and TokenDaysLeft warn a token station of 2027-01-01.
	TokensEnd     time.Time `json:"tokens_end,omitzero"`
	TokenDaysLeft int       `json:"token_days_left,omitempty"`
	Alarm         string    `json:"alarm,omitempty"`
}

// PrinterStatus is what the print worker last knew.
type PrinterStatus struct {
	Connected    bool      `json:"connected"`
	Known        bool      `json:"known"`
	PaperOut     bool      `json:"paper_out,omitempty"`
	PaperNearEnd bool      `json:"paper_near_end,omitempty"`
	CoverOpen    bool      `json:"cover_open,omitempty"`
	Offline      bool      `json:"offline,omitempty"`
	LastError    string    `json:"last_error,omitempty"`
	Queued       int       `json:"queued"` // the worker's in-memory queue
	Updated      time.Time `json:"updated,omitzero"`
	// Pending is the store's count of print jobs not yet printed: the
	// receipts still to come out, whatever the worker holds.
	Pending int `json:"pending"`
	// Uncertain counts the receipts a restart parked uncertain that no
	// duplicate has settled; UncertainReceipts lists the first of them.
	Uncertain         int             `json:"uncertain"`
	UncertainReceipts []UncertainView `json:"uncertain_receipts,omitempty"`
}

// UncertainView is a receipt that may or may not have reached the paper
// before a crash and was too old to print again; reprint it as DUPLIKAT.
type UncertainView struct {
	ID           string    `json:"id"`
	Number       string    `json:"number"`
	IssuedAt     time.Time `json:"issued_at"`
	FirstAttempt time.Time `json:"first_attempt,omitzero"` // zero: never tried
}

// MaxUncertainListed is how many uncertain receipts Status lists; the till
// API's state filter print_uncertain lists all.
const MaxUncertainListed = 20

// OverdueView is an invoice past its upload deadline; it is still uploaded.
type OverdueView struct {
	ID       string      `json:"id"`
	Number   string      `json:"number"`
	Deadline time.Time   `json:"deadline"`
	Upload   string      `json:"upload_state"`
	Gross    ksef.Amount `json:"gross"` // in the invoice's currency
	VAT      ksef.Amount `json:"vat"`
	// Penalty is the most art. 106ni allows for this invoice, in PLN: 0 for
	// a deadline before 2027-01-01, never negative (ksef.PenaltyFor).
	Penalty ksef.Amount `json:"penalty"`
	Basis   string      `json:"penalty_basis"` // "100% VAT", "18.7% gross" or "none"
}

// Status reports the link, KSeF availability, mode, printer, backlog and
// deadlines, certificate and recent errors.
func (a *Agent) Status(ctx context.Context) (*Status, error) {
	now := a.now()
	st, err := a.store.Stats(ctx, now)
	if err != nil {
		return nil, storeErr("status", err)
	}
	out := &Status{
		Mode:   a.modeName(),
		Policy: string(a.opts.Policy),
		Upload: map[string]int{}, Print: map[string]int{},
		EarliestDeadline: st.EarliestDeadline,
		StoreUsed:        st.Used, StoreLimit: st.Limit,
	}
	for k, n := range st.Upload {
		out.Upload[string(k)] = n
	}
	for k, n := range st.Print {
		out.Print[string(k)] = n
	}
	out.Backlog = st.Upload[outbox.UploadQueued] + st.Upload[outbox.UploadSending] + st.Upload[outbox.UploadBlocked]
	out.Overdue = overdueViews(st.Overdue)
	for _, o := range out.Overdue {
		out.PenaltyExposure += o.Penalty
	}
	if out.DueToday, err = a.dueToday(ctx, now); err != nil {
		return nil, err
	}
	a.mu.Lock()
	out.Link = a.link
	out.LinkChecked = a.linkChecked
	out.KSeF = string(a.feedStatus)
	out.Override = a.override
	out.Errors = append([]ErrorEntry(nil), a.errs...)
	a.mu.Unlock()
	if out.Link == "" {
		out.Link = "unknown"
	}
	if out.KSeF == "" {
		out.KSeF = "unknown"
	}
	ps := a.printer.State()
	out.Printer = PrinterStatus{Connected: ps.Connected, Known: ps.Known, PaperOut: ps.Status.PaperOut,
		PaperNearEnd: ps.Status.PaperNearEnd, CoverOpen: ps.Status.CoverOpen, Offline: ps.Status.Offline,
		Queued: ps.Queued, Updated: ps.Updated, Pending: st.Print[outbox.PrintPending], Uncertain: st.Uncertain}
	if st.Uncertain > 0 {
		if out.Printer.UncertainReceipts, err = a.uncertainViews(ctx); err != nil {
			return nil, err
		}
	}
	if ps.LastErr != nil {
		out.Printer.LastError = ps.LastErr.Error()
	}
	signer, cert := a.offlineSigner()
	out.CertSerial = signer.CertSerial()
	if cert != nil {
		out.CertNotAfter = cert.NotAfter
		out.CertDaysLeft = daysLeft(cert.NotAfter, now)
	}
	out.OfflineRefused = a.offlineCertProblem(now)
	out.Certificates = a.Certificates()
	out.Auth = a.authStatus(now)
	return out, nil
}

// uncertainViews lists the first MaxUncertainListed uncertain receipts.
func (a *Agent) uncertainViews(ctx context.Context) ([]UncertainView, error) {
	list, err := a.store.List(ctx, outbox.Filter{Print: outbox.PrintUncertain, Limit: MaxUncertainListed})
	if err != nil {
		return nil, storeErr("status", err)
	}
	out := make([]UncertainView, 0, len(list))
	for _, inv := range list {
		u := UncertainView{ID: inv.ID, Number: inv.Number, IssuedAt: inv.IssuedAt}
		if j, err := a.store.PrintJob(ctx, inv.PrintJobID); err == nil {
			u.FirstAttempt = j.FirstAttempt()
		}
		out = append(out, u)
	}
	return out, nil
}

// daysLeft is whole days from now to t, rounded down: negative as soon as t
// has passed, so an expired certificate never shows "0 days left".
func daysLeft(t, now time.Time) int {
	d := t.Sub(now)
	days := int(d / (24 * time.Hour))
	if d < 0 && d%(24*time.Hour) != 0 {
		days--
	}
	return days
}

// dueToday counts invoices not accepted whose deadline is today (Warsaw).
func (a *Agent) dueToday(ctx context.Context, now time.Time) (int, error) {
	today := ksef.DateOf(now)
	n, err := a.store.CountDue(ctx, today.Start(), today.AddDays(1).Start())
	if err != nil {
		return 0, storeErr("status", err)
	}
	return n, nil
}

// Flush wakes the upload scheduler and returns when nothing is left to
// upload (queued, sending or blocked) and no pending correction whose
// original KSeF accepted waits to be issued, or when ctx ends. Rejected
// invoices, and corrections blocked or pending on them, wait for a
// technical correction and do not count. It needs Run: without it Flush
// returns ErrNotRunning after a second.
func (a *Agent) Flush(ctx context.Context) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	// Run may be starting in another goroutine: allow it a moment.
	grace := time.Now().Add(time.Second)
	for {
		a.mu.Lock()
		running := a.running
		a.mu.Unlock()
		if !running && time.Now().After(grace) {
			return ErrNotRunning
		}
		done, err := a.flushed(ctx)
		if err != nil || done {
			return err
		}
		kick(a.kickUpload)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// flushed reports whether Flush may return. The counts are read again after
// the pending corrections: the upload loop may issue one (consuming it and
// queueing its invoice in one transaction) between the two reads, and the
// first counts alone would then miss the queued correction.
func (a *Agent) flushed(ctx context.Context) (bool, error) {
	idle := func() (bool, error) {
		st, err := a.store.Stats(ctx, a.now())
		if err != nil {
			return false, storeErr("flush", err)
		}
		if st.Upload[outbox.UploadQueued]+st.Upload[outbox.UploadSending] != 0 {
			return false, nil
		}
		stuck, err := a.blockedOnRejected(ctx)
		return st.Upload[outbox.UploadBlocked] == stuck, err
	}
	if ok, err := idle(); !ok || err != nil {
		return false, err
	}
	ready, err := a.pendingReady(ctx)
	if err != nil || ready {
		return false, err
	}
	return idle()
}

// monitorLoop is the deadline monitor, one goroutine owned by Run: it keeps
// the backlog and deadline gauges current and raises a rate-limited alarm
// for overdue invoices, which stay queued and are never dropped.
func (a *Agent) monitorLoop(ctx context.Context) {
	t := time.NewTicker(min(a.opts.PrintInterval, 10*time.Second))
	defer t.Stop()
	for {
		a.monitor(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (a *Agent) monitor(ctx context.Context) {
	a.syncDeadlines(ctx) // a period still open moves its deadlines on each day
	a.flushProbes(ctx)   // the failed probes of a total failure, into the journal
	now := a.now()
	st, err := a.store.Stats(ctx, now)
	if err != nil {
		return
	}
	backlog := st.Upload[outbox.UploadQueued] + st.Upload[outbox.UploadSending] + st.Upload[outbox.UploadBlocked]
	if a.m != nil {
		a.m.backlog.Set(float64(backlog))
		a.m.printPending.Set(float64(st.Print[outbox.PrintPending] + st.Print[outbox.PrintFailed]))
		a.m.uncertain.Set(float64(st.Uncertain))
		if st.EarliestDeadline.IsZero() {
			a.m.deadline.Set(0)
		} else {
			a.m.deadline.Set(st.EarliestDeadline.Sub(now).Seconds())
		}
		if _, cert := a.offlineSigner(); cert != nil {
			a.m.certDays.Set(float64(daysLeft(cert.NotAfter, now)))
		}
		a.m.observeStore(st)
		a.m.observePrinter(a.printer.State())
	}
	a.certAlarm(now)
	a.authAlarm(now)
	over := overdueViews(st.Overdue)
	if len(over) == 0 {
		if a.m != nil {
			a.m.penalty.Set(0)
		}
		a.mu.Lock()
		a.lastOverdue = 0
		a.mu.Unlock()
		return
	}
	var exposure ksef.Amount
	bases := map[string]int{}
	for _, o := range over {
		exposure += o.Penalty
		bases[o.Basis]++
	}
	if a.m != nil {
		// Only the gauge is a float (the exposition format's): the sum is
		// exact in grosze, and grosze/100 is the double nearest to it in PLN.
		a.m.penalty.Set(float64(exposure) / 100)
	}
	a.mu.Lock()
	due := now.Sub(a.lastAlarm) >= a.opts.AlarmInterval || len(over) > a.lastOverdue
	if due {
		a.lastAlarm = now
		a.lastOverdue = len(over)
	}
	a.mu.Unlock()
	if due {
		a.log.Error("ALARM: invoices past their KSeF upload deadline; still uploading",
			"overdue", len(over), "earliest", over[0].Number, "deadline", over[0].Deadline,
			"penalty_exposure_pln", exposure.String(), "article", ksef.PenaltyArticle,
			"rate", penaltyRates(bases))
	}
}

// penaltyRates says which rates of art. 106ni apply to how many overdue
// invoices, e.g. "100% VAT: 2 invoices; 18.7% gross: 1 invoice; none
// (deadline before 2027-01-01): 3 invoices".
func penaltyRates(bases map[string]int) string {
	var parts []string
	for _, b := range []ksef.PenaltyBasis{ksef.PenaltyVAT, ksef.PenaltyGross, ksef.PenaltyNone} {
		n := bases[b.String()]
		if n == 0 {
			continue
		}
		what := b.String()
		if b == ksef.PenaltyNone {
			what = "none (deadline before " + ksef.PenaltyStart.String() + ")"
		}
		unit := "invoices"
		if n == 1 {
			unit = "invoice"
		}
		parts = append(parts, fmt.Sprintf("%s: %d %s", what, n, unit))
	}
	return strings.Join(parts, "; ")
}

// overdue turns the store's overdue list into views with their penalty
// exposure, each invoice on its own, in PLN. The stored deadlines already
// include every announced extension (syncDeadlines).
func overdueViews(list []outbox.Overdue) []OverdueView {
	out := make([]OverdueView, 0, len(list))
	for _, o := range list {
		vat, gross := o.VAT, o.Gross
		if o.VATPLN != 0 || o.GrossPLN != 0 { // an invoice in another currency
			vat, gross = o.VATPLN, o.GrossPLN
		}
		p := ksef.PenaltyFor(ksef.DateOf(o.Deadline), ksef.Amount(vat), ksef.Amount(gross))
		out = append(out, OverdueView{ID: o.ID, Number: o.Number, Deadline: o.Deadline, Upload: string(o.Upload),
			Gross: ksef.Amount(o.Gross), VAT: ksef.Amount(o.VAT), Penalty: p.Amount, Basis: p.Basis.String()})
	}
	return out
}

// blockedOnRejected counts blocked corrections whose original KSeF rejected
// and that nothing will release until a technical correction.
func (a *Agent) blockedOnRejected(ctx context.Context) (int, error) {
	n, after := 0, ""
	for {
		list, err := a.store.List(ctx, outbox.Filter{Upload: outbox.UploadBlocked, After: after, Limit: 1000})
		if err != nil {
			return 0, storeErr("flush", err)
		}
		for _, inv := range list {
			orig, err := a.store.Get(ctx, inv.CorrectionOf)
			if err == nil && orig.Upload == outbox.UploadRejected && orig.CorrectedBy == "" {
				n++
			}
		}
		if len(list) < 1000 {
			return n, nil
		}
		after = list[len(list)-1].ID
	}
}

// certWarnDays is when the Offline certificate's coming expiry is alarmed.
const certWarnDays = 30

// certAlarm logs, rate-limited, an Offline certificate that cannot sign
// (expired, revoked, suspended) or expires soon: KOD II signed with it would
// not verify, so offline invoices are refused.
func (a *Agent) certAlarm(now time.Time) {
	signer, cert := a.offlineSigner()
	if cert == nil {
		return
	}
	problem := a.offlineCertProblem(now)
	left := daysLeft(cert.NotAfter, now)
	if left > certWarnDays && problem == "" {
		return
	}
	a.mu.Lock()
	due := now.Sub(a.lastCertAlarm) >= a.opts.AlarmInterval
	if due {
		a.lastCertAlarm = now
	}
	a.mu.Unlock()
	if !due {
		return
	}
	if problem != "" {
		a.log.Error("ALARM: the KSeF Offline certificate cannot sign KOD II ("+problem+"); offline invoices are refused, online ones still issued",
			"serial", signer.CertSerial(), "not_after", cert.NotAfter)
		return
	}
	a.log.Warn("the KSeF Offline certificate expires soon", "serial", signer.CertSerial(), "days_left", left)
}

// authStatus reports the login method, failures and the token deadline.
func (a *Agent) authStatus(now time.Time) AuthStatus {
	a.mu.Lock()
	st := AuthStatus{Method: a.opts.AuthMethod, FailedLogins: a.authFailures, LastFailure: a.authFailed}
	a.mu.Unlock()
	if st.Method == "token" {
		st.TokensEnd = ksef.TokenAuthEnd
		st.TokenDaysLeft = max(0, ksef.TokenDaysLeft(now))
	}
	st.Alarm = a.tokenAlarm(now)
	if st.Alarm == "" && st.FailedLogins > 0 {
		st.Alarm = fmt.Sprintf("%d KSeF logins failed in a row; invoices are kept and uploaded once a login succeeds", st.FailedLogins)
	}
	return st
}
