package agent_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/internal/metrics"
	"github.com/posagent/posagent/internal/testutil"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/ksef/ksefapi"
)

// TestPenaltyFrom2027: the status, the metric and the alarm count the
// exposure of each overdue invoice on its own, in PLN, never below zero, and
// only for deadlines missed from 2027-01-01 (art. 106ni).
func TestPenaltyFrom2027(t *testing.T) {
	reg := metrics.NewRegistry()
	logs := &testutil.SyncBuffer{}
	u := newUnit(t, func(o *agent.Options) {
		o.Metrics = reg
		o.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	u.api.AuthenticateFunc = func(context.Context) (*ksefapi.Tokens, error) {
		return nil, &ksefapi.APIError{Op: "auth", Status: 503} // KSeF unreachable: everything goes overdue
	}
	ctx := context.Background()
	issue := func(key string, s ksef.Sale) *agent.Issued {
		t.Helper()
		v, err := u.agent.Issue(ctx, agent.IssueRequest{Key: key, Sale: s})
		if err != nil {
			t.Fatalf("Issue(%s) = %v", key, err)
		}
		return v
	}

	u.clock.Set(time.Date(2026, 12, 30, 12, 0, 0, 0, ksef.Warsaw))
	in2026 := issue("2026", consumerSale()) // deadline Thursday 2026-12-31
	u.clock.Set(time.Date(2027, 1, 4, 12, 0, 0, 0, ksef.Warsaw))
	plain := issue("pln", consumerSale()) // deadline 2027-01-05: VAT 4.84 PLN
	eur := b2bSale()
	eur.PriceMode, eur.Currency, eur.ExchangeRate = ksef.PriceNet, "EUR", ksef.MustParseQuantity("4.2512")
	eur.Lines = []ksef.Line{line("Diesel (fleet card)", "250", "1.37", "23"), line("Sandwich", "3", "2.15", "8")}
	inEUR := issue("eur", eur) // VAT 79.30 EUR; P_14_1W 334.91 + P_14_2W 2.21 = 337.12 PLN
	zw := consumerSale()
	zw.Lines, zw.ExemptionBasis = []ksef.Line{line("Szkolenie BHP", "1", "100.00", "zw")}, "art. 43 ust. 1 pkt 29 ustawy o VAT"
	exempt := issue("zw", zw) // no VAT: 18.7% of 100.00 = 18.70
	// A correction is issued only once its original is in KSeF
	// (tryby-offline.md); it is then overdue on its own, with a negative VAT
	// that must not lower the others' exposure.
	orig := issue("orig", consumerSale())
	acceptInStore(t, u.store, orig.ID)
	kor, err := u.agent.Correct(ctx, orig.ID, agent.CorrectionRequest{Key: "kor", Reason: "rabat", Type: 2, AfterRows: true,
		Lines: []ksef.Line{line("Kawa czarna", "2", "1.00", "23"), line("Drożdżówka", "1", "4.99", "5")}})
	if err != nil {
		t.Fatal(err)
	}
	if kor.VAT >= 0 {
		t.Fatalf("correction VAT %v, want negative", kor.VAT)
	}
	u.run(t)
	u.clock.Set(time.Date(2027, 1, 12, 12, 0, 0, 0, ksef.Warsaw))

	st, err := u.agent.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a := ksef.MustParseAmount
	want := map[string]struct {
		penalty ksef.Amount
		basis   string
	}{
		in2026.ID:   {0, "none"},
		plain.ID:    {a("4.84"), "100% VAT"},
		inEUR.ID:    {a("337.12"), "100% VAT"},
		exempt.ID:   {a("18.70"), "18.7% gross"},
		kor.View.ID: {0, "100% VAT"}, // its negative VAT lowers no other invoice's exposure
	}
	if len(st.Overdue) != len(want) {
		t.Fatalf("%d overdue, want %d: %+v", len(st.Overdue), len(want), st.Overdue)
	}
	for _, o := range st.Overdue {
		if w := want[o.ID]; o.Penalty != w.penalty || o.Basis != w.basis {
			t.Errorf("%s (deadline %v): penalty %v %s, want %v %s", o.Number, o.Deadline, o.Penalty, o.Basis, w.penalty, w.basis)
		}
	}
	total := a("4.84") + a("337.12") + a("18.70")
	if st.PenaltyExposure != total {
		t.Errorf("exposure %v, want %v", st.PenaltyExposure, total)
	}
	waitFor(t, "the metric and the alarm", 5*time.Second, func() bool {
		var sb strings.Builder
		reg.WriteTo(&sb)
		return strings.Contains(sb.String(), "\nposagent_penalty_exposure_pln 360.66\n") && strings.Contains(logs.String(), "ALARM")
	})
	alarm := logs.String()
	for _, w := range []string{ksef.PenaltyArticle, "100% VAT: 3 invoices", "18.7% gross: 1 invoice", "none (deadline before 2027-01-01): 1 invoice", "penalty_exposure_pln=360.66"} {
		if !strings.Contains(alarm, w) {
			t.Errorf("the alarm does not say %q:\n%s", w, alarm)
		}
	}
}
