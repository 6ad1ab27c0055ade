package ksef

import (
	"fmt"
	"strconv"
	"time"
	_ "time/tzdata" // ARM boxes often ship without zoneinfo; deadlines must still be Warsaw time.
)

// Warsaw is the Europe/Warsaw location in which every KSeF date is a civil date.
var Warsaw = mustLoadWarsaw()

func mustLoadWarsaw() *time.Location {
	loc, err := time.LoadLocation("Europe/Warsaw")
	if err != nil {
		panic("ksef: Europe/Warsaw missing from embedded tzdata: " + err.Error())
	}
	return loc
}

// Date is a civil date (no time, no zone) as used for P_1 and deadlines; it
// is interpreted in Europe/Warsaw. The zero value means "no date". Dates are
// comparable with == and ordered by Compare.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// NewDate returns the date y-m-d; it does not normalise (use Valid to check).
func NewDate(y int, m time.Month, d int) Date { return Date{y, m, d} }

// DateOf returns the Warsaw civil date of the instant t.
func DateOf(t time.Time) Date {
	y, m, d := t.In(Warsaw).Date()
	return Date{y, m, d}
}

// ParseDate parses "YYYY-MM-DD".
func ParseDate(s string) (Date, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return Date{}, fmt.Errorf("%w %q: want YYYY-MM-DD", ErrDate, s)
	}
	y, err1 := strconv.Atoi(s[:4])
	m, err2 := strconv.Atoi(s[5:7])
	d, err3 := strconv.Atoi(s[8:])
	if err1 != nil || err2 != nil || err3 != nil || s[0] == '+' || s[0] == '-' || s[5] == '+' || s[8] == '+' {
		return Date{}, fmt.Errorf("%w %q: want YYYY-MM-DD", ErrDate, s)
	}
	dt := Date{y, time.Month(m), d}
	if !dt.Valid() {
		return Date{}, fmt.Errorf("%w %q: no such day", ErrDate, s)
	}
	return dt, nil
}

// MustParseDate is ParseDate for constants; it panics on error.
func MustParseDate(s string) Date {
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// Valid reports whether d names a real day in years 1..9999.
func (d Date) Valid() bool {
	if d.Year < 1 || d.Year > 9999 || d.Month < 1 || d.Month > 12 || d.Day < 1 {
		return false
	}
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC).Day() == d.Day
}

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// String returns "YYYY-MM-DD" ("" for the zero date).
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// DMY returns the date as DD-MM-YYYY, the form KOD I uses.
func (d Date) DMY() string { return fmt.Sprintf("%02d-%02d-%04d", d.Day, int(d.Month), d.Year) }

func (d Date) utc() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }

// AddDays returns the date n calendar days later (earlier for negative n).
func (d Date) AddDays(n int) Date {
	y, m, dd := d.utc().AddDate(0, 0, n).Date()
	return Date{y, m, dd}
}

// Weekday returns the day of the week.
func (d Date) Weekday() time.Weekday { return d.utc().Weekday() }

// Compare returns -1, 0 or +1 as d is before, equal to or after e.
func (d Date) Compare(e Date) int {
	switch {
	case d.Year != e.Year:
		return cmpInt(d.Year, e.Year)
	case d.Month != e.Month:
		return cmpInt(int(d.Month), int(e.Month))
	default:
		return cmpInt(d.Day, e.Day)
	}
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Before reports whether d is before e.
func (d Date) Before(e Date) bool { return d.Compare(e) < 0 }

// After reports whether d is after e.
func (d Date) After(e Date) bool { return d.Compare(e) > 0 }

// Start returns the first instant of d in Warsaw.
func (d Date) Start() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, Warsaw) }

// End returns the last instant (23:59:59.999999999) of d in Warsaw; a deadline
// on d has passed once the clock is after End.
func (d Date) End() time.Time {
	n := d.AddDays(1)
	return time.Date(n.Year, n.Month, n.Day, 0, 0, 0, 0, Warsaw).Add(-time.Nanosecond)
}

// MarshalText writes "YYYY-MM-DD" (empty for the zero date).
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses "YYYY-MM-DD"; empty text gives the zero date.
func (d *Date) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Date{}
		return nil
	}
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}
