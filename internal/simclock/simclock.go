package simclock

import (
	"fmt"
	"time"
	_ "time/tzdata" // the rehearsal date is a Warsaw wall time on any host
)

// Warsaw is Europe/Warsaw, the zone of every date the flag names.
var Warsaw = mustLoad("Europe/Warsaw")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic("simclock: " + err.Error()) // time/tzdata is embedded, so this cannot happen
	}
	return loc
}

// DefaultHour is the Warsaw hour a bare date starts at: a working day's
// morning, clear of midnight and of the DST switches at 02:00–03:00.
const DefaultHour = 10

// Layouts Parse accepts, shortest first.
const (
	LayoutDate    = "2006-01-02"
	LayoutMinutes = "2006-01-02T15:04"
	LayoutSeconds = "2006-01-02T15:04:05"
)

// Parse reads YYYY-MM-DD (10:00), YYYY-MM-DDTHH:MM or YYYY-MM-DDTHH:MM:SS as a
// Europe/Warsaw wall time. A wall time the DST switch skips (02:00–02:59 on
// the last Sunday of March) or repeats (02:00–02:59 on the last Sunday of
// October) is refused: the instant it names is not one.
func Parse(s string) (time.Time, error) {
	layout := ""
	switch len(s) {
	case len(LayoutDate):
		layout = LayoutDate
	case len(LayoutMinutes):
		layout = LayoutMinutes
	case len(LayoutSeconds):
		layout = LayoutSeconds
	}
	if layout == "" {
		return time.Time{}, fmt.Errorf("%w: %q: want YYYY-MM-DD, YYYY-MM-DDTHH:MM or YYYY-MM-DDTHH:MM:SS (Europe/Warsaw)", ErrSyntax, s)
	}
	t, err := time.ParseInLocation(layout, s, Warsaw)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %q: %w", ErrSyntax, s, err)
	}
	if layout == LayoutDate {
		t = time.Date(t.Year(), t.Month(), t.Day(), DefaultHour, 0, 0, 0, Warsaw)
	}
	if t.Year() < 2000 || t.Year() > 2099 {
		return time.Time{}, fmt.Errorf("%w: %q: the year must be 2000-2099", ErrRange, s)
	}
	// time.ParseInLocation moves a wall time the DST switch skips silently:
	// it then prints back as another one.
	if t.Format(layout) != s {
		return time.Time{}, fmt.Errorf("%w: %q does not exist in Europe/Warsaw (the hour the DST switch skips)", ErrRange, s)
	}
	if layout != LayoutDate {
		for _, d := range []time.Duration{-time.Hour, time.Hour} {
			if t.Add(d).Format(layout) == s {
				return time.Time{}, fmt.Errorf("%w: %q is ambiguous in Europe/Warsaw (the hour the DST switch repeats)", ErrRange, s)
			}
		}
	}
	return t, nil
}

// Since returns a clock that reads start now and advances with real time
// (the monotonic clock), so durations measured on it are real ones.
func Since(start time.Time) func() time.Time {
	base := time.Now()
	return func() time.Time { return start.Add(time.Since(base)) }
}
