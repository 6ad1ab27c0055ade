package till_test

import (
	"fmt"
	"time"

	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/till"
)

// fullStatus is a status with something in every section: link down, an
// operator override, paper out, two overdue invoices, a certificate about to
// expire and 25 errors (the page shows 20).
func fullStatus(now time.Time) till.Status {
	checked := now.Add(-3 * time.Minute)
	earliest := now.Add(-26 * time.Hour)
	notAfter := now.Add(5*24*time.Hour + time.Hour)
	tokensEnd := ksef.TokenAuthEnd
	st := till.Status{
		Now:     now,
		Link:    till.Link{State: "down", Checked: &checked, LastError: "dial tcp: i/o timeout"},
		KSeF:    till.KSeFState{State: "available", Environment: "test"},
		Mode:    till.ModeState{Current: "offline24", Override: "offline24", Policy: "offline-first"},
		Printer: till.Printer{State: "paper_out", Detail: "paper end sensor", Pending: 3, Failed: 1},
		Backlog: till.Backlog{
			Count:            42,
			EarliestDeadline: &earliest,
			Overdue: []till.Overdue{
				{ID: "00000007", Number: "FV/T1/2026/000007", Deadline: earliest, Exposure: ksef.MustParseAmount("46.00"), Basis: "100% VAT"},
				{ID: "00000009", Number: "FV/T1/2026/000009", Deadline: earliest.Add(time.Hour), Exposure: ksef.MustParseAmount("1234.56"), Basis: "18.7% gross"},
			},
			Exposure: ksef.MustParseAmount("1280.56"),
		},
		Certificate: till.Certificate{Serial: "0123456789ABCDEF", NotAfter: &notAfter, DaysLeft: 5, KSeFState: "Active"},
		Auth: till.Auth{Method: "token", FailedLogins: 2, TokensEnd: &tokensEnd, TokenDaysLeft: 38,
			Certificate: &till.Certificate{Serial: "0321C82DA41B4362", NotAfter: &notAfter, DaysLeft: 5, KSeFState: "Active"}},
	}
	st.Printer.Uncertain = 2
	st.Printer.UncertainReceipts = []till.UncertainReceipt{
		{ID: "00000011", Number: "FV/T1/2026/000011", IssuedAt: checked.Add(-10 * time.Minute), FirstAttempt: &checked},
		{ID: "00000012", Number: "FV/T1/2026/000012", IssuedAt: checked.Add(-9 * time.Minute)},
	}
	for i := range 25 {
		st.Errors = append(st.Errors, till.ErrorItem{
			Time: now.Add(-time.Duration(i) * time.Minute), Source: "ksef", Code: fmt.Sprint(21400 + i),
			Message: fmt.Sprintf("error number %d", i+1),
		})
	}
	return st
}
