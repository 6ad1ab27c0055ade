package main

import (
	"testing"

	"github.com/posagent/posagent/config"
)

// TestSellerAnnotationsWired: [seller] cash_accounting and margin_scheme
// reach the agent's seller, whose invoices carry them (P_16, PMarzy).
func TestSellerAnnotationsWired(t *testing.T) {
	cfg, err := config.Parse([]byte("[seller]\nnip = \"5265877635\"\nname = \"Komis\"\naddress_line1 = \"ul. Prosta 1\"\n" +
		"cash_accounting = true\nmargin_scheme = \"antiques\"\n[terminal]\nid = \"K1\"\n[ksef]\nenvironment = \"test\"\n[printer]\nport = \"virtual\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	o, err := agentOptions(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !o.Seller.CashAccounting || o.Seller.MarginScheme != "antiques" {
		t.Errorf("agent seller = %+v, want cash accounting and the antiques margin scheme", o.Seller)
	}
}
