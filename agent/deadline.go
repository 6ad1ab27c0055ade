package agent

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/outbox"
)

// deadlineOf is the upload deadline of inv under periods; ok is false when it
// has none or cannot be computed (the stored one then stands).
func (a *Agent) deadlineOf(inv *outbox.Invoice, periods []ksef.Period) (time.Time, bool) {
	m, err := ksef.ParseMode(inv.Mode)
	if err != nil {
		return time.Time{}, false
	}
	if m == ksef.ModeOnline {
		m = ksef.ModeOffline24 // the deadline that applies once the budget has run out
	}
	p1, err := ksef.ParseDate(inv.P1)
	if err != nil {
		return time.Time{}, false
	}
	dl, err := a.opts.Calendar.Deadline(m, p1, periods)
	if err != nil {
		return time.Time{}, false
	}
	return dl.Instant()
}

// syncDeadlines brings the stored deadlines of invoices not yet accepted up
// to the announced periods known now, open ones ending today: an announced
// failure extends a running deadline, and each day a period stays open moves
// the deadlines it governs one day on. The store moves a deadline only later,
// so PendingUploads, Stats and every view agree without recomputing. It does
// nothing while the periods (and, with one open, the day) are unchanged; a
// failed write is retried on the next call.
func (a *Agent) syncDeadlines(ctx context.Context) {
	today := ksef.DateOf(a.now())
	periods := a.periodsNow(today)
	key := fmt.Sprint(periods)
	a.dlMu.Lock()
	defer a.dlMu.Unlock()
	if key == a.dlKey {
		return
	}
	if len(periods) == 0 {
		a.dlKey = key // nothing can extend a deadline
		return
	}
	var ext []outbox.DeadlineExtension
	for _, st := range []outbox.UploadState{outbox.UploadQueued, outbox.UploadSending, outbox.UploadBlocked, outbox.UploadRejected} {
		after := ""
		for {
			list, err := a.store.List(ctx, outbox.Filter{Upload: st, After: after, Limit: 1000})
			if err != nil {
				a.warnDeadlines(ctx, err)
				return
			}
			for i := range list {
				inv := &list[i]
				if inv.Deadline.IsZero() || inv.CorrectedBy != "" {
					continue
				}
				if dl, ok := a.deadlineOf(inv, periods); ok && dl.After(inv.Deadline) {
					ext = append(ext, outbox.DeadlineExtension{ID: inv.ID, Deadline: dl})
				}
			}
			if len(list) < 1000 {
				break
			}
			after = list[len(list)-1].ID
		}
	}
	reason := describePeriods(a.announcedPeriods())
	// Chunks keep one write transaction short for the writers waiting on it.
	for len(ext) > 0 {
		n := min(len(ext), 2000)
		if _, err := a.store.ExtendDeadlines(ctx, ext[:n], reason); err != nil {
			a.warnDeadlines(ctx, err)
			return
		}
		ext = ext[n:]
	}
	a.dlKey = key
}

func (a *Agent) warnDeadlines(ctx context.Context, err error) {
	if ctx.Err() == nil {
		a.log.Warn("update upload deadlines; retried later", "error", err)
	}
}

// announcedPeriods returns a copy of the announced periods as they are.
func (a *Agent) announcedPeriods() []ksef.Period {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.periodsLocked()
}

// describePeriods is the reason logged on the records: the last three
// periods, latest first.
func describePeriods(ps []ksef.Period) string {
	parts := make([]string, 0, 3)
	for i := len(ps) - 1; i >= 0 && i >= len(ps)-3; i-- {
		p := ps[i]
		s := p.Mode.String() + " announced " + p.Announced.String()
		if p.End.IsZero() {
			s += ", still running"
		} else {
			s += ", ended " + p.End.String()
		}
		parts = append(parts, s)
	}
	return "KSeF " + strings.Join(parts, "; ")
}
