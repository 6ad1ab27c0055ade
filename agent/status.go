package agent

import (
	"context"
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
	PenaltyExposure  ksef.Amount    `json:"penalty_exposure"`

	CertSerial   string    `json:"cert_serial,omitempty"`
	CertNotAfter time.Time `json:"cert_not_after,omitzero"`
	CertDaysLeft int       `json:"cert_days_left"`

	StoreUsed  int64 `json:"store_used"`
	StoreLimit int64 `json:"store_limit"`

	Errors []ErrorEntry `json:"errors,omitempty"` // the last 20, oldest first
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
	Gross    ksef.Amount `json:"gross"`
	VAT      ksef.Amount `json:"vat"`
	Penalty  ksef.Amount `json:"penalty"` // ksef.PenaltyExposure
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
	out.CertSerial = a.signer.CertSerial()
	if a.cert != nil {
		out.CertNotAfter = a.cert.NotAfter
		out.CertDaysLeft = daysLeft(a.cert.NotAfter, now)
	}
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

func daysLeft(t, now time.Time) int {
	return int(t.Sub(now) / (24 * time.Hour))
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
// upload (queued, sending or blocked), or when ctx ends. Rejected invoices,
// and corrections blocked on them, wait for a technical correction and do
// not count. It needs Run: without
// it Flush returns ErrNotRunning after a second.
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
		st, err := a.store.Stats(ctx, a.now())
		if err != nil {
			return storeErr("flush", err)
		}
		if st.Upload[outbox.UploadQueued]+st.Upload[outbox.UploadSending] == 0 {
			stuck, err := a.blockedOnRejected(ctx)
			if err != nil {
				return err
			}
			if st.Upload[outbox.UploadBlocked] == stuck {
				return nil
			}
		}
		kick(a.kickUpload)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
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
		if a.cert != nil {
			a.m.certDays.Set(float64(daysLeft(a.cert.NotAfter, now)))
		}
	}
	a.certAlarm(now)
	over := overdueViews(st.Overdue)
	if len(over) == 0 {
		a.mu.Lock()
		a.lastOverdue = 0
		a.mu.Unlock()
		return
	}
	var exposure ksef.Amount
	for _, o := range over {
		exposure += o.Penalty
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
			"penalty_exposure", exposure.String())
	}
}

// overdue turns the store's overdue list into views with their penalty
// exposure. The stored deadlines already include every announced extension
// (syncDeadlines).
func overdueViews(list []outbox.Overdue) []OverdueView {
	out := make([]OverdueView, 0, len(list))
	for _, o := range list {
		out = append(out, OverdueView{ID: o.ID, Number: o.Number, Deadline: o.Deadline, Upload: string(o.Upload),
			Gross: ksef.Amount(o.Gross), VAT: ksef.Amount(o.VAT),
			Penalty: ksef.PenaltyExposure(ksef.Amount(o.VAT), ksef.Amount(o.Gross))})
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

// certAlarm logs, rate-limited, an Offline certificate that has expired or
// expires soon: KOD II signed with it would not verify.
func (a *Agent) certAlarm(now time.Time) {
	if a.cert == nil {
		return
	}
	left := daysLeft(a.cert.NotAfter, now)
	if left > certWarnDays {
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
	if now.After(a.cert.NotAfter) {
		a.log.Error("ALARM: the KSeF Offline certificate has expired; KOD II links will not verify",
			"serial", a.signer.CertSerial(), "not_after", a.cert.NotAfter)
		return
	}
	a.log.Warn("the KSeF Offline certificate expires soon", "serial", a.signer.CertSerial(), "days_left", left)
}
