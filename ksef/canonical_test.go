package ksef_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/posagent/posagent/ksef"
)

// TestSaleCanonical: bodies that decode to the same sale share one
// canonical form; bodies that differ in anything the invoice shows do not.
func TestSaleCanonical(t *testing.T) {
	const base = `{"buyer":{"kind":"consumer"},"lines":[{"name":"Kawa","quantity":"2","unit_price":"12.30","vat_rate":"23"}],"issue_date":"2026-11-21"}`
	tests := []struct {
		name string
		body string
		same bool
	}{
		{"identical", base, true},
		{"key order and whitespace", "{ \"issue_date\" : \"2026-11-21\",\n\t\"lines\":[{\"vat_rate\":\"23\",\"unit_price\":\"12.30\",\"quantity\":\"2\",\"name\":\"Kawa\"}],\"buyer\":{\"kind\":\"consumer\"}}", true},
		{"numbers for decimals", `{"buyer":{"kind":"consumer"},"lines":[{"name":"Kawa","quantity":2.000,"unit_price":12.3,"vat_rate":"23"}],"issue_date":"2026-11-21"}`, true},
		{"defaults written out", `{"buyer":{"kind":"consumer"},"price_mode":"gross","currency":"PLN","kind":"VAT","lines":[{"name":"Kawa","quantity":"2","unit_price":"12.30","vat_rate":"23","discount":"0"}],"issue_date":"2026-11-21"}`, true},
		{"explicit null", `{"buyer":{"kind":"consumer"},"payment":null,"lines":[{"name":"Kawa","quantity":"2","unit_price":"12.30","vat_rate":"23"}],"issue_date":"2026-11-21"}`, true},
		{"another price", `{"buyer":{"kind":"consumer"},"lines":[{"name":"Kawa","quantity":"2","unit_price":"12.31","vat_rate":"23"}],"issue_date":"2026-11-21"}`, false},
		{"net prices", `{"buyer":{"kind":"consumer"},"price_mode":"net","lines":[{"name":"Kawa","quantity":"2","unit_price":"12.30","vat_rate":"23"}],"issue_date":"2026-11-21"}`, false},
		{"name with a space", `{"buyer":{"kind":"consumer"},"lines":[{"name":"Kawa ","quantity":"2","unit_price":"12.30","vat_rate":"23"}],"issue_date":"2026-11-21"}`, false},
		{"no issue date", `{"buyer":{"kind":"consumer"},"lines":[{"name":"Kawa","quantity":"2","unit_price":"12.30","vat_rate":"23"}]}`, false},
	}
	want := canonical(t, base)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := canonical(t, tt.body); bytes.Equal(got, want) != tt.same {
				t.Errorf("Canonical() = %s\nbase       = %s\nsame = %v, want %v", got, want, !tt.same, tt.same)
			}
		})
	}
}

func canonical(t *testing.T, body string) []byte {
	t.Helper()
	var s ksef.Sale
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return s.Canonical()
}

func ExampleSale_Canonical() {
	var s ksef.Sale
	_ = json.Unmarshal([]byte(`{"lines":[{"vat_rate":"8","unit_price":9.9,"quantity":1,"name":"Kawa"}],"buyer":{"kind":"consumer"}}`), &s)
	fmt.Println(string(s.Canonical()))
	// Output:
	// {"buyer":{"kind":"consumer"},"price_mode":"gross","lines":[{"name":"Kawa","quantity":"1","unit_price":"9.90","vat_rate":"8"}],"currency":"PLN","kind":"VAT","issue_date":""}
}
