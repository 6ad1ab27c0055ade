package ksef_test

import (
	"fmt"
	"testing"

	"github.com/posagent/posagent/ksef"
)

var (
	amt = ksef.MustParseAmount
	qty = ksef.MustParseQuantity
)

func line(q, price string, r ksef.Rate) ksef.Line {
	return ksef.Line{Name: "x", Quantity: qty(q), UnitPrice: amt(price), VATRate: r}
}

// groups renders totals as "rate:net/vat/gross" for compact comparisons.
func groups(t ksef.Totals) string {
	s := ""
	for _, g := range t.Groups {
		s += fmt.Sprintf("%s:%v/%v/%v ", g.Rate, g.Net, g.VAT, g.Gross)
	}
	return s + fmt.Sprintf("= %v/%v/%v", t.Net, t.VAT, t.Gross)
}

func TestComputeTotals(t *testing.T) {
	tests := []struct {
		name  string
		mode  ksef.PriceMode
		lines []ksef.Line
		want  string
	}{
		// 24.60 × 23/123 = 4.60 exactly; 9.99 × 8/108 = 0.74 (0.7400).
		{"gross basic", ksef.PriceGross, []ksef.Line{line("2", "12.30", ksef.Rate23), line("1", "9.99", ksef.Rate8)},
			"23:20.00/4.60/24.60 8:9.25/0.74/9.99 = 29.25/5.34/34.59"},
		// 35.27 × 6.49 = 228.9023 → 228.90; + 24.60 = 253.50; × 23/123 = 47.4024 → 47.40;
		// 4.50 × 5/105 = 0.2143 → 0.21.
		{"gross fuel", ksef.PriceGross, []ksef.Line{line("35.27", "6.49", ksef.Rate23), line("2", "12.30", ksef.Rate23), line("1", "4.50", ksef.Rate5)},
			"23:206.10/47.40/253.50 5:4.29/0.21/4.50 = 210.39/47.61/258.00"},
		// Half-up at exactly half a grosz: 78.775 → 78.78.
		{"net half up", ksef.PriceNet, []ksef.Line{line("250", "1.37", ksef.Rate23)},
			"23:342.50/78.78/421.28 = 342.50/78.78/421.28"},
		// 0.5 × 0.01 = 0.005 → 0.01 per line value.
		{"quantity rounding", ksef.PriceGross, []ksef.Line{line("0.5", "0.01", ksef.Rate23)},
			"23:0.01/0.00/0.01 = 0.01/0.00/0.01"},
		{"no vat rates", ksef.PriceGross, []ksef.Line{line("1", "10.00", ksef.RateZW), line("1", "5.00", ksef.Rate0KR), line("1", "1.00", ksef.RateOO)},
			"0 KR:5.00/0.00/5.00 zw:10.00/0.00/10.00 oo:1.00/0.00/1.00 = 16.00/0.00/16.00"},
		// Negative difference rows round away from zero: −3.00 × 23/123 = −0.561 → −0.56.
		{"negative", ksef.PriceGross, []ksef.Line{line("-30", "0.10", ksef.Rate23)},
			"23:-2.44/-0.56/-3.00 = -2.44/-0.56/-3.00"},
		{"per group rounding", ksef.PriceGross, []ksef.Line{line("1", "0.07", ksef.Rate23), line("1", "0.07", ksef.Rate23)},
			"23:0.11/0.03/0.14 = 0.11/0.03/0.14"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ksef.ComputeTotals(tt.mode, tt.lines)
			if err != nil {
				t.Fatal(err)
			}
			if s := groups(got); s != tt.want {
				t.Errorf("ComputeTotals =\n %s, want\n %s", s, tt.want)
			}
			checkLinesAgree(t, got)
		})
	}
}

// checkLinesAgree asserts that line amounts add up to their groups exactly.
func checkLinesAgree(t *testing.T, tot ksef.Totals) {
	t.Helper()
	var net, vat, gross ksef.Amount
	for _, l := range tot.Lines {
		if l.Net+l.VAT != l.Gross {
			t.Errorf("line %+v: net + VAT != gross", l)
		}
		net, vat, gross = net+l.Net, vat+l.VAT, gross+l.Gross
	}
	if net != tot.Net || vat != tot.VAT || gross != tot.Gross {
		t.Errorf("line sums %v/%v/%v != totals %v/%v/%v", net, vat, gross, tot.Net, tot.VAT, tot.Gross)
	}
}

func TestLineVATAllocation(t *testing.T) {
	// Group VAT 0.14 × 23/123 = 0.0262 → 0.03, but each line alone gives 0.01:
	// the extra grosz goes to the first of the largest lines.
	got, err := ksef.ComputeTotals(ksef.PriceGross, []ksef.Line{line("1", "0.07", ksef.Rate23), line("1", "0.07", ksef.Rate23)})
	if err != nil {
		t.Fatal(err)
	}
	want := []ksef.LineAmounts{{Net: 5, VAT: 2, Gross: 7}, {Net: 6, VAT: 1, Gross: 7}}
	for i := range want {
		if got.Lines[i] != want[i] {
			t.Errorf("Lines[%d] = %+v, want %+v", i, got.Lines[i], want[i])
		}
	}
}

func TestSaleTotalsForeignCurrency(t *testing.T) {
	s := ksef.Sale{PriceMode: ksef.PriceNet, Currency: "EUR", ExchangeRate: qty("4.2512"),
		Lines: []ksef.Line{line("250", "1.37", ksef.Rate23), line("3", "2.15", ksef.Rate8)}}
	tot, err := s.Totals()
	if err != nil {
		t.Fatal(err)
	}
	// 78.78 × 4.2512 = 334.909536 → 334.91; 0.52 × 4.2512 = 2.210624 → 2.21.
	if got := []ksef.Amount{tot.Groups[0].VATPLN, tot.Groups[1].VATPLN, tot.VATPLN}; got[0] != amt("334.91") || got[1] != amt("2.21") || got[2] != amt("337.12") {
		t.Errorf("VATPLN = %v, want [334.91 2.21 337.12]", got)
	}
	if tot.Gross != amt("428.25") {
		t.Errorf("Gross = %v, want 428.25", tot.Gross)
	}
}

func TestRateLabel(t *testing.T) {
	for r, want := range map[ksef.Rate]string{ksef.Rate23: "23%", ksef.Rate0WDT: "0% WDT", ksef.RateZW: "zw", ksef.RateNPII: "np II"} {
		if got := r.Label(); got != want {
			t.Errorf("%q.Label() = %q, want %q", r, got, want)
		}
	}
}

func ExampleComputeTotals() {
	tot, err := ksef.ComputeTotals(ksef.PriceGross, []ksef.Line{
		{Name: "Kawa", Quantity: ksef.MustParseQuantity("2"), UnitPrice: ksef.MustParseAmount("12.30"), VATRate: ksef.Rate23},
		{Name: "Kanapka", Quantity: ksef.MustParseQuantity("1"), UnitPrice: ksef.MustParseAmount("9.99"), VATRate: ksef.Rate8},
	})
	if err != nil {
		panic(err)
	}
	for _, g := range tot.Groups {
		fmt.Printf("%-4s net %6v VAT %5v gross %6v\n", g.Rate.Label(), g.Net, g.VAT, g.Gross)
	}
	fmt.Println("P_15", tot.Gross)
	// Output:
	// 23%  net  20.00 VAT  4.60 gross  24.60
	// 8%   net   9.25 VAT  0.74 gross   9.99
	// P_15 34.59
}
