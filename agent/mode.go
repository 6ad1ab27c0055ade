package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/ksef/ksefapi"
)

// Mode overrides accepted by SetMode.
const (
	OverrideAuto         = ""              // follow the policy and the availability feed
	OverrideOnline       = "online"        // try online for every sale, whatever the policy
	OverrideOffline24    = "offline24"     // issue everything offline24
	OverrideOffline      = "offline"       // KSeF unavailability (maintenance) announced
	OverrideEmergency    = "emergency"     // KSeF failure (awaria) announced
	OverrideTotalFailure = "total_failure" // total failure announced
)

// maxErrors is how many recent errors Status keeps.
const maxErrors = 20

// ErrorEntry is one recent failure, for Status.
type ErrorEntry struct {
	At      time.Time `json:"at"`
	Op      string    `json:"op"`             // e.g. "upload", "print", "availability"
	Code    string    `json:"code,omitempty"` // HTTP status or KSeF code, printer condition
	Message string    `json:"message"`
}

// SetMode sets the operator's override of the invoicing mode: "" returns to
// automatic, "online", "offline24", "offline", "emergency" or
// "total_failure" fix the mode of new sales. Offline, emergency and total
// failure open an announced period starting today, which the deadlines of
// the calendar use; leaving them closes it today. With Options.StateFile the
// override and the periods survive a restart; without it a restart returns
// to automatic.
func (a *Agent) SetMode(ctx context.Context, override string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	switch override {
	case OverrideAuto, OverrideOnline, OverrideOffline24, OverrideOffline, OverrideEmergency, OverrideTotalFailure:
	default:
		return fmt.Errorf("%w: %q (want \"\", online, offline24, offline, emergency or total_failure)", ErrInvalidMode, override)
	}
	if a.setMode(override) {
		a.syncDeadlines(ctx)
	}
	return nil
}

// setMode applies an override and reports whether it changed anything.
func (a *Agent) setMode(override string) bool {
	today := ksef.DateOf(a.now())
	a.mu.Lock()
	defer a.mu.Unlock()
	if override == a.override {
		return false
	}
	a.closePeriodLocked(today)
	switch override {
	case OverrideOffline:
		a.periods = append(a.periods, ksef.Period{Mode: ksef.ModeOffline, Announced: today})
	case OverrideEmergency:
		a.periods = append(a.periods, ksef.Period{Mode: ksef.ModeEmergency, Announced: today})
	case OverrideTotalFailure:
		a.periods = append(a.periods, ksef.Period{Mode: ksef.ModeTotalFailure, Announced: today})
	}
	a.log.Info("mode override", "from", a.override, "to", override)
	a.override = override
	if override == OverrideAuto {
		a.openFeedPeriodLocked(today)
	}
	a.saveStateLocked()
	return true
}

// closePeriodLocked ends the open period, if any, on day.
func (a *Agent) closePeriodLocked(day ksef.Date) {
	for i := range a.periods {
		if a.periods[i].End.IsZero() {
			a.periods[i].End = day
		}
	}
}

// openFeedPeriodLocked makes the open periods match the feed's status: it
// ends those of another mode (all of them when KSeF is available) and opens
// one for the status if none is open. A period restored from StateFile is
// thus kept or ended by the first probe after a restart.
func (a *Agent) openFeedPeriodLocked(day ksef.Date) {
	m, ok := feedMode(a.feedStatus)
	open := false
	for i := range a.periods {
		p := &a.periods[i]
		if !p.End.IsZero() {
			continue
		}
		if ok && p.Mode == m {
			open = true
			continue
		}
		p.End = day
	}
	if ok && !open {
		a.periods = append(a.periods, ksef.Period{Mode: m, Announced: day})
	}
}

func feedMode(s ksefapi.AvailabilityStatus) (ksef.Mode, bool) {
	switch s {
	case ksefapi.Maintenance:
		return ksef.ModeOffline, true
	case ksefapi.Failure:
		return ksef.ModeEmergency, true
	case ksefapi.TotalFailure:
		return ksef.ModeTotalFailure, true
	}
	return 0, false
}

// decision is how a new sale is issued.
type decision struct {
	mode   ksef.Mode // the mode stored on the record
	online bool      // try to get a KSeF number within the budget
}

