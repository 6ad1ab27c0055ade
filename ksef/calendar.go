package ksef

import (
	"fmt"
	"slices"
	"time"
)

// Calendar answers business-day questions in Europe/Warsaw. A business day is
// Monday to Friday and not a public holiday. The holidays are the statutory
// ones (14 a year from 2025, including 24 December; Easter-based ones
// computed), adjusted by the configured additions and removals.
//
// A Calendar is immutable and safe for concurrent use. The zero value is not
// usable; call NewCalendar.
type Calendar struct {
	add    map[Date]bool
	remove map[Date]bool
}

// NewCalendar returns a calendar with extra holidays (add) and statutory
// holidays that should count as working days (remove). Configuration can fix
// a law change this way without a rebuild. Invalid dates are rejected.
func NewCalendar(add, remove []Date) (*Calendar, error) {
	c := &Calendar{add: map[Date]bool{}, remove: map[Date]bool{}}
	for _, d := range add {
		if !d.Valid() {
			return nil, fmt.Errorf("calendar add: %w %v", ErrDate, d)
		}
		c.add[d] = true
	}
	for _, d := range remove {
		if !d.Valid() {
			return nil, fmt.Errorf("calendar remove: %w %v", ErrDate, d)
		}
		if c.add[d] {
			return nil, fmt.Errorf("calendar: %v is both added and removed", d)
		}
		c.remove[d] = true
	}
	return c, nil
}

// DefaultCalendar has the statutory holidays only.
var DefaultCalendar, _ = NewCalendar(nil, nil)

// Easter returns Easter Sunday of year y (Gregorian, anonymous algorithm).
func Easter(y int) Date {
	a := y % 19
	b, c := y/100, y%100
	d, e := b/4, b%4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i, k := c/4, c%4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return Date{y, time.Month(month), day}
}

// StatutoryHolidays returns the Polish public holidays of year y in date
// order (ustawa o dniach wolnych od pracy; 24 December from 2025).
func StatutoryHolidays(y int) []Date {
	e := Easter(y)
	ds := []Date{
		{y, time.January, 1}, {y, time.January, 6},
		e, e.AddDays(1), // Easter Sunday and Monday
		{y, time.May, 1}, {y, time.May, 3},
		e.AddDays(49), // Pentecost
		e.AddDays(60), // Corpus Christi
		{y, time.August, 15}, {y, time.November, 1}, {y, time.November, 11},
		{y, time.December, 25}, {y, time.December, 26},
	}
	if y >= 2025 {
		ds = append(ds, Date{y, time.December, 24})
	}
	slices.SortFunc(ds, Date.Compare)
	return ds
}

func isStatutory(d Date) bool {
	switch {
	case d.Month == time.January && (d.Day == 1 || d.Day == 6),
		d.Month == time.May && (d.Day == 1 || d.Day == 3),
		d.Month == time.August && d.Day == 15,
		d.Month == time.November && (d.Day == 1 || d.Day == 11),
		d.Month == time.December && (d.Day == 25 || d.Day == 26),
		d.Month == time.December && d.Day == 24 && d.Year >= 2025:
		return true
	}
	e := Easter(d.Year)
	return d == e || d == e.AddDays(1) || d == e.AddDays(49) || d == e.AddDays(60)
}

// IsHoliday reports whether d is a public holiday in this calendar.
func (c *Calendar) IsHoliday(d Date) bool {
	if c.add[d] {
		return true
	}
	if c.remove[d] {
		return false
	}
	return isStatutory(d)
}

// IsBusinessDay reports whether d is Monday–Friday and not a holiday.
func (c *Calendar) IsBusinessDay(d Date) bool {
	switch d.Weekday() {
	case time.Saturday, time.Sunday:
		return false
	}
	return !c.IsHoliday(d)
}

// AddBusinessDays returns the n-th business day after d (before d for a
// negative n); d itself is not counted, so n = 1 is "the next business day".
// n = 0 returns d unchanged.
func (c *Calendar) AddBusinessDays(d Date, n int) Date {
	step := 1
	if n < 0 {
		step, n = -1, -n
	}
	for n > 0 {
		d = d.AddDays(step)
		if c.IsBusinessDay(d) {
			n--
		}
	}
	return d
}
