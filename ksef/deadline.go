package ksef

import (
	"fmt"
	"slices"
	"time"
)

// Mode is how an invoice is issued with respect to KSeF (DESIGN §4).
type Mode int

// Invoicing modes. The zero value is not a valid mode.
const (
	ModeOnline       Mode = iota + 1 // link up, KSeF available
	ModeOffline24                    // taxpayer's choice or own connectivity problem
	ModeOffline                      // KSeF unavailability (announced maintenance)
	ModeEmergency                    // failure (awaria) announced by MF
	ModeTotalFailure                 // total failure announced in the media: no upload obligation
)

var modeNames = [...]string{"", "online", "offline24", "offline", "emergency", "total_failure"}

// String returns "online", "offline24", "offline", "emergency" or "total_failure".
func (m Mode) String() string {
	if m >= ModeOnline && m <= ModeTotalFailure {
		return modeNames[m]
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// ParseMode is the inverse of String.
func ParseMode(s string) (Mode, error) {
	for i, n := range modeNames {
		if i > 0 && n == s {
			return Mode(i), nil
		}
	}
	return 0, fmt.Errorf("%w %q", ErrMode, s)
}

// MarshalText implements encoding.TextMarshaler.
func (m Mode) MarshalText() ([]byte, error) {
	if m < ModeOnline || m > ModeTotalFailure {
		return nil, fmt.Errorf("%w %d", ErrMode, int(m))
	}
	return []byte(m.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (m *Mode) UnmarshalText(b []byte) error {
	v, err := ParseMode(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// Offline reports whether invoices in this mode carry both QR codes.
func (m Mode) Offline() bool { return m == ModeOffline24 || m == ModeOffline || m == ModeEmergency }

// Period is an announced KSeF unavailability (Mode = ModeOffline) or failure
// (Mode = ModeEmergency or ModeTotalFailure). End is its last day, or the zero
// Date while it has not ended.
type Period struct {
	Mode      Mode
	Announced Date
	End       Date
}

// Deadline is the last Warsaw day on which an invoice must reach KSeF.
// Exactly one of the cases holds: None (no obligation, total failure), Open
// (the period it depends on has not ended, so the day is not known yet), or
// Day is set.
type Deadline struct {
	Day  Date
	Open bool
	None bool
}

// Instant returns the end of Day in Warsaw; ok is false for None and Open.
func (d Deadline) Instant() (t time.Time, ok bool) {
	if d.None || d.Open || d.Day.IsZero() {
		return time.Time{}, false
	}
	return d.Day.End(), true
}

// String returns the day, "open" or "none".
func (d Deadline) String() string {
	switch {
	case d.None:
		return "none"
	case d.Open:
		return "open"
	}
	return d.Day.String()
}

// Overdue reports whether now is past the deadline; None and Open are never overdue.
func (d Deadline) Overdue(now time.Time) bool {
	t, ok := d.Instant()
	return ok && now.After(t)
}

// SendOffline reports whether an invoice must be sent with offlineMode=true:
// when it was issued offline, or when it reaches KSeF after its issue day
// (KSeF would classify it as offline itself).
func SendOffline(mode Mode, p1 Date, now time.Time) bool {
	return mode.Offline() || DateOf(now).After(p1)
}

// EmergencyBusinessDays is the upload period after a failure ends (art. 106nf).
const EmergencyBusinessDays = 7

// Deadline returns the upload deadline of an invoice issued on issued in mode.
//
//   - online: the issue day.
//   - offline24: the next business day after issued.
//   - offline: the next business day after the end of the ModeOffline period
//     that covers issued (announced on or before it, not ended before it).
//   - emergency: 7 business days after the end of the ModeEmergency period
//     that covers issued.
//   - total_failure: None.
//
// Then every ModeEmergency period that had not ended before issued and was
// announced while the deadline was still running moves it to
// 7 business days after that failure's end; each new announcement restarts the
// count. A deadline is never moved earlier. Periods may come in any order.
func (c *Calendar) Deadline(mode Mode, issued Date, periods []Period) (Deadline, error) {
	if !issued.Valid() {
		return Deadline{}, fmt.Errorf("deadline: %w %v", ErrDate, issued)
	}
	for i, p := range periods {
		if !p.Announced.Valid() || (!p.End.IsZero() && (!p.End.Valid() || p.End.Before(p.Announced))) {
			return Deadline{}, fmt.Errorf("deadline: period %d: %w (announced %v, end %v)", i, ErrDate, p.Announced, p.End)
		}
	}
	var cur Deadline
	switch mode {
	case ModeOnline:
		return Deadline{Day: issued}, nil
	case ModeTotalFailure:
		return Deadline{None: true}, nil
	case ModeOffline24:
		cur = Deadline{Day: c.AddBusinessDays(issued, 1)}
	case ModeOffline, ModeEmergency:
		p, ok := covering(periods, mode, issued)
		if !ok {
			return Deadline{}, fmt.Errorf("deadline %s %v: %w", mode, issued, ErrNoPeriod)
		}
		cur = c.after(mode, p)
	default:
		return Deadline{}, fmt.Errorf("deadline: %w %d", ErrMode, int(mode))
	}

	failures := make([]Period, 0, len(periods))
	for _, p := range periods {
		// A failure counts if it was still running on the issue day or began after it.
		if p.Mode == ModeEmergency && (p.End.IsZero() || !p.End.Before(issued)) {
			failures = append(failures, p)
		}
	}
	slices.SortStableFunc(failures, func(a, b Period) int { return a.Announced.Compare(b.Announced) })
	for _, f := range failures {
		if cur.Open {
			// The running period has no end yet; a failure cannot shorten it.
			break
		}
		if f.Announced.After(cur.Day) {
			break // announced after the deadline had passed
		}
		next := c.after(ModeEmergency, f)
		if next.Open || next.Day.After(cur.Day) {
			cur = next
		}
	}
	return cur, nil
}

// after is the deadline that period p alone gives.
func (c *Calendar) after(mode Mode, p Period) Deadline {
	if p.End.IsZero() {
		return Deadline{Open: true}
	}
	if mode == ModeEmergency {
		return Deadline{Day: c.AddBusinessDays(p.End, EmergencyBusinessDays)}
	}
	return Deadline{Day: c.AddBusinessDays(p.End, 1)}
}

// covering returns the latest-announced period of mode that covers day.
func covering(periods []Period, mode Mode, day Date) (Period, bool) {
	var best Period
	found := false
	for _, p := range periods {
		if p.Mode != mode || p.Announced.After(day) || (!p.End.IsZero() && p.End.Before(day)) {
			continue
		}
		if !found || p.Announced.After(best.Announced) {
			best, found = p, true
		}
	}
	return best, found
}

// PenaltyExposure is the maximum sanction for an overdue invoice, for
// reports: 100% of its VAT, or 18.7% of its gross value when it shows no VAT,
// rounded half-up to the grosz (art. 106ni ust. 1; see PenaltyFor). It is
// never negative: a correction that lowers the VAT or the gross exposes 0.
func PenaltyExposure(vat, gross Amount) Amount {
	if vat != 0 {
		return max(vat, 0)
	}
	v, err := mulDivRound(int64(gross), 187, 1000)
	if err != nil {
		// |gross| * 187 fits easily in big arithmetic; only the int64 result
		// could overflow, and gross/1000*187 is smaller than gross.
		panic(err)
	}
	return Amount(max(v, 0))
}
