package agent

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/outbox"
)

// Announcement is an MF announcement of a KSeF unavailability (offline),
// failure (emergency) or total failure that the operator records, with its
// reference, when the availability feed cannot tell: the legal period of
// art. 106nh (offline) and art. 106nf (emergency) ustawy o VAT, and the
// total failure of tryby-offline.md, are the ones MF announces, and the
// upload deadlines follow them, not the agent's mode.
type Announcement struct {
	Mode      string    // offline, emergency or total_failure
	Reference string    // where MF announced it (BIP MF, a media notice): required
	Start     ksef.Date // first day; zero means today
	End       ksef.Date // last day; zero while it lasts
}

// maxReference bounds an announcement's reference.
const maxReference = 256

// Announce records an operator's announcement in the journal and, while
// it lasts, sets the mode override to its mode. It ends when the operator
// leaves that mode (SetMode), on that day; the feed does not end it. Bad
// input is a *RequestError and changes nothing.
func (a *Agent) Announce(ctx context.Context, an Announcement) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	today := ksef.DateOf(a.now())
	if an.Start.IsZero() {
		an.Start = today
	}
	m, err := ksef.ParseMode(an.Mode)
	ref := strings.TrimSpace(an.Reference)
	switch {
	case err != nil || (m != ksef.ModeOffline && m != ksef.ModeEmergency && m != ksef.ModeTotalFailure):
		return &RequestError{Field: "mode", Reason: fmt.Sprintf("want offline, emergency or total_failure, got %q", an.Mode)}
	case ref == "":
		return &RequestError{Field: "reference", Reason: "the MF announcement's reference is required (e.g. the BIP MF notice)"}
	case utf8.RuneCountInString(ref) > maxReference || !utf8.ValidString(ref) || strings.ContainsFunc(ref, func(r rune) bool { return r < 0x20 }):
		return &RequestError{Field: "reference", Reason: fmt.Sprintf("at most %d printable characters", maxReference)}
	case !an.Start.Valid() || an.Start.After(today):
		return &RequestError{Field: "start", Reason: fmt.Sprintf("%v is not a day up to today (%v)", an.Start, today)}
	case !an.End.IsZero() && (!an.End.Valid() || an.End.Before(an.Start) || an.End.After(today)):
		return &RequestError{Field: "end", Reason: fmt.Sprintf("%v is not a day from %v to today", an.End, an.Start)}
	}
	rec := outbox.Announcement{Mode: m.String(), Start: an.Start.String(), Source: outbox.SourceOperator,
		Reference: ref, RecordedAt: a.now().UTC()}
	if !an.End.IsZero() {
		rec.End, rec.EndedAt = an.End.String(), rec.RecordedAt
	}
	if err := a.store.SaveAnnouncement(ctx, &rec); err != nil {
		return storeErr("announce", err)
	}
	a.mu.Lock()
	a.anns = append(a.anns, rec)
	a.mu.Unlock()
	a.log.Info("announcement recorded", "mode", rec.Mode, "start", rec.Start, "end", rec.End, "reference", rec.Reference)
	if an.End.IsZero() {
		a.setMode(m.String())
	}
	a.syncDeadlines(ctx)
	return nil
}

// Journal returns every announcement the agent learned of, from the feed or
// the operator, oldest first, with the attempts to reach KSeF that failed
// during a total failure: the journal a tax office may ask for.
func (a *Agent) Journal(ctx context.Context) ([]outbox.Announcement, error) {
	a.flushProbes(ctx)
	list, err := a.store.Announcements(ctx)
	if err != nil {
		return nil, storeErr("journal", err)
	}
	return list, nil
}

// periodOf is the legal period of an announcement; ok is false for a record
// that does not parse (it is ignored, never guessed).
func periodOf(an *outbox.Announcement) (ksef.Period, bool) {
	m, err := ksef.ParseMode(an.Mode)
	if err != nil {
		return ksef.Period{}, false
	}
	start, err := ksef.ParseDate(an.Start)
	if err != nil {
		return ksef.Period{}, false
	}
	p := ksef.Period{Mode: m, Announced: start}
	if an.End != "" {
		if p.End, err = ksef.ParseDate(an.End); err != nil {
			return ksef.Period{}, false
		}
	}
	return p, true
}

