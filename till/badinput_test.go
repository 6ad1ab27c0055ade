package till_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/posagent/posagent/till"
)

// replace returns validSale with old replaced by new exactly once.
func replace(t *testing.T, old, new string) string {
	t.Helper()
	if strings.Count(validSale, old) != 1 {
		t.Fatalf("replace: %q is not in validSale exactly once", old)
	}
	return strings.Replace(validSale, old, new, 1)
}

// TestBadSales sends one kind of bad input per case and checks the status,
// the stable code, the field, and that the core stored nothing.
func TestBadSales(t *testing.T) {
	line := `{"name":"Kawa","unit":"szt.","quantity":"2","unit_price":"12.30","vat_rate":"23"}`
	tests := []struct {
		name       string
		body       string
		key        string // default "k1"
		ct         string
		wantStatus int
		wantCode   string
		wantField  string // first errors[].field; "" for none
	}{
		{"malformed JSON", `{"buyer":`, "", "", 400, till.CodeMalformedJSON, ""},
		{"not JSON at all", `buyer=consumer`, "", "", 400, till.CodeMalformedJSON, ""},
		{"empty body", ``, "", "application/json", 400, till.CodeEmptyBody, ""},
		{"trailing garbage", validSale + ` x`, "", "", 400, till.CodeTrailingData, ""},
		{"second value", validSale + validSale, "", "", 400, till.CodeTrailingData, ""},
		{"unknown field", replace(t, `"place"`[:0]+`"issue_date"`, `"colour":"red","issue_date"`), "", "", 400, till.CodeUnknownField, "colour"},
		{"nested unknown field", replace(t, `"vat_rate":"23"`, `"vat_rate":"23","vat":"23"`), "", "", 400, till.CodeUnknownField, "lines[0].vat"},
		{"wrong case field", replace(t, `"lines"`, `"Lines"`), "", "", 400, till.CodeUnknownField, "Lines"},
		{"duplicate field", replace(t, `"quantity":"2"`, `"quantity":"2","quantity":"-5"`), "", "", 400, till.CodeDuplicateField, "lines[0].quantity"},
		{"duplicate top-level field", replace(t, `"issue_date"`, `"buyer":{},"issue_date"`), "", "", 400, till.CodeDuplicateField, "buyer"},
		{"wrong type string", replace(t, `"name":"Kawa"`, `"name":5`), "", "", 400, till.CodeWrongType, "lines[0].name"},
		{"wrong type bool", replace(t, `"paid":true`, `"paid":"yes"`), "", "", 400, till.CodeWrongType, "payment.paid"},
		{"lines not array", replace(t, `[`+line+`]`, line), "", "", 400, till.CodeWrongType, "lines"},
		{"body is an array", `[` + validSale + `]`, "", "", 400, till.CodeWrongType, "(body)"},
		{"amount as bool", replace(t, `"unit_price":"12.30"`, `"unit_price":true`), "", "", 400, till.CodeWrongType, "lines[0].unit_price"},
		{"bad amount text", replace(t, `"12.30"`, `"12,30"`), "", "", 400, till.CodeInvalidAmount, "lines[0].unit_price"},
		{"amount with exponent", replace(t, `"12.30"`, `1.23e1`), "", "", 400, till.CodeInvalidAmount, "lines[0].unit_price"},
		{"too many decimals price", replace(t, `"12.30"`, `"12.305"`), "", "", 400, till.CodeTooManyDecimals, "lines[0].unit_price"},
		{"too many decimals quantity", replace(t, `"quantity":"2"`, `"quantity":"0.1234567"`), "", "", 400, till.CodeTooManyDecimals, "lines[0].quantity"},
		{"bad quantity", replace(t, `"quantity":"2"`, `"quantity":"two"`), "", "", 400, till.CodeInvalidQuantity, "lines[0].quantity"},
		{"bad date", replace(t, `"2026-11-21"`, `"2026-02-30"`), "", "", 400, till.CodeInvalidDate, "issue_date"},
		{"date as number", replace(t, `"2026-11-21"`, `20261121`), "", "", 400, till.CodeWrongType, "issue_date"},
		{"bad NIP checksum", replace(t, `{"kind":"consumer"}`, `{"kind":"nip","nip":"5265877636"}`), "", "", 422, till.CodeInvalidNIP, "buyer.nip"},
		{"consumer with NIP", replace(t, `{"kind":"consumer"}`, `{"kind":"consumer","nip":"5265877635"}`), "", "", 422, till.CodeFieldNotAllowed, "buyer.nip"},
		{"unknown buyer kind", replace(t, `"consumer"`, `"company"`), "", "", 422, till.CodeUnknownBuyerKind, "buyer.kind"},
		{"missing buyer kind", replace(t, `{"kind":"consumer"}`, `{}`), "", "", 422, till.CodeFieldRequired, "buyer.kind"},
		{"negative quantity", replace(t, `"quantity":"2"`, `"quantity":"-2"`), "", "", 422, till.CodeQuantityNegative, "lines[0].quantity"},
		{"zero quantity", replace(t, `"quantity":"2"`, `"quantity":"0"`), "", "", 422, till.CodeQuantityZero, "lines[0].quantity"},
		{"negative price", replace(t, `"12.30"`, `"-12.30"`), "", "", 422, till.CodePriceNegative, "lines[0].unit_price"},
		{"unknown VAT rate", replace(t, `"vat_rate":"23"`, `"vat_rate":"24"`), "", "", 422, till.CodeUnknownVATRate, "lines[0].vat_rate"},
		{"reverse charge for consumer", replace(t, `"vat_rate":"23"`, `"vat_rate":"oo"`), "", "", 422, till.CodeVATRateNotAllowed, "lines[0].vat_rate"},
		{"empty lines", replace(t, `[`+line+`]`, `[]`), "", "", 422, till.CodeNoLines, "lines"},
		{"unknown GTU", replace(t, `"vat_rate":"23"`, `"vat_rate":"23","gtu":"GTU_14"`), "", "", 422, till.CodeUnknownGTU, "lines[0].gtu"},
		{"discount above line", replace(t, `"vat_rate":"23"`, `"vat_rate":"23","discount":"30.00"`), "", "", 422, till.CodeDiscountTooLarge, "lines[0].discount"},
		{"currency without rate", replace(t, `"issue_date"`, `"currency":"EUR","issue_date"`), "", "", 422, till.CodeRateRequired, "exchange_rate"},
		{"rate for PLN", replace(t, `"issue_date"`, `"exchange_rate":"4.25","issue_date"`), "", "", 422, till.CodeRateNotAllowed, "exchange_rate"},
		{"unknown currency", replace(t, `"issue_date"`, `"currency":"XXQ","exchange_rate":"1","issue_date"`), "", "", 422, till.CodeUnknownCurrency, "currency"},
		{"unknown payment form", replace(t, `"card"`, `"bitcoin"`), "", "", 422, till.CodeUnknownPaymentForm, "payment.form"},
		{"issue date out of range", replace(t, `"2026-11-21"`, `"2051-01-01"`), "", "", 422, till.CodeDateOutOfRange, "issue_date"},
		{"issue date not today", replace(t, `"2026-11-21"`, `"2017-01-01"`), "", "", 422, till.CodeIssueDateNotToday, "issue_date"},
		{"issue date tomorrow", replace(t, `"2026-11-21"`, `"2026-11-22"`), "", "", 422, till.CodeIssueDateNotToday, "issue_date"},
		{"sale date far ahead", replace(t, `"issue_date"`, `"sale_date":"2049-12-31","issue_date"`), "", "", 422, till.CodeSaleDateOutOfRange, "sale_date"},
		{"sale date too old", replace(t, `"issue_date"`, `"sale_date":"2026-07-31","issue_date"`), "", "", 422, till.CodeSaleDateOutOfRange, "sale_date"},
		{"quantity beyond 10^9", replace(t, `"quantity":"2"`, `"quantity":"1000000001"`), "", "", 422, till.CodeQuantityOutOfRange, "lines[0].quantity"},
		{"price beyond 10^13", replace(t, `"12.30"`, `"10000000000000.01"`), "", "", 422, till.CodePriceOutOfRange, "lines[0].unit_price"},
		{"discount beyond 10^13", replace(t, `"vat_rate":"23"`, `"vat_rate":"23","discount":"99999999999999"`), "", "", 400, till.CodeInvalidAmount, "lines[0].discount"},
		{"VAT-exempt consumer", replace(t, `{"kind":"consumer"}`, `{"kind":"consumer","vat_exempt":true}`), "", "", 422, till.CodeFieldNotAllowed, "buyer.vat_exempt"},
		{"empty line name", replace(t, `"name":"Kawa"`, `"name":""`), "", "", 422, till.CodeFieldRequired, "lines[0].name"},
		{"control character in name", replace(t, `"name":"Kawa"`, `"name":"Ka\u0007wa"`), "", "", 422, till.CodeInvalidText, "lines[0].name"},
		{"UPR for consumer", replace(t, `"issue_date"`, `"kind":"UPR","issue_date"`), "", "", 422, till.CodeKindNotAllowed, "kind"},
		{"unknown kind", replace(t, `"issue_date"`, `"kind":"KOR","issue_date"`), "", "", 422, till.CodeUnknownKind, "kind"},
		{"unknown price mode", replace(t, `"issue_date"`, `"price_mode":"both","issue_date"`), "", "", 422, till.CodeUnknownPriceMode, "price_mode"},
		{"split payment for consumer", replace(t, `"issue_date"`, `"split_payment":true,"issue_date"`), "", "", 422, till.CodeSplitNotAllowed, "split_payment"},
		{"huge body", replace(t, `"name":"Kawa"`, `"name":"`+strings.Repeat("a", 1<<20)+`"`), "", "", 413, till.CodeBodyTooLarge, ""},
		{"wrong content type", validSale, "", "text/plain", 415, till.CodeUnsupportedMedia, ""},
		{"form content type", validSale, "", "application/x-www-form-urlencoded", 415, till.CodeUnsupportedMedia, ""},
		{"latin2 charset", validSale, "", "application/json; charset=iso-8859-2", 415, till.CodeUnsupportedMedia, ""},
		{"missing Idempotency-Key", validSale, "-", "", 400, till.CodeKeyMissing, ""},
		{"over-long key", validSale, strings.Repeat("k", 129), "", 400, till.CodeKeyInvalid, ""},
		{"key with space", validSale, "sale 1", "", 400, till.CodeKeyInvalid, ""},
		{"key with non-ASCII", validSale, "sprzedaż", "", 400, till.CodeKeyInvalid, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, till.Options{})
			key := tt.key
			if key == "" {
				key = "k1"
			}
			rec := h.do(request{method: "POST", path: "/v1/sales", key: key, body: tt.body, contentType: tt.ct})
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d (%s)", rec.Code, tt.wantStatus, rec.Body)
			}
			p := problemOf(t, rec)
			if p.Code != tt.wantCode {
				t.Errorf("code = %q, want %q (detail %q)", p.Code, tt.wantCode, p.Detail)
			}
			if p.Type != till.ProblemTypeBase+tt.wantCode {
				t.Errorf("type = %q, want it to end in the code", p.Type)
			}
			var field string
			if len(p.Errors) > 0 {
				field = p.Errors[0].Field
				if p.Errors[0].Code != p.Code || p.Errors[0].Reason == "" {
					t.Errorf("errors[0] = %+v, want code %q and a reason", p.Errors[0], p.Code)
				}
			}
			if field != tt.wantField {
				t.Errorf("errors[0].field = %q, want %q", field, tt.wantField)
			}
			if p.Detail == "" || p.Title == "" {
				t.Errorf("problem %+v lacks a title or detail", p)
			}
			// The date rules need the agent's clock: the core checks them.
			coreRule := tt.wantCode == till.CodeIssueDateNotToday || tt.wantCode == till.CodeSaleDateOutOfRange
			if n := h.core.Calls("Issue"); n != 0 && !coreRule {
				t.Errorf("core.Issue called %d times for rejected input", n)
			}
			if n := h.core.Stored(); n != 0 {
				t.Errorf("core stored %d invoices", n)
			}
		})
	}
}

