package ksef_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/ksef"
)

const validSale = `{"buyer":{"kind":"consumer"},
 "lines":[{"name":"Kawa","unit":"szt.","quantity":"2","unit_price":"12.30","vat_rate":"23"},
          {"name":"Woda","quantity":"1","unit_price":"2.49","vat_rate":"8"},
          {"name":"Chleb","quantity":"1","unit_price":"5.99","vat_rate":"5"}],
 "payment":{"form":"card","paid":true},
 "issue_date":"2026-11-21"}`

// mutate decodes validSale, applies f and returns the sale.
func mutate(t *testing.T, f func(s *ksef.Sale)) *ksef.Sale {
	t.Helper()
	var s ksef.Sale
	if err := json.Unmarshal([]byte(validSale), &s); err != nil {
		t.Fatal(err)
	}
	f(&s)
	return &s
}

func TestSaleValidate(t *testing.T) {
	tests := []struct {
		name string
		f    func(s *ksef.Sale)
		want string // the errors joined by "; ", empty for a valid sale
	}{
		{"valid", func(s *ksef.Sale) {}, ""},
		{"unknown rate", func(s *ksef.Sale) { s.Lines[2].VATRate = "24" }, `lines[2].vat_rate: unknown rate "24"`},
		{"bad NIP", func(s *ksef.Sale) { s.Buyer = ksef.Buyer{Kind: ksef.BuyerNIP, NIP: "5265877636"} }, `buyer.nip: invalid NIP "5265877636"`},
		{"missing NIP", func(s *ksef.Sale) { s.Buyer = ksef.Buyer{Kind: ksef.BuyerNIP} }, `buyer.nip: required`},
		{"consumer with NIP", func(s *ksef.Sale) { s.Buyer.NIP = "5265877635" }, `buyer.nip: not allowed for a buyer of kind consumer`},
		{"unknown buyer kind", func(s *ksef.Sale) { s.Buyer.Kind = "company" }, `buyer.kind: unknown kind "company" (want consumer, nip, eu or foreign)`},
		{"zero quantity", func(s *ksef.Sale) { s.Lines[0].Quantity = 0 }, `lines[0].quantity: must not be zero`},
		{"negative quantity", func(s *ksef.Sale) { s.Lines[1].Quantity = -1 }, `lines[1].quantity: negative`},
		{"negative price", func(s *ksef.Sale) { s.Lines[1].UnitPrice = -1 }, `lines[1].unit_price: negative`},
		{"unknown GTU", func(s *ksef.Sale) { s.Lines[0].GTU = "GTU_14" }, `lines[0].gtu: unknown GTU "GTU_14" (want GTU_01..GTU_13)`},
		{"no lines", func(s *ksef.Sale) { s.Lines = nil }, `lines: at least one line required`},
		{"too many lines", func(s *ksef.Sale) {
			s.Lines = make([]ksef.Line, ksef.MaxLines+1)
		}, `lines: 10001 lines, at most 10000`},
		{"empty name", func(s *ksef.Sale) { s.Lines[0].Name = "  " }, `lines[0].name: required`},
		{"long name", func(s *ksef.Sale) { s.Lines[0].Name = strings.Repeat("ż", 513) }, `lines[0].name: too long: 513 characters, at most 512`},
		{"control char", func(s *ksef.Sale) { s.Lines[0].Name = "Kawa\x00" }, `lines[0].name: contains a forbidden character U+0000`},
		{"discouraged char", func(s *ksef.Sale) { s.Lines[0].Name = "Kawa\u0085" }, `lines[0].name: contains a forbidden character U+0085`},
		{"bad utf8", func(s *ksef.Sale) { s.Lines[0].Unit = "\xff" }, `lines[0].unit: not valid UTF-8`},
		{"discount too big", func(s *ksef.Sale) { s.Lines[0].Discount = amt("24.61") }, `lines[0].discount: 24.61 exceeds the line value 24.60`},
		{"VAT-exempt consumer", func(s *ksef.Sale) { s.Buyer = ksef.Buyer{Kind: ksef.BuyerConsumer, VATExempt: true} }, `buyer.vat_exempt: only for a buyer of kind nip`},
		{"no issue date: the issuer sets it", func(s *ksef.Sale) { s.IssueDate = ksef.Date{} }, ``},
		{"issue date range", func(s *ksef.Sale) { s.IssueDate = d("2051-01-01") }, `issue_date: 2051-01-01 outside 2006-01-01..2050-01-01`},
		{"impossible date", func(s *ksef.Sale) { s.SaleDate = ksef.Date{Year: 2026, Month: 2, Day: 30} }, `sale_date: not a valid date`},
		{"currency without rate", func(s *ksef.Sale) { s.Currency = "EUR" }, `exchange_rate: required and positive for currency EUR`},
		{"PLN with rate", func(s *ksef.Sale) { s.ExchangeRate = qty("4.1") }, `exchange_rate: not allowed for PLN`},
		{"unknown currency", func(s *ksef.Sale) { s.Currency = "XXY" }, `currency: unknown currency "XXY"`},
		{"price mode", func(s *ksef.Sale) { s.PriceMode = "brutto" }, `price_mode: unknown price mode "brutto" (want gross or net)`},
		{"kind", func(s *ksef.Sale) { s.Kind = "KOR" }, `kind: unknown kind "KOR" (want VAT or UPR)`},
		{"UPR consumer", func(s *ksef.Sale) { s.Kind = "UPR" }, `kind: UPR needs a buyer of kind nip`},
		{"zw without basis", func(s *ksef.Sale) { s.Lines[0].VATRate = ksef.RateZW }, `exemption_basis: required`},
		{"basis without zw", func(s *ksef.Sale) { s.ExemptionBasis = "art. 43" }, `exemption_basis: given but no line is exempt (zw)`},
		{"WDT to consumer", func(s *ksef.Sale) { s.Lines[0].VATRate = ksef.Rate0WDT }, `lines[0].vat_rate: 0 WDT needs a buyer of kind eu`},
		{"EU bad code", func(s *ksef.Sale) { s.Buyer = ksef.Buyer{Kind: ksef.BuyerEU, EUCode: "GR", EUVAT: "123"} }, `buyer.eu_code: unknown EU country code "GR"`},
		{"EU PL", func(s *ksef.Sale) { s.Buyer = ksef.Buyer{Kind: ksef.BuyerEU, EUCode: "PL", EUVAT: "5265877635"} }, `buyer.eu_code: a Polish buyer is of kind nip`},
		{"EU bad VAT", func(s *ksef.Sale) { s.Buyer = ksef.Buyer{Kind: ksef.BuyerEU, EUCode: "DE", EUVAT: "de123"} }, `buyer.eu_vat: want 1-12 characters of 0-9, A-Z, + or *, without the country prefix, got "de123"`},
		{"foreign no id", func(s *ksef.Sale) { s.Buyer = ksef.Buyer{Kind: ksef.BuyerForeign, Country: "ZZ"} }, `buyer.country: unknown country code "ZZ"; buyer.id: required`},
		{"address", func(s *ksef.Sale) { s.Buyer.Address = &ksef.Address{Country: "pl"} }, `buyer.address.country: unknown country code "pl"; buyer.address.line1: required`},
		{"payment form", func(s *ksef.Sale) { s.Payment.Form = "bitcoin" }, `payment.form: unknown form "bitcoin" (want cash, card, voucher, cheque, credit, transfer or mobile)`},
		{"payment date", func(s *ksef.Sale) { s.Payment.Date = d("2016-06-30") }, `payment.date: 2016-06-30 outside 2016-07-01..2050-01-01`},
		{"total out of range", func(s *ksef.Sale) {
			for i := range s.Lines {
				s.Lines[i].Quantity = ksef.MaxQuantity
				s.Lines[i].UnitPrice = ksef.MaxAmount
			}
		}, `lines: total out of range`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mutate(t, tt.f)
			err := s.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var ves ksef.ValidationErrors
			if !errors.As(err, &ves) {
				t.Fatalf("Validate() = %v (%T), want ValidationErrors", err, err)
			}
			if !errors.Is(err, ksef.ErrInvalidSale) {
				t.Errorf("errors.Is(err, ErrInvalidSale) = false")
			}
			var parts []string
			for _, e := range ves {
				parts = append(parts, e.Error())
			}
			if got := strings.Join(parts, "; "); got != tt.want && !(tt.name == "too many lines" && strings.HasPrefix(got, tt.want)) {
				t.Errorf("Validate() =\n %s\nwant\n %s", got, tt.want)
			}
		})
	}
}