// periodsLocked returns the legal periods of the journal; called with a.mu.
func (a *Agent) periodsLocked() []ksef.Period {
	ps := make([]ksef.Period, 0, len(a.anns))
	for i := range a.anns {
		if p, ok := periodOf(&a.anns[i]); ok {
			ps = append(ps, p)
		}
	}
	return ps
}

// openLocked reports whether an announced period of mode m is running.
func (a *Agent) openLocked(m ksef.Mode) bool {
	for i := range a.anns {
		if an := &a.anns[i]; an.End == "" && an.Mode == m.String() {
			return true
		}
	}
	return false
}

// endLocked ends the open announcement i on day and records it. The journal
// write, here and in openFeedLocked, takes no caller's ctx: a legal period
// must not go unrecorded because a request or a probe was cancelled.
func (a *Agent) endLocked(i int, day ksef.Date) {
	an := &a.anns[i]
	an.End, an.EndedAt = day.String(), a.now().UTC()
	if err := a.store.SaveAnnouncement(context.Background(), an); err != nil {
		a.log.Error("record the end of an announcement", "mode", an.Mode, "error", err)
		a.noteErrLocked("state", err)
	}
}

// openFeedLocked records a period the feed opened.
func (a *Agent) openFeedLocked(m ksef.Mode, day ksef.Date, ref string) {
	an := outbox.Announcement{Mode: m.String(), Start: day.String(), Source: outbox.SourceFeed, Reference: ref, RecordedAt: a.now().UTC()}
	if err := a.store.SaveAnnouncement(context.Background(), &an); err != nil {
		a.log.Error("record an announcement", "mode", an.Mode, "error", err)
		a.noteErrLocked("state", err)
	}
	a.anns = append(a.anns, an)
}

// maxProbeBuffer bounds the failed probes kept in memory between flushes.
const maxProbeBuffer = 1000

// noteProbeLocked keeps a failed attempt to reach KSeF for the journal of
// a running total failure (tryby-offline.md: the taxpayer shows the failure
// and what it did about it).
func (a *Agent) noteProbeLocked(op string, err error) {
	switch op {
	case "print", "state", "rejected", "upo":
		return
	}
	if !a.openLocked(ksef.ModeTotalFailure) {
		return
	}
	now := a.now().UTC()
	msg := err.Error()
	if n := len(a.probes); n > 0 && a.probes[n-1].Target == op && a.probes[n-1].Error == msg {
		a.probes[n-1].Last = now
		a.probes[n-1].Count++
		return
	}
	if len(a.probes) >= maxProbeBuffer {
		a.probes[len(a.probes)-1].Count++ // counted, not itemised
		return
	}
	a.probes = append(a.probes, outbox.Probe{Target: op, Error: msg, First: now, Last: now, Count: 1})
}

// flushProbes writes the buffered failed probes to the open total failure's
// journal entry. A write that fails keeps them for the next flush.
func (a *Agent) flushProbes(ctx context.Context) {
	a.mu.Lock()
	probes, id := a.probes, ""
	for i := len(a.anns) - 1; i >= 0 && id == ""; i-- {
		if an := &a.anns[i]; an.Mode == ksef.ModeTotalFailure.String() {
			id = an.ID // the failure they happened in: running, or just ended
		}
	}
	a.probes = nil
	a.mu.Unlock()
	if len(probes) == 0 || id == "" {
		return
	}
	if err := a.store.AddProbes(ctx, id, probes); err != nil {
		a.mu.Lock()
		a.probes = append(probes, a.probes...)
		if len(a.probes) > maxProbeBuffer {
			a.probes = a.probes[len(a.probes)-maxProbeBuffer:]
		}
		a.mu.Unlock()
		if ctx.Err() == nil {
			a.log.Warn("record failed probes of the total failure", "error", err)
		}
	}
}
