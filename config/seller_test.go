package config_test

import (
	"strings"
	"testing"

	"github.com/posagent/posagent/config"
)

// TestSellerAnnotations: the seller's standing annotations (cash accounting,
// P_16; a margin procedure, P_PMarzy) are read from [seller] and validated.
func TestSellerAnnotations(t *testing.T) {
	tests := []struct {
		name     string
		over     map[string]string
		wantCash bool
		wantM    string
		wantErr  string
	}{
		{"defaults", nil, false, "", ""},
		{"cash accounting", map[string]string{"seller.cash_accounting": "true"}, true, "", ""},
		{"used goods", map[string]string{"seller.margin_scheme": `"used_goods"`}, false, "used_goods", ""},
		{"travel", map[string]string{"seller.margin_scheme": `"travel"`}, false, "travel", ""},
		{"unknown scheme", map[string]string{"seller.margin_scheme": `"cars"`}, false, "", "seller.margin_scheme"},
		{"cash as a string", map[string]string{"seller.cash_accounting": `"yes"`}, false, "", "seller.cash_accounting"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Parse(build(tt.over))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse = %v, want an error naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Seller.CashAccounting != tt.wantCash || c.Seller.MarginScheme != tt.wantM {
				t.Errorf("seller = %+v, want cash %v scheme %q", c.Seller, tt.wantCash, tt.wantM)
			}
		})
	}
}
