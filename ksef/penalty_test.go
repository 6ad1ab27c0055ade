package ksef_test

import (
	"regexp"
	"testing"

	"github.com/posagent/posagent/ksef"
)

// TestPenaltyFor: art. 106ni fines only deadlines from 2027-01-01, at 100% of
// the VAT or 18.7% of the gross where no VAT is shown, and never below zero.
func TestPenaltyFor(t *testing.T) {
	a, d := ksef.MustParseAmount, ksef.MustParseDate
	tests := []struct {
		name       string
		deadline   string
		vat, gross string
		want       string
		basis      ksef.PenaltyBasis
	}{
		{"missed in 2026: no fine", "2026-12-31", "23.00", "123.00", "0.00", ksef.PenaltyNone},
		{"first day of fines", "2027-01-01", "23.00", "123.00", "23.00", ksef.PenaltyVAT},
		{"no VAT shown: 18.7% of the gross", "2027-01-05", "0.00", "100.00", "18.70", ksef.PenaltyGross},
		{"correction lowering the VAT", "2027-01-05", "-23.00", "-123.00", "0.00", ksef.PenaltyVAT},
		{"correction without VAT", "2027-01-05", "0.00", "-100.00", "0.00", ksef.PenaltyGross},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ksef.PenaltyFor(d(tt.deadline), a(tt.vat), a(tt.gross))
			if got.Amount != a(tt.want) || got.Basis != tt.basis {
				t.Errorf("PenaltyFor(%s, %s, %s) = %v %v, want %s %v", tt.deadline, tt.vat, tt.gross, got.Amount, got.Basis, tt.want, tt.basis)
			}
		})
	}
}

// TestInPLN: an invoice in EUR is exposed in PLN: its VAT as the P_14_xW the
// XML carries, its gross at the invoice's exchange rate.
func TestInPLN(t *testing.T) {
	inv := loadInvoice(t, "testdata/foreign-currency.json")
	tot, err := inv.Totals()
	if err != nil {
		t.Fatal(err)
	}
	vat, gross, err := inv.Sale.InPLN(tot)
	if err != nil {
		t.Fatal(err)
	}
	xml, err := inv.XML()
	if err != nil {
		t.Fatal(err)
	}
	var fromXML ksef.Amount
	for _, m := range regexp.MustCompile(`<P_14_\dW>([0-9.]+)</`).FindAllSubmatch(xml, -1) {
		fromXML += ksef.MustParseAmount(string(m[1]))
	}
	if vat != fromXML || vat == tot.VAT {
		t.Errorf("VAT in PLN = %v, want the sum of P_14_xW %v (EUR VAT %v)", vat, fromXML, tot.VAT)
	}
	// 428.25 EUR × 4.2512 = 1820.5764 PLN
	if want := ksef.MustParseAmount("1820.58"); gross != want || tot.Gross != ksef.MustParseAmount("428.25") {
		t.Errorf("gross in PLN = %v (of %v EUR), want %v", gross, tot.Gross, want)
	}

	pln := loadInvoice(t, "testdata/consumer.json")
	ptot, err := pln.Totals()
	if err != nil {
		t.Fatal(err)
	}
	if v, g, err := pln.Sale.InPLN(ptot); err != nil || v != ptot.VAT || g != ptot.Gross {
		t.Errorf("InPLN of a PLN invoice = %v, %v, %v; want its own %v, %v", v, g, err, ptot.VAT, ptot.Gross)
	}
}

// TestVATExemptNotInXML: the VAT-exempt flag decides how the invoice is
// handed over, not what it says.
func TestVATExemptNotInXML(t *testing.T) {
	inv := loadInvoice(t, "testdata/b2b.json")
	plain, err := inv.XML()
	if err != nil {
		t.Fatal(err)
	}
	inv.Sale.Buyer.VATExempt = true
	exempt, err := inv.XML()
	if err != nil {
		t.Fatal(err)
	}
	if string(plain) != string(exempt) {
		t.Error("the vat_exempt flag changed the XML")
	}
}
