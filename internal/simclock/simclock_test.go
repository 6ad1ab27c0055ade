package simclock

import (
	"errors"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	utc := func(y int, mo time.Month, d, h, mi, s int) time.Time {
		return time.Date(y, mo, d, h, mi, s, 0, time.UTC)
	}
	for _, tt := range []struct {
		in   string
		want time.Time // the instant, in UTC
	}{
		{"2026-12-24", utc(2026, 12, 24, 9, 0, 0)}, // 10:00 CET
		{"2026-11-30T23:59", utc(2026, 11, 30, 22, 59, 0)},
		{"2026-12-31T23:59:30", utc(2026, 12, 31, 22, 59, 30)},
		{"2027-01-01T00:00:30", utc(2026, 12, 31, 23, 0, 30)},
		{"2027-07-01", utc(2027, 7, 1, 8, 0, 0)},               // 10:00 CEST
		{"2027-03-28T01:59", utc(2027, 3, 28, 0, 59, 0)},       // the last minute of CET
		{"2027-03-28T03:00", utc(2027, 3, 28, 1, 0, 0)},        // the first of CEST
		{"2027-10-31T01:59:59", utc(2027, 10, 30, 23, 59, 59)}, // CEST
		{"2027-10-31T03:00", utc(2027, 10, 31, 2, 0, 0)},       // CET
		{"2028-02-29", utc(2028, 2, 29, 9, 0, 0)},
	} {
		got, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if !got.Equal(tt.want) || got.Location() != Warsaw {
			t.Errorf("Parse(%q) = %v, want %v in Europe/Warsaw", tt.in, got, tt.want)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want error
	}{
		{"", ErrSyntax},
		{"2026-12-5", ErrSyntax},
		{"05.12.2026", ErrSyntax},
		{"2026-12-05 10:00", ErrSyntax},
		{"2026-12-05T10:00Z", ErrSyntax},
		{"2026-12-05T10:00+01", ErrSyntax},
		{"2026-12-05T10", ErrSyntax},
		{"2026-12-05T24:00", ErrSyntax},
		{"2026-02-29", ErrSyntax}, // not a leap year
		{"2026-13-01", ErrSyntax},
		{"1999-12-31", ErrRange},
		{"2100-01-01", ErrRange},
		{"2027-03-28T02:30", ErrRange},    // skipped by the switch to CEST
		{"2027-10-31T02:30", ErrRange},    // repeated by the switch to CET
		{"2027-10-31T02:00:00", ErrRange}, // repeated
	} {
		got, err := Parse(tt.in)
		if !errors.Is(err, tt.want) {
			t.Errorf("Parse(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestSince(t *testing.T) {
	start, err := Parse("2026-12-31T23:59:30")
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	now := Since(start)
	first := now()
	second := now()
	elapsed := time.Since(before)
	if first.Before(start) || second.Before(first) {
		t.Fatalf("clock went back: start %v, then %v, %v", start, first, second)
	}
	// The clock advances no faster than the real one between the reads.
	if d := second.Sub(start); d > elapsed {
		t.Errorf("clock advanced %v while %v passed", d, elapsed)
	}
	if first.Location() != Warsaw {
		t.Errorf("location %v, want Europe/Warsaw", first.Location())
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"2026-12-24", "2026-12-31T23:59", "2026-12-31T23:59:30", "2027-03-28T02:30",
		"2027-10-31T02:30", "2028-02-29", "0000-00-00", "2026-12-05T10:00Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrRange) {
				t.Fatalf("Parse(%q): unclassified error %v", s, err)
			}
			return
		}
		// An accepted text names one Warsaw wall time, printed back as given.
		layout := map[int]string{len(LayoutDate): LayoutDate, len(LayoutMinutes): LayoutMinutes, len(LayoutSeconds): LayoutSeconds}[len(s)]
		if got.Location() != Warsaw || got.Format(layout) != s {
			t.Fatalf("Parse(%q) = %v, which prints as %q", s, got, got.Format(layout))
		}
		if layout == LayoutDate && (got.Hour() != DefaultHour || got.Minute() != 0) {
			t.Fatalf("Parse(%q) = %v, want %d:00", s, got, DefaultHour)
		}
	})
}