func TestValidationErrorAs(t *testing.T) {
	s := mutate(t, func(s *ksef.Sale) { s.Lines[2].VATRate = "24" })
	var ve *ksef.ValidationError
	if err := s.Validate(); !errors.As(err, &ve) || ve.Field != "lines[2].vat_rate" {
		t.Fatalf("errors.As = %v, field %+v", err, ve)
	}
	if got, want := s.Validate().Error(), `ksef: invalid sale: lines[2].vat_rate: unknown rate "24"`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestSaleJSONErrors(t *testing.T) {
	// Money and quantities are rejected at decode time when malformed.
	for _, in := range []string{
		`{"lines":[{"quantity":"1.0000001"}]}`,
		`{"lines":[{"unit_price":"1.001"}]}`,
		`{"lines":[{"unit_price":1e3}]}`,
		`{"issue_date":"21.11.2026"}`,
	} {
		var s ksef.Sale
		if err := json.Unmarshal([]byte(in), &s); err == nil {
			t.Errorf("Unmarshal(%s) succeeded", in)
		}
	}
}

func TestInvoiceValidate(t *testing.T) {
	base := func() *ksef.Invoice { return loadInvoice(t, "testdata/kor-difference.json") }
	tests := []struct {
		name string
		f    func(inv *ksef.Invoice)
		want string
	}{
		{"valid", func(*ksef.Invoice) {}, ""},
		{"seller NIP", func(inv *ksef.Invoice) { inv.Seller.NIP = "123" }, `seller.nip: invalid NIP "123"`},
		{"no number", func(inv *ksef.Invoice) { inv.Number = "" }, `number: required`},
		{"no issue date", func(inv *ksef.Invoice) { inv.Sale.IssueDate = ksef.Date{} }, `issue_date: required`},
		{"old generated_at", func(inv *ksef.Invoice) { inv.GeneratedAt = time.Date(2025, 8, 31, 0, 0, 0, 0, time.UTC) }, `generated_at: 2025-08-31T00:00:00Z outside 2025-09-01..2049`},
		{"KOR without correction", func(inv *ksef.Invoice) { inv.Correction = nil }, `correction: required for a KOR invoice; lines[0].quantity: negative; lines[1].quantity: negative`},
		{"VAT with correction", func(inv *ksef.Invoice) { inv.Kind = "VAT" }, `correction: only a KOR invoice has correction data; lines[0].quantity: negative; lines[1].quantity: negative`},
		{"bad original KSeF", func(inv *ksef.Invoice) { inv.Correction.OriginalKSeF = "5265877635-20250826-0100001AF629-00" }, `correction.original_ksef: not a valid KSeF number "5265877635-20250826-0100001AF629-00"`},
		{"correction type", func(inv *ksef.Invoice) { inv.Correction.Type = 4 }, `correction.type: want 1, 2 or 3, got 4`},
		{"before rows", func(inv *ksef.Invoice) {
			inv.Correction.Before = []ksef.Line{{Name: "x", Quantity: -1, UnitPrice: 1, VATRate: "7"}}
		}, `correction.before[0].quantity: negative; correction.before[0].vat_rate: unknown rate "7"; lines[0].quantity: negative; lines[1].quantity: negative`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := base()
			tt.f(inv)
			err := inv.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ves ksef.ValidationErrors
			if !errors.As(err, &ves) {
				t.Fatalf("Validate() = %v, want ValidationErrors", err)
			}
			var parts []string
			for _, e := range ves {
				parts = append(parts, e.Error())
			}
			if got := strings.Join(parts, "; "); got != tt.want {
				t.Errorf("Validate() =\n %s\nwant\n %s", got, tt.want)
			}
			if b, err := inv.XML(); err == nil || b != nil {
				t.Errorf("XML() of an invalid invoice = %d bytes, %v", len(b), err)
			}
		})
	}
}

