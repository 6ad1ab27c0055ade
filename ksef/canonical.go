package ksef

import "encoding/json"

// Canonical returns the canonical JSON form of the sale as a till sent it:
// what an idempotency key is bound to. Two bodies that decode to the same
// sale have the same form, whatever their key order, whitespace, number or
// string amounts ("12.3", 12.30, "12.30"), omitted zero values or explicit
// nulls. The defaults that do not depend on the day are written out
// (price_mode gross, currency PLN, kind VAT), so leaving one out and
// giving it are the same sale; the issue date is not filled in, as its
// default is the day of issue.
//
// The form is the JSON encoding of Sale: fields in declaration order, no
// insignificant whitespace, amounts with 2 decimals and quantities with the
// fewest decimals that keep them exact.
func (s Sale) Canonical() []byte {
	if s.PriceMode == "" {
		s.PriceMode = PriceGross
	}
	if s.Currency == "" {
		s.Currency = "PLN"
	}
	if s.Kind == "" {
		s.Kind = KindVAT
	}
	b, err := json.Marshal(s)
	if err != nil {
		// Sale is strings, integers, dates and slices of them: it always encodes.
		panic("ksef: encode sale: " + err.Error())
	}
	return b
}
