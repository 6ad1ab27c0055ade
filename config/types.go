package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration written as a string such as "3s" or "500ms".
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalText writes the duration as Go's duration syntax.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads Go's duration syntax.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return &valueError{strconv.Quote(string(b)), `a duration such as "3s", "500ms" or "1m30s"`}
	}
	*d = Duration(v)
	return nil
}

// Size is a number of bytes, written as an integer or a string with a KiB, MiB
// or GiB suffix ("512KiB", "1MiB").
type Size int64

// MarshalText writes the size with the largest exact binary suffix.
func (s Size) MarshalText() ([]byte, error) {
	for _, u := range sizeUnits {
		if s != 0 && s%Size(u.mult) == 0 {
			return []byte(strconv.FormatInt(int64(s)/u.mult, 10) + u.suffix), nil
		}
	}
	return []byte(strconv.FormatInt(int64(s), 10)), nil
}

var sizeUnits = []struct {
	suffix string
	mult   int64
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}}

// UnmarshalText reads an integer of bytes or a KiB/MiB/GiB size.
func (s *Size) UnmarshalText(b []byte) error {
	text := strings.TrimSpace(string(b))
	mult := int64(1)
	for _, u := range sizeUnits {
		if n, ok := strings.CutSuffix(text, u.suffix); ok {
			text, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return &valueError{strconv.Quote(string(b)), `a size such as 1048576, "512KiB" or "1MiB"`}
	}
	*s = Size(n * mult)
	return nil
}

// Date is a calendar date (a Europe/Warsaw local date; no time, no zone).
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// String formats the date as YYYY-MM-DD.
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day) }

// MarshalText writes YYYY-MM-DD.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads YYYY-MM-DD. A TOML local date (unquoted 2026-12-24) reaches
// here as midnight in RFC 3339 form, which is accepted too.
func (d *Date) UnmarshalText(b []byte) error {
	s := string(b)
	if rest, ok := strings.CutPrefix(s[min(len(s), 10):], "T00:00:00"); ok && (rest == "" || rest == "Z") {
		s = s[:10]
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil || t.Year() < 2000 || t.Year() > 2199 {
		return &valueError{strconv.Quote(string(b)), "a date YYYY-MM-DD between 2000 and 2199"}
	}
	*d = Date{t.Year(), t.Month(), t.Day()}
	return nil
}

// valueError is a format failure reported by an UnmarshalText method; Parse turns
// it into a FieldError that names the key.
type valueError struct{ value, allowed string }

func (e *valueError) Error() string { return e.value + " is not " + e.allowed }

// In returns midnight of the date in loc (use Europe/Warsaw for business days).
func (d Date) In(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}