func FuzzSaleValidate(f *testing.F) {
	f.Add([]byte(validSale))
	for _, name := range []string{"consumer", "eu", "foreign-currency", "mixed-rates", "polish-letters"} {
		b, err := os.ReadFile("testdata/" + name + ".json")
		if err != nil {
			f.Fatal(err)
		}
		var inv struct {
			Sale json.RawMessage `json:"sale"`
		}
		if err := json.Unmarshal(b, &inv); err != nil {
			f.Fatal(err)
		}
		f.Add([]byte(inv.Sale))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var s ksef.Sale
		if json.Unmarshal(data, &s) != nil {
			return
		}
		if s.Validate() != nil {
			return
		}
		inv := ksef.Invoice{
			Seller:      ksef.Seller{NIP: "5265877635", Name: "S", Address: ksef.Address{Country: "PL", Line1: "A"}},
			Number:      "FV/1",
			GeneratedAt: time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC),
			Sale:        s,
		}
		if s.Number != "" {
			inv.Number = s.Number
		}
		if s.IssueDate.IsZero() {
			inv.Sale.IssueDate = ksef.DateOf(inv.GeneratedAt) // the issuer sets P_1
		}
		out, err := inv.XML()
		if err != nil {
			t.Fatalf("valid sale, XML() = %v", err)
		}
		again, _ := inv.XML()
		if !bytes.Equal(out, again) {
			t.Fatal("XML not deterministic")
		}
		checkBytes(t, out)
		tot, err := s.Totals()
		if err != nil {
			t.Fatalf("Totals: %v", err)
		}
		var net, vat ksef.Amount
		for _, l := range tot.Lines {
			net, vat = net+l.Net, vat+l.VAT
		}
		if net != tot.Net || vat != tot.VAT || tot.Net+tot.VAT != tot.Gross {
			t.Fatalf("totals disagree: %+v", tot)
		}
	})
}