// decide picks the mode of a new sale from the override, the availability
// feed, the link and the policy.
func (a *Agent) decide() decision {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch a.override {
	case OverrideOffline:
		return decision{mode: ksef.ModeOffline}
	case OverrideEmergency:
		return decision{mode: ksef.ModeEmergency}
	case OverrideTotalFailure:
		return decision{mode: ksef.ModeTotalFailure}
	case OverrideOffline24:
		return decision{mode: ksef.ModeOffline24}
	}
	if m, ok := feedMode(a.feedStatus); ok {
		return decision{mode: m}
	}
	wantOnline := a.override == OverrideOnline || a.opts.Policy == PolicyOnlineFirst
	if wantOnline && a.link != "down" {
		return decision{mode: ksef.ModeOnline, online: true}
	}
	return decision{mode: ksef.ModeOffline24}
}

// modeName is the mode new sales get now, for Status.
func (a *Agent) modeName() string {
	d := a.decide()
	return d.mode.String()
}

// periodsNow returns a copy of the announced periods, open ones provisionally
// ending today: the earliest deadline they can give, so scheduling and alarms
// stay on the safe side until the real end is known (syncDeadlines moves the
// stored deadlines on while a period lasts).
func (a *Agent) periodsNow(today ksef.Date) []ksef.Period {
	a.mu.Lock()
	defer a.mu.Unlock()
	ps := make([]ksef.Period, len(a.periods))
	copy(ps, a.periods)
	for i := range ps {
		if ps[i].End.IsZero() {
			ps[i].End = today
		}
	}
	return ps
}

// probe asks the availability feed, at most once per ProbeInterval, and
// switches modes on its verdict: MAINTENANCE → offline, FAILURE →
// emergency, TOTAL_FAILURE → total failure. A feed that cannot be read is
// "unknown", not an outage.
func (a *Agent) probe(ctx context.Context, force bool) {
	if a.feed == nil {
		return
	}
	now := a.now()
	a.mu.Lock()
	due := force || now.Sub(a.feedChecked) >= a.opts.ProbeInterval || a.feedChecked.IsZero()
	a.mu.Unlock()
	if !due {
		return
	}
	av, err := a.feed.Availability(ctx)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.feedChecked = now
	if err != nil {
		if ctx.Err() == nil {
			a.noteErrLocked("availability", err)
		}
		return
	}
	if av.Status == a.feedStatus {
		return
	}
	a.log.Info("KSeF availability changed", "from", string(a.feedStatus), "to", string(av.Status))
	today := ksef.DateOf(now)
	a.feedStatus = av.Status
	if a.override == OverrideAuto {
		a.openFeedPeriodLocked(today)
		a.saveStateLocked()
	}
}

// noteLink records the outcome of a KSeF call for the link state: any
// answer below 500 (a 4xx, 429 included) means the link is up; no answer
// (a transport failure or a timeout) or a 5xx means it is down. A call its
// caller cancelled tells nothing.
func (a *Agent) noteLink(err error) {
	var ae *ksefapi.APIError
	link := ""
	switch {
	case err == nil:
		link = "up"
	case !errors.As(err, &ae), errors.Is(err, context.Canceled):
		return
	case ae.Status > 0 && ae.Status < 500:
		link = "up"
	default:
		link = "down"
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.link, a.linkChecked = link, a.now()
	if a.m != nil {
		up := 0.0
		if link == "up" {
			up = 1
		}
		a.m.linkUp.Set(up)
	}
}

// noteErr records a failure for Status and the error metric.
func (a *Agent) noteErr(op string, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.noteErrLocked(op, err)
}

func (a *Agent) noteErrLocked(op string, err error) {
	code := errCode(err)
	a.errs = append(a.errs, ErrorEntry{At: a.now(), Op: op, Code: code, Message: err.Error()})
	if len(a.errs) > maxErrors {
		a.errs = append(a.errs[:0], a.errs[len(a.errs)-maxErrors:]...)
	}
	if a.m != nil && op != "print" {
		a.m.ksefErrors.With(codeOrUnknown(code)).Inc()
	}
}

func codeOrUnknown(c string) string {
	if c == "" {
		return "transport"
	}
	return c
}

// errCode extracts a short code: the KSeF code, the HTTP status, or the
// status code of an asynchronous operation.
func errCode(err error) string {
	var ae *ksefapi.APIError
	if errors.As(err, &ae) {
		if len(ae.Codes) > 0 {
			return fmt.Sprint(ae.Codes[0])
		}
		if ae.Status != 0 {
			return fmt.Sprint(ae.Status)
		}
		return ""
	}
	var se *ksefapi.StatusError
	if errors.As(err, &se) {
		return fmt.Sprint(se.Code)
	}
	return ""
}
