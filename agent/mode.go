package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/ksef/ksefapi"
	"github.com/posagent/posagent/outbox"
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

// SetMode sets the operator's override of how new sales are issued: ""
// returns to automatic, "online" tries online whatever the policy,
// "offline24" issues everything offline24, and "offline", "emergency" and
// "total_failure" issue in that mode. An override changes how the agent
// behaves, not the legal period: the deadlines follow the periods MF
// announces (the availability feed, or the operator's record with its
// reference, Announce), so offline, emergency and total_failure issue in
// their mode only while such a period of it runs, and offline24 otherwise
// (without an announcement the law knows only offline24, art. 106nda
// ustawy o VAT). Leaving a mode ends the operator's announcements of another
// mode today. With Options.StateFile the override survives a restart;
// without it a restart returns to automatic.
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
	for i := range a.anns {
		if an := &a.anns[i]; an.End == "" && an.Source == outbox.SourceOperator && an.Mode != override {
			a.endLocked(i, today)
		}
	}
	a.log.Info("mode override", "from", a.override, "to", override)
	a.override = override
	a.saveStateLocked()
	return true
}

// followFeedLocked makes the open periods of the feed match its status,
// whatever the override: the feed is MF's own announcement. It ends the
// feed's periods of another mode (all of them when KSeF is available) and
// opens one for the status if none of its mode runs. The operator's records
// are the operator's to end (SetMode): they stand for announcements the
// feed did not carry.
func (a *Agent) followFeedLocked(day ksef.Date, ref string) {
	m, ok := feedMode(a.feedStatus)
	open := false
	for i := range a.anns {
		an := &a.anns[i]
		if an.End != "" || an.Source != outbox.SourceFeed {
			continue
		}
		if ok && an.Mode == m.String() {
			open = true
			continue
		}
		a.endLocked(i, day)
	}
	if ok && !open {
		a.openFeedLocked(m, day, ref)
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
	// technical: a technical correction of an invoice already handed over,
	// which must reach KSeF whatever the Offline certificate's state.
	technical bool
}

// offline is d without the online attempt: an online decision issues
// offline24 instead.
func (d decision) offline() decision {
	d.online = false
	if d.mode == ksef.ModeOnline {
		d.mode = ksef.ModeOffline24
	}
	return d
}

// decide picks the mode of a new sale from the override, the availability
// feed, the announced periods, the link and the policy. An offline,
// emergency or total-failure override gives its mode only while an
// announced period of it runs (SetMode).
func (a *Agent) decide() decision {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch a.override {
	case OverrideOffline, OverrideEmergency, OverrideTotalFailure:
		m, _ := ksef.ParseMode(a.override)
		if a.openLocked(m) {
			return decision{mode: m}
		}
		return decision{mode: ksef.ModeOffline24}
	case OverrideOffline24:
		return decision{mode: ksef.ModeOffline24}
	}
	if m, ok := feedMode(a.feedStatus); ok {
		return decision{mode: m}
	}
	if a.override == OverrideAuto {
		// A period recorded by the operator, or one the feed opened before
		// a restart, until the feed tells otherwise.
		for _, m := range []ksef.Mode{ksef.ModeTotalFailure, ksef.ModeEmergency, ksef.ModeOffline} {
			if a.openLocked(m) {
				return decision{mode: m}
			}
		}
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
	ps := a.periodsLocked()
	a.mu.Unlock()
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
	a.feedStatus = av.Status
	a.followFeedLocked(ksef.DateOf(now), feedReference(av))
}

// feedReference names the feed's latest message of its status, for the
// journal: the feed is MF's announcement.
func feedReference(av *ksefapi.Availability) string {
	for i := len(av.Messages) - 1; i >= 0; i-- {
		if m := av.Messages[i]; m.Category == string(av.Status) {
			ref := strings.TrimSpace("Latarnia " + string(m.ID) + ": " + m.Title)
			if utf8.RuneCountInString(ref) > maxReference {
				ref = string([]rune(ref)[:maxReference])
			}
			return ref
		}
	}
	return ""
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
		a.m.linkUp.Set(oneIf(link == "up"))
	}
}

// noteErr records a failure for Status and the error metric.
func (a *Agent) noteErr(op string, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.noteErrLocked(op, err)
}

func (a *Agent) noteErrLocked(op string, err error) {
	a.noteProbeLocked(op, err)
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
