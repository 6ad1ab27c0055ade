package outbox_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/outbox"
)

func TestSeriesRender(t *testing.T) {
	// 23:30 UTC on 30 Nov is already 1 Dec in Warsaw: the period follows Warsaw.
	at := time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC)
	tests := []struct {
		name   string
		s      outbox.Series
		seq    uint64
		want   string
		period string
	}{
		{"monthly", outbox.Series{Terminal: "T1", Format: "{terminal}/{yyyy}/{mm}/{seq:06}", Reset: outbox.ResetMonthly}, 7, "T1/2026/12/000007", "2026-12"},
		{"yearly yy", outbox.Series{Terminal: "K-2", Format: "FV {seq}/{yy}/{terminal}", Reset: outbox.ResetYearly}, 123, "FV 123/26/K-2", "2026"},
		{"never", outbox.Series{Terminal: "A", Format: "{seq:03}", Reset: outbox.ResetNever}, 4567, "4567", "all"},
		{"empty reset is never", outbox.Series{Terminal: "A", Format: "{dd}.{mm}-{seq}"}, 1, "01.12-1", "all"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.s.Render(at, tt.seq)
			if err != nil || got != tt.want {
				t.Fatalf("Render(%d) = %q, %v, want %q", tt.seq, got, err, tt.want)
			}
			if got := tt.s.Period(at); got != tt.period {
				t.Errorf("Period() = %q, want %q", got, tt.period)
			}
		})
	}
}

func TestSeriesValidate(t *testing.T) {
	tests := []struct {
		name   string
		s      outbox.Series
		reason string
	}{
		{"no seq", outbox.Series{Terminal: "T", Format: "{terminal}/{yyyy}"}, "no {seq}"},
		{"two seq", outbox.Series{Terminal: "T", Format: "{seq}/{seq}"}, "more than once"},
		{"unknown", outbox.Series{Terminal: "T", Format: "{seq}/{year}"}, "unknown placeholder {year}"},
		{"bad width", outbox.Series{Terminal: "T", Format: "{seq:6}"}, "width"},
		{"width too big", outbox.Series{Terminal: "T", Format: "{seq:013}"}, "width"},
		{"unterminated", outbox.Series{Terminal: "T", Format: "{seq"}, "unterminated"},
		{"stray close", outbox.Series{Terminal: "T", Format: "a}{seq}"}, "unmatched"},
		{"monthly without month", outbox.Series{Terminal: "T", Format: "{yyyy}/{seq}", Reset: outbox.ResetMonthly}, "monthly reset needs"},
		{"monthly without year", outbox.Series{Terminal: "T", Format: "{mm}/{seq}", Reset: outbox.ResetMonthly}, "monthly reset needs"},
		{"yearly without year", outbox.Series{Terminal: "T", Format: "{mm}/{seq}", Reset: outbox.ResetYearly}, "yearly reset needs"},
		{"unknown reset", outbox.Series{Terminal: "T", Format: "{seq}", Reset: "daily"}, "unknown reset"},
		{"empty terminal", outbox.Series{Format: "{seq}"}, "terminal must be"},
		{"bad terminal", outbox.Series{Terminal: "T 1", Format: "{seq}"}, "terminal has character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.s.Validate()
			var se *outbox.SeriesError
			if !errors.As(err, &se) || !errors.Is(err, outbox.ErrInvalidSeries) {
				t.Fatalf("Validate() = %v, want *SeriesError", err)
			}
			if !strings.Contains(se.Reason, tt.reason) {
				t.Errorf("reason %q, want it to contain %q", se.Reason, tt.reason)
			}
		})
	}
}

func TestSeriesRenderTooLong(t *testing.T) {
	s := outbox.Series{Terminal: "T", Format: strings.Repeat("x", 300) + "{seq}"}
	if _, err := s.Render(time.Now(), 1); !errors.Is(err, outbox.ErrInvalidSeries) {
		t.Fatalf("Render() = %v, want ErrInvalidSeries", err)
	}
}

// FuzzSeries checks the format parser: it never panics, and a valid series renders
// distinct numbers for distinct sequences of the same period.
func FuzzSeries(f *testing.F) {
	for _, s := range []string{"{terminal}/{yyyy}/{mm}/{seq:06}", "{seq}", "FV{seq:012}{dd}", "{", "}{seq}", "{seq:0}", "{yy}{mm}{seq:01}"} {
		f.Add(s, "monthly", uint64(9))
	}
	at := time.Date(2026, 3, 5, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, format, reset string, seq uint64) {
		s := outbox.Series{Terminal: "T1", Format: format, Reset: outbox.Reset(reset)}
		if s.Validate() != nil || seq == 0 || seq == ^uint64(0) {
			return
		}
		a, errA := s.Render(at, seq)
		b, errB := s.Render(at, seq+1)
		if errA != nil || errB != nil {
			return // too long
		}
		if a == b {
			t.Fatalf("Render(%d) == Render(%d) == %q", seq, seq+1, a)
		}
	})
}
