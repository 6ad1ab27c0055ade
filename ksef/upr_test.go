package ksef_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/posagent/posagent/ksef"
)

// TestUPRLimit: art. 106e ust. 5 pkt 3 ustawy o VAT allows a simplified
// invoice only up to 450 PLN gross, or 100 EUR when stated in euro; another
// currency is converted at the invoice's rate.
func TestUPRLimit(t *testing.T) {
	tests := []struct {
		name      string
		qty, unit string
		currency  string
		rate      string
		wantErr   string // "" = valid
	}{
		{"PLN at the limit", "1", "450.00", "", "", ""},
		{"PLN a grosz over", "1", "450.01", "", "", "this sale is 450.01 PLN"},
		{"PLN 6150 (the review's case)", "1000", "6.15", "", "", "this sale is 6150.00 PLN"},
		{"EUR at the limit", "1", "100.00", "EUR", "4.2", ""},
		{"EUR a cent over", "1", "100.01", "EUR", "4.2", "this sale is 100.01 EUR"},
		{"USD under 450 PLN", "1", "112.00", "USD", "4.0", ""},
		{"USD over 450 PLN", "1", "112.51", "USD", "4.0", "this sale is 450.04 PLN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ksef.Sale{Kind: ksef.KindUPR, Buyer: ksef.Buyer{Kind: ksef.BuyerNIP, NIP: "5265877635"},
				Lines:     []ksef.Line{{Name: "Benzyna", Quantity: qty(tt.qty), UnitPrice: amt(tt.unit), VATRate: ksef.Rate23}},
				IssueDate: d("2026-12-05"), Currency: tt.currency}
			if tt.rate != "" {
				s.ExchangeRate = qty(tt.rate)
			}
			err := s.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var ve *ksef.ValidationError
			if !errors.As(err, &ve) || ve.Field != "kind" || !strings.Contains(ve.Reason, tt.wantErr) || !strings.Contains(ve.Reason, "art. 106e ust. 5 pkt 3") {
				t.Fatalf("Validate() = %v, want a kind error containing %q", err, tt.wantErr)
			}
			// The same sale as a plain VAT invoice is fine.
			s.Kind = ""
			if err := s.Validate(); err != nil {
				t.Errorf("as VAT: Validate() = %v, want nil", err)
			}
		})
	}
}
