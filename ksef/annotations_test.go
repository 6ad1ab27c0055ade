package ksef_test

import (
	"strings"
	"testing"

	"github.com/posagent/posagent/ksef"
)

// TestSellerAnnotationsValidate: margin rows need the seller's margin scheme
// (art. 106e ust. 1 pkt 20 and 24: the invoice names the procedure), and
// only the four FA(3) procedures are accepted.
func TestSellerAnnotationsValidate(t *testing.T) {
	tests := []struct {
		name   string
		scheme string
		rate   ksef.Rate
		want   string // "" = valid
	}{
		{"margin row with a scheme", ksef.MarginUsedGoods, ksef.RateMargin, ""},
		{"margin row without a scheme", "", ksef.RateMargin, `lines[0].vat_rate: margin rows ("marza") need the seller's margin scheme`},
		{"unknown scheme", "cars", ksef.Rate23, `seller.margin_scheme: unknown margin scheme "cars"`},
		{"scheme and a taxed row", ksef.MarginArt, ksef.Rate23, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := loadInvoice(t, "testdata/consumer.json")
			inv.Seller.MarginScheme = tt.scheme
			inv.Sale.Lines[0].VATRate = tt.rate
			err := inv.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Validate() = %v, want %q", err, tt.want)
			}
		})
	}
}