func ExampleSale_Validate() {
	var s ksef.Sale
	_ = json.Unmarshal([]byte(`{"buyer":{"kind":"nip","nip":"5265877636"},
		"lines":[{"name":"Kawa","quantity":"0","unit_price":"12.30","vat_rate":"24"}],
		"issue_date":"2026-11-21"}`), &s)
	var ves ksef.ValidationErrors
	if errors.As(s.Validate(), &ves) {
		for _, e := range ves {
			fmt.Println(e)
		}
	}
	// Output:
	// buyer.nip: invalid NIP "5265877636"
	// lines[0].quantity: must not be zero
	// lines[0].vat_rate: unknown rate "24"
}

func TestCorrectionExemptionBasis(t *testing.T) {
	inv := loadInvoice(t, "testdata/kor-cancel.json")
	inv.Sale.ExemptionBasis = ""
	if err := inv.Validate(); err == nil || err.Error() != "ksef: invalid sale: exemption_basis: required" {
		t.Errorf("Validate() = %v, want exemption_basis required for a zw before row", err)
	}
	inv = loadInvoice(t, "testdata/kor-cancel.json")
	inv.Correction.Before = inv.Correction.Before[:1]
	if err := inv.Validate(); err == nil || err.Error() != "ksef: invalid sale: exemption_basis: given but no line is exempt (zw)" {
		t.Errorf("Validate() = %v, want exemption_basis not allowed", err)
	}
	// Without before rows a KOR needs difference rows.
	inv = loadInvoice(t, "testdata/kor-cancel.json")
	inv.Correction.Before = nil
	inv.Sale.ExemptionBasis = ""
	if err := inv.Validate(); err == nil || err.Error() != "ksef: invalid sale: lines: at least one line required" {
		t.Errorf("Validate() = %v, want lines required", err)
	}
}