// TestBadSaleAllErrors checks that every rule violation is listed, each with its code.
func TestBadSaleAllErrors(t *testing.T) {
	h := newHarness(t, till.Options{})
	body := `{"buyer":{"kind":"nip","nip":"123"},"lines":[{"name":"A","quantity":"0","unit_price":"-1","vat_rate":"7"}],"issue_date":"2026-11-21","payment":{"form":"gold"}}`
	p := problemOf(t, h.sale("k", body))
	var got []string
	for _, e := range p.Errors {
		got = append(got, e.Field+"="+e.Code)
	}
	want := []string{"buyer.nip=invalid_nip", "lines[0].quantity=quantity_zero", "lines[0].unit_price=price_negative",
		"lines[0].vat_rate=unknown_vat_rate", "payment.form=unknown_payment_form"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("errors = %v\nwant %v", got, want)
	}
	if p.Code != till.CodeInvalidNIP {
		t.Errorf("code = %q, want the first error's %q", p.Code, till.CodeInvalidNIP)
	}
	if !strings.Contains(p.Detail, "and 4 more") {
		t.Errorf("detail = %q, want it to count the rest", p.Detail)
	}
}

func TestDuplicateKeyPaths(t *testing.T) {
	line := `{"name":"Kawa","quantity":"2","unit_price":"12.30","vat_rate":"23"}`
	tests := []struct {
		name, body string
		wantCode   string
		wantField  string
	}{
		{"same key in sibling objects", `{"buyer":{"kind":"consumer"},"lines":[` + line + `,` + line + `],"issue_date":"2026-11-21"}`, "", ""},
		{"second line", `{"buyer":{"kind":"consumer"},"lines":[` + line + `,{"name":"a","name":"b"}],"issue_date":"2026-11-21"}`, till.CodeDuplicateField, "lines[1].name"},
		{"after a nested array", `{"lines":[[1,2],{"x":[]}],"buyer":{"kind":"consumer","address":{"line1":"a","line1":"b"}}}`, till.CodeDuplicateField, "buyer.address.line1"},
		{"key equal to a value", `{"buyer":{"kind":"kind"},"lines":[],"issue_date":"2026-11-21"}`, till.CodeUnknownBuyerKind, "buyer.kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := till.DecodeSale([]byte(tt.body))
			var p *till.Problem
			errors.As(err, &p)
			var code, field string
			if p != nil {
				code = p.Code
				if len(p.Errors) > 0 {
					field = p.Errors[0].Field
				}
			}
			if code != tt.wantCode || field != tt.wantField {
				t.Errorf("DecodeSale = %q at %q, want %q at %q (%v)", code, field, tt.wantCode, tt.wantField, err)
			}
		})
	}
}
