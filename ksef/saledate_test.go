package ksef_test

import (
	"errors"
	"testing"
	"time"

	"github.com/posagent/posagent/ksef"
)

func TestSaleDateRange(t *testing.T) {
	d := ksef.MustParseDate
	tests := []struct{ p1, first, last string }{
		{"2027-01-04", "2026-09-01", "2027-03-05"}, // day ≤ 15: a request made on 2026-12-31 for a September sale
		{"2027-01-15", "2026-09-01", "2027-03-16"},
		{"2027-01-16", "2026-10-01", "2027-03-17"}, // day > 15: the September request window has closed
		{"2027-03-31", "2026-12-01", "2027-05-30"},
		{"2027-04-01", "2026-12-01", "2027-05-31"},
		{"2026-12-31", "2026-09-01", "2027-03-01"},
		{"2028-02-29", "2027-11-01", "2028-04-29"},
	}
	for _, tt := range tests {
		first, last := ksef.SaleDateRange(d(tt.p1))
		if first != d(tt.first) || last != d(tt.last) {
			t.Errorf("SaleDateRange(%s) = %v..%v, want %s..%s", tt.p1, first, last, tt.first, tt.last)
		}
	}
}

// TestSaleDateRangeOracle checks the first lawful sale date against the
// articles themselves, day by day over two years: a sale on day s can be
// invoiced on request (art. 106b ust. 3) until 15 days (art. 106i ust. 6
// pkt 2) after the last day of the third month after the month of s.
func TestSaleDateRangeOracle(t *testing.T) {
	lastIssue := func(s ksef.Date) ksef.Date {
		endOfM3 := time.Date(s.Year, s.Month+4, 0, 0, 0, 0, 0, time.UTC) // day 0 of M+4 = last day of M+3
		return ksef.DateOf(time.Date(endOfM3.Year(), endOfM3.Month(), endOfM3.Day(), 12, 0, 0, 0, ksef.Warsaw)).AddDays(15)
	}
	for p1 := ksef.MustParseDate("2026-01-01"); p1.Before(ksef.MustParseDate("2028-01-01")); p1 = p1.AddDays(1) {
		first, _ := ksef.SaleDateRange(p1)
		if lastIssue(first).Before(p1) {
			t.Fatalf("p1 %v: first sale date %v cannot be invoiced that late (until %v)", p1, first, lastIssue(first))
		}
		if prev := first.AddDays(-1); !lastIssue(prev).Before(p1) {
			t.Fatalf("p1 %v: %v could still be invoiced (until %v) but is refused", p1, prev, lastIssue(prev))
		}
	}
}

func TestCheckDates(t *testing.T) {
	d := ksef.MustParseDate
	today := d("2027-01-04")
	tests := []struct {
		name        string
		issue, sale string
		want        []error // the rule of each error, in order
	}{
		{"issue date left out", "", "", nil},
		{"today", "2027-01-04", "", nil},
		{"2017 (issue #15)", "2017-01-01", "", []error{ksef.ErrIssueDateNotToday}},
		{"yesterday", "2027-01-03", "", []error{ksef.ErrIssueDateNotToday}},
		{"tomorrow", "2027-01-05", "", []error{ksef.ErrIssueDateNotToday}},
		{"sale 2049-12-31 (issue #15)", "", "2049-12-31", []error{ksef.ErrSaleDateOutOfRange}},
		{"sale 60 days ahead", "", "2027-03-05", nil},
		{"sale 61 days ahead", "", "2027-03-06", []error{ksef.ErrSaleDateOutOfRange}},
		{"sale on the first lawful day, a year back", "", "2026-09-01", nil},
		{"sale the day before", "", "2026-08-31", []error{ksef.ErrSaleDateOutOfRange}},
		{"both", "2026-12-31", "2026-01-01", []error{ksef.ErrIssueDateNotToday, ksef.ErrSaleDateOutOfRange}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mutate(t, func(s *ksef.Sale) {
				s.IssueDate, s.SaleDate = ksef.Date{}, ksef.Date{}
				if tt.issue != "" {
					s.IssueDate = d(tt.issue)
				}
				if tt.sale != "" {
					s.SaleDate = d(tt.sale)
				}
			})
			err := s.CheckDates(today)
			var ves ksef.ValidationErrors
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("CheckDates = %v, want nil", err)
				}
				return
			}
			if !errors.As(err, &ves) || len(ves) != len(tt.want) {
				t.Fatalf("CheckDates = %v, want %d errors", err, len(tt.want))
			}
			for i, rule := range tt.want {
				if !errors.Is(ves[i], rule) || !errors.Is(ves[i], ksef.ErrInvalidSale) {
					t.Errorf("error %d = %v, want it to match %v and ErrInvalidSale", i, ves[i], rule)
				}
			}
		})
	}
}
