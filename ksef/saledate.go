package ksef

import (
	"fmt"
	"time"
)

// SaleDateRange returns the first and the last sale date (P_6) that an
// invoice issued on p1 may carry under the VAT Act:
//
//   - last: p1 + 60 days. An invoice may not be issued earlier than the 60th
//     day before the supply, or the payment received before it
//     (art. 106i ust. 7).
//   - first: the widest lawful case is an invoice the buyer asks for late
//     (art. 106b ust. 3): the request may come until 3 months after the end
//     of the month of the sale, and the invoice is then due within 15 days of
//     the request (art. 106i ust. 6 pkt 2). A sale in month M can thus be
//     invoiced until the 15th of month M+4: for a p1 on days 1-15 the first
//     sale date is the first day of the fourth month before p1's month, on
//     later days the first day of the third month before it.
func SaleDateRange(p1 Date) (first, last Date) {
	back := 3
	if p1.Day <= 15 {
		back = 4
	}
	y, m := p1.Year, int(p1.Month)-back
	for m < 1 {
		y, m = y-1, m+12
	}
	return NewDate(y, time.Month(m), 1), p1.AddDays(60)
}

// CheckDates checks the dates of a sale issued on the Warsaw day today: the
// issue date (P_1) is the day the invoice is issued, and the sale date (P_6)
// lies in SaleDateRange of it. A zero issue date stands for today. The
// errors wrap ErrIssueDateNotToday and ErrSaleDateOutOfRange.
func (s *Sale) CheckDates(today Date) error {
	var v validator
	p1 := s.IssueDate
	if p1.IsZero() {
		p1 = today
	}
	// The invoice is dated the day it is issued: P_1 is its date of issue
	// (art. 106e ust. 1 pkt 1), and offline24's deadline counts from it
	// (art. 106nda ust. 1). A past P_1 would be overdue at once, a future one
	// is a day the invoice does not exist yet.
	if p1 != today {
		v.rule(ErrIssueDateNotToday, "issue_date", "%v is not today (%v): leave issue_date out and send the day of the sale as sale_date", p1, today)
	}
	if d := s.SaleDate; !d.IsZero() && d.Valid() {
		first, last := SaleDateRange(today)
		if d.Before(first) || d.After(last) {
			v.rule(ErrSaleDateOutOfRange, "sale_date", "%v outside %v..%v for an invoice issued %v (art. 106i ust. 6 and 7)", d, first, last, today)
		}
	}
	return v.err()
}

// rule adds a problem that breaks a named rule.
func (v *validator) rule(rule error, field, format string, args ...any) {
	v.errs = append(v.errs, &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...), Rule: rule})
}
