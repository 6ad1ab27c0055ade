package soak

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// DemoInvoice is one entry of the demo's demo.json.
type DemoInvoice struct {
	Number     string `json:"number"`
	File       string `json:"file"`
	P1         string `json:"p1"`
	Mode       string `json:"mode"`
	KOD1       string `json:"kod1"`
	KOD2       string `json:"kod2"`
	KSeFNumber string `json:"ksef_number"`
	State      string `json:"state"`
}

// DemoReport is the demo's demo.json.
type DemoReport struct {
	SellerNIP   string        `json:"seller_nip"`
	Environment string        `json:"environment"`
	Invoices    []DemoInvoice `json:"invoices"`
}

// CheckDemo reads the demo.json at path and checks that the demo issued at
// least one invoice, that every invoice was accepted with a KSeF number, that
// numbers are unique, and that each invoice's XML file exists beside it.
func CheckDemo(path string) (*DemoReport, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read demo report: %w", err)
	}
	var r DemoReport
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrDemo, path, err)
	}
	if len(r.Invoices) == 0 {
		return nil, fmt.Errorf("%w: no invoices", ErrDemo)
	}
	seen := map[string]bool{}
	ksefSeen := map[string]bool{}
	for _, inv := range r.Invoices {
		if inv.Number == "" || seen[inv.Number] {
			return nil, fmt.Errorf("%w: invoice number %q empty or repeated", ErrDemo, inv.Number)
		}
		seen[inv.Number] = true
		if inv.State != "accepted" {
			return nil, fmt.Errorf("%w: invoice %s is %q, want accepted", ErrDemo, inv.Number, inv.State)
		}
		if inv.KSeFNumber == "" || ksefSeen[inv.KSeFNumber] {
			return nil, fmt.Errorf("%w: invoice %s: KSeF number %q empty or repeated", ErrDemo, inv.Number, inv.KSeFNumber)
		}
		ksefSeen[inv.KSeFNumber] = true
		if inv.KOD1 == "" {
			return nil, fmt.Errorf("%w: invoice %s has no KOD I link", ErrDemo, inv.Number)
		}
		if inv.File != "" {
			f := inv.File
			if !filepath.IsAbs(f) {
				f = filepath.Join(filepath.Dir(path), f)
			}
			if _, err := os.Stat(f); err != nil {
				return nil, fmt.Errorf("%w: invoice %s: %w", ErrDemo, inv.Number, err)
			}
		}
	}
	return &r, nil
}
