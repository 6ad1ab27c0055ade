package ksef

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// BuyerKind says how the buyer is identified in Podmiot2.
type BuyerKind string

// Buyer kinds.
const (
	BuyerConsumer BuyerKind = "consumer" // BrakID: no tax identifier
	BuyerNIP      BuyerKind = "nip"      // a Polish NIP (B2B)
	BuyerEU       BuyerKind = "eu"       // KodUE + NrVatUE
	BuyerForeign  BuyerKind = "foreign"  // KodKraju (optional) + NrID
)

// Address is a postal address as FA(3) writes it: a country code and one or
// two free-text lines.
type Address struct {
	Country string `json:"country"`
	Line1   string `json:"line1"`
	Line2   string `json:"line2,omitempty"`
}

// Buyer is the buyer of a sale. Only the fields of its Kind may be set.
type Buyer struct {
	Kind    BuyerKind `json:"kind"`
	NIP     string    `json:"nip,omitempty"`     // kind nip
	EUCode  string    `json:"eu_code,omitempty"` // kind eu, e.g. "DE" ("EL" for Greece)
	EUVAT   string    `json:"eu_vat,omitempty"`  // kind eu, without the country prefix
	Country string    `json:"country,omitempty"` // kind foreign, optional
	ID      string    `json:"id,omitempty"`      // kind foreign: the tax ID
	Name    string    `json:"name,omitempty"`
	Address *Address  `json:"address,omitempty"`
	// VATExempt marks a buyer of kind nip that uses the VAT exemption: it
	// may be handed an offline invoice before KSeF has it, as a consumer may.
	// The domestic B2B restriction (art. 106gb ust. 4) is read as binding VAT
	// payers; infor.pl (2025-06, "fakturowanie offline w KSeF") lists a
	// taxpayer using the exemption among the buyers an offline24 invoice may
	// be handed to. It is not written to the FA(3) XML.
	VATExempt bool `json:"vat_exempt,omitempty"`
}

// PriceMode says whether unit prices include VAT.
type PriceMode string

// Price modes. Gross is the default and the usual case at a till.
const (
	PriceGross PriceMode = "gross"
	PriceNet   PriceMode = "net"
)

// Rate is a VAT rate as FA(3) writes it in P_12.
type Rate string

// VAT rates a till may use.
const (
	Rate23   Rate = "23"
	Rate8    Rate = "8"
	Rate5    Rate = "5"
	Rate0KR  Rate = "0 KR"  // 0% domestic
	Rate0WDT Rate = "0 WDT" // 0% intra-EU supply of goods
	Rate0EX  Rate = "0 EX"  // 0% export of goods
	RateZW   Rate = "zw"    // exempt
	RateNPI  Rate = "np I"  // not taxable in Poland (outside the country)
	RateNPII Rate = "np II" // not taxable: services under art. 100 ust. 1 pkt 4
	RateOO   Rate = "oo"    // domestic reverse charge
	// RateMargin marks a row sold under the seller's margin scheme: its
	// invoice shows neither rate nor tax (art. 106e ust. 3 ustawy o VAT), so
	// P_12 is left out and the value goes to P_13_11.
	RateMargin Rate = "marza"
)

// rates lists the rates in the order of their FA(3) rate groups.
var rates = []Rate{Rate23, Rate8, Rate5, Rate0KR, Rate0WDT, Rate0EX, RateZW, RateNPI, RateNPII, RateOO, RateMargin}

// Percent returns the percentage of a taxed rate (23, 8, 5) and 0 for the others.
func (r Rate) Percent() int64 {
	switch r {
	case Rate23:
		return 23
	case Rate8:
		return 8
	case Rate5:
		return 5
	}
	return 0
}

// Valid reports whether r is one of the supported rates.
func (r Rate) Valid() bool {
	for _, x := range rates {
		if r == x {
			return true
		}
	}
	return false
}

// Line is one sale line. UnitPrice is gross or net according to the sale's
// PriceMode; Discount is an amount off the whole line in the same mode.
type Line struct {
	Name      string   `json:"name"`
	Unit      string   `json:"unit,omitempty"`
	Quantity  Quantity `json:"quantity"`
	UnitPrice Amount   `json:"unit_price"`
	VATRate   Rate     `json:"vat_rate"`
	GTU       string   `json:"gtu,omitempty"`
	Discount  Amount   `json:"discount,omitempty"`
}

// PaymentForm is how the buyer pays (FormaPlatnosci).
type PaymentForm string

// Payment forms, in FA(3) code order 1..7.
const (
	PayCash     PaymentForm = "cash"
	PayCard     PaymentForm = "card"
	PayVoucher  PaymentForm = "voucher"
	PayCheque   PaymentForm = "cheque"
	PayCredit   PaymentForm = "credit"
	PayTransfer PaymentForm = "transfer"
	PayMobile   PaymentForm = "mobile"
)

var paymentForms = []PaymentForm{PayCash, PayCard, PayVoucher, PayCheque, PayCredit, PayTransfer, PayMobile}

// code returns the FA(3) code 1..7, or 0 if unknown.
func (f PaymentForm) code() int {
	for i, x := range paymentForms {
		if f == x {
			return i + 1
		}
	}
	return 0
}

// Payment is the payment information. Date is the payment day when Paid
// (default: the issue date) and the due day otherwise (optional).
type Payment struct {
	Form PaymentForm `json:"form"`
	Paid bool        `json:"paid"`
	Date Date        `json:"date,omitzero"`
}

// Sale kinds accepted from a till; corrections are made through Invoice.Correction.
const (
	KindVAT = "VAT"
	KindUPR = "UPR"
	KindKOR = "KOR"
)

// Sale is what a till knows about a sale. It is decoded straight from the
// till API's JSON; field names in validation errors are these JSON names.
//
//	{"buyer":{"kind":"nip","nip":"5265877635","name":"…","address":{"country":"PL","line1":"…"}},
//	 "price_mode":"gross",
//	 "lines":[{"name":"Kawa","unit":"szt.","quantity":"2","unit_price":"12.30","vat_rate":"23"}],
//	 "payment":{"form":"card","paid":true},
//	 "currency":"PLN","kind":"VAT","issue_date":"2026-11-21","place":"Warszawa"}
type Sale struct {
	Buyer     Buyer     `json:"buyer"`
	PriceMode PriceMode `json:"price_mode,omitempty"` // default gross
	Lines     []Line    `json:"lines"`
	Payment   *Payment  `json:"payment,omitempty"`
	Currency  string    `json:"currency,omitempty"` // ISO 4217, default PLN
	// ExchangeRate converts the invoice currency to PLN (PLN per unit, up to 6
	// decimals); required for any currency other than PLN.
	ExchangeRate Quantity `json:"exchange_rate,omitempty"`
	Kind         string   `json:"kind,omitempty"` // VAT (default) or UPR
	IssueDate    Date     `json:"issue_date"`
	SaleDate     Date     `json:"sale_date,omitzero"` // P_6, when it differs from the issue date
	Place        string   `json:"place,omitempty"`
	Number       string   `json:"number,omitempty"` // usually assigned by the agent
	// ExemptionBasis is the legal basis printed as P_19A; required when a line is "zw".
	ExemptionBasis string `json:"exemption_basis,omitempty"`
	// SplitPayment marks the invoice "mechanizm podzielonej płatności"
	// (P_18A=1). The till decides: it knows whether goods of annex 15 (such
	// as fuel) push a B2B sale over 15 000 PLN.
	SplitPayment bool `json:"split_payment,omitempty"`
}

// Limits from the FA(3) schema.
const (
	MaxLines     = 10000 // FaWiersz maxOccurs
	maxText      = 256   // TZnakowy
	maxText512   = 512   // TZnakowy512
	maxForeignID = 50    // TNrIdentyfikacjiPodatkowej
)

var (
	minDate    = Date{2006, 1, 1} // TDataT
	minPayDate = Date{2016, 7, 1} // TData
	maxDate    = Date{2050, 1, 1} // both
	maxTotal   = Amount(1e16) - 1 // TKwotowy: 16 integer digits
)

// currency returns the sale's currency with the PLN default applied.
func (s *Sale) currency() string {
	if s.Currency == "" {
		return "PLN"
	}
	return s.Currency
}

func (s *Sale) priceMode() PriceMode {
	if s.PriceMode == "" {
		return PriceGross
	}
	return s.PriceMode
}

func (s *Sale) kind() string {
	if s.Kind == "" {
		return KindVAT
	}
	return s.Kind
}

// validator collects errors with their JSON paths.
type validator struct{ errs ValidationErrors }

func (v *validator) add(field, format string, args ...any) {
	v.errs = append(v.errs, &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)})
}

func (v *validator) err() error {
	if len(v.errs) == 0 {
		return nil
	}
	return v.errs
}

// text checks a free-text field: required or not, at most max characters,
// valid UTF-8 and free of characters XML or KSeF reject.
func (v *validator) text(field, s string, required bool, max int) {
	if strings.TrimSpace(s) == "" {
		if required {
			v.add(field, "required")
		} else if s != "" {
			v.add(field, "blank")
		}
		return
	}
	if !utf8.ValidString(s) {
		v.add(field, "not valid UTF-8")
		return
	}
	if n := utf8.RuneCountInString(collapse(s)); n > max {
		v.add(field, "too long: %d characters, at most %d", n, max)
	}
	for _, r := range s {
		if badRune(r) {
			v.add(field, "contains a forbidden character %U", r)
			return
		}
	}
}

// badRune reports control characters and the code points KSeF rejects
// (#x7F–#x84, #x86–#x9F, #xFDD0–#xFDEF, plane-end non-characters).
func badRune(r rune) bool {
	switch {
	case r < 0x20 && r != '\t' && r != '\n' && r != '\r':
		return true
	case r >= 0x7F && r <= 0x9F:
		return true
	case r >= 0xFDD0 && r <= 0xFDEF:
		return true
	case r&0xFFFE == 0xFFFE:
		return true
	case r >= 0xD800 && r <= 0xDFFF, r == utf8.RuneError:
		return true
	}
	return false
}

// collapse applies xsd:token whitespace rules: trim and collapse runs of
// whitespace to one space.
func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

func (v *validator) date(field string, d Date, required bool, lo Date) {
	if d.IsZero() {
		if required {
			v.add(field, "required")
		}
		return
	}
	if !d.Valid() {
		v.add(field, "not a valid date")
		return
	}
	if d.Before(lo) || d.After(maxDate) {
		v.add(field, "%v outside %v..%v", d, lo, maxDate)
	}
}

// Validate checks the sale against the FA(3) schema and the VAT rules this
// package applies. It returns nil or ValidationErrors naming every problem.
func (s *Sale) Validate() error {
	v := &validator{}
	s.validate(v, lineRules{})
	return v.err()
}

// lineRules relax line checks for corrections.
type lineRules struct {
	diffRows   bool   // difference rows: negative quantities and prices allowed
	allowEmpty bool   // after rows of a full cancellation: no lines at all
	before     []Line // before rows of a correction, which also need P_19A
}

// validate checks s under the given line rules.
func (s *Sale) validate(v *validator, rules lineRules) {
	s.validateBuyer(v)

	switch s.PriceMode {
	case "", PriceGross, PriceNet:
	default:
		v.add("price_mode", "unknown price mode %q (want gross or net)", s.PriceMode)
	}

	switch s.Kind {
	case "", KindVAT:
	case KindUPR:
		if s.Buyer.Kind != BuyerNIP {
			v.add("kind", "UPR needs a buyer of kind nip")
		}
	default:
		v.add("kind", "unknown kind %q (want VAT or UPR)", s.Kind)
	}

	cur := s.currency()
	switch {
	case !currencyCodes[cur]:
		v.add("currency", "unknown currency %q", s.Currency)
	case cur == "PLN" && s.ExchangeRate != 0:
		v.add("exchange_rate", "not allowed for PLN")
	case cur != "PLN" && s.ExchangeRate <= 0:
		v.add("exchange_rate", "required and positive for currency %s", cur)
	}
	if s.ExchangeRate < 0 {
		v.add("exchange_rate", "negative")
	}

	// A sale may leave the issue date to the issuer (the agent sets today);
	// an invoice needs one (Invoice.Validate).
	v.date("issue_date", s.IssueDate, false, minDate)
	v.date("sale_date", s.SaleDate, false, minDate)
	v.text("place", s.Place, false, maxText)
	v.text("number", s.Number, false, maxText)
	if s.SplitPayment && s.Buyer.Kind != BuyerNIP {
		v.add("split_payment", "needs a buyer of kind nip")
	}

	s.validateLines(v, rules)
	if s.Kind == KindUPR && !rules.diffRows && len(v.errs) == 0 {
		s.validateUPRLimit(v)
	}
	s.validateExemption(v, rules.before)
	s.validatePayment(v)
}

// UPR limits. Art. 106e ust. 5 pkt 3 ustawy o VAT allows an invoice without
// the buyer's name and address and the other data it lists (RodzajFaktury
// UPR) only while the amount due in total (P_15) does not exceed 450 PLN, or
// 100 EUR when that amount is stated in euro.
const (
	UPRLimitPLN Amount = 450_00
	UPRLimitEUR Amount = 100_00
)

// validateUPRLimit refuses a UPR over its limit. An invoice in another
// currency is converted at its exchange rate (PLN per unit) and held to the
// PLN limit. Called only when no other problem was found so far (an
// invoice's own fields included), so the lines are valid and the totals
// compute.
func (s *Sale) validateUPRLimit(v *validator) {
	t, err := ComputeTotals(s.priceMode(), s.Lines)
	if err != nil {
		return // reported by validateLines
	}
	gross, limit, cur := t.Gross, UPRLimitPLN, s.currency()
	switch cur {
	case "PLN":
	case "EUR":
		limit = UPRLimitEUR
	default:
		_, pln, err := s.InPLN(t)
		if err != nil {
			v.add("kind", "UPR total cannot be converted to PLN")
			return
		}
		gross, cur = pln, "PLN"
	}
	if gross > limit {
		v.add("kind", "UPR is allowed only up to 450 PLN or 100 EUR gross (art. 106e ust. 5 pkt 3 ustawy o VAT); this sale is %v %s", gross, cur)
	}
}

func (s *Sale) validateBuyer(v *validator) {
	b := &s.Buyer
	only := func(allowed ...string) {
		set := map[string]string{"nip": b.NIP, "eu_code": b.EUCode, "eu_vat": b.EUVAT, "country": b.Country, "id": b.ID}
		for _, f := range []string{"nip", "eu_code", "eu_vat", "country", "id"} {
			if set[f] == "" {
				continue
			}
			ok := false
			for _, a := range allowed {
				ok = ok || a == f
			}
			if !ok {
				v.add("buyer."+f, "not allowed for a buyer of kind %s", b.Kind)
			}
		}
	}
	switch b.Kind {
	case BuyerConsumer:
		only()
	case BuyerNIP:
		only("nip")
		if b.NIP == "" {
			v.add("buyer.nip", "required")
		} else if err := CheckNIP(b.NIP); err != nil {
			v.add("buyer.nip", "invalid NIP %q", b.NIP)
		}
	case BuyerEU:
		only("eu_code", "eu_vat")
		switch {
		case b.EUCode == "":
			v.add("buyer.eu_code", "required")
		case b.EUCode == "PL":
			v.add("buyer.eu_code", "a Polish buyer is of kind nip")
		case !euCodes[b.EUCode]:
			v.add("buyer.eu_code", "unknown EU country code %q", b.EUCode)
		}
		if !validEUVAT(b.EUVAT) {
			v.add("buyer.eu_vat", "want 1-12 characters of 0-9, A-Z, + or *, without the country prefix, got %q", b.EUVAT)
		}
	case BuyerForeign:
		only("country", "id")
		if b.Country != "" && !countryCodes[b.Country] {
			v.add("buyer.country", "unknown country code %q", b.Country)
		}
		v.text("buyer.id", b.ID, true, maxForeignID)
	case "":
		v.add("buyer.kind", "required (consumer, nip, eu or foreign)")
	default:
		v.add("buyer.kind", "unknown kind %q (want consumer, nip, eu or foreign)", b.Kind)
	}
	if b.VATExempt && b.Kind != BuyerNIP {
		v.add("buyer.vat_exempt", "only for a buyer of kind nip")
	}
	v.text("buyer.name", b.Name, false, maxText512)
	if b.Address != nil {
		validateAddress(v, "buyer.address", *b.Address)
	}
}

func validateAddress(v *validator, field string, a Address) {
	if !countryCodes[a.Country] {
		v.add(field+".country", "unknown country code %q", a.Country)
	}
	v.text(field+".line1", a.Line1, true, maxText512)
	v.text(field+".line2", a.Line2, false, maxText512)
}

func validEUVAT(s string) bool {
	if len(s) < 1 || len(s) > 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c == '+' || c == '*') {
			return false
		}
	}
	return true
}

func (s *Sale) validateLines(v *validator, rules lineRules) {
	diffRows := rules.diffRows
	switch {
	case len(s.Lines) == 0 && rules.allowEmpty:
		return
	case len(s.Lines) == 0:
		v.add("lines", "at least one line required")
		return
	case len(s.Lines) > MaxLines:
		v.add("lines", "%d lines, at most %d", len(s.Lines), MaxLines)
		return
	}
	for i, l := range s.Lines {
		p := fmt.Sprintf("lines[%d]", i)
		v.text(p+".name", l.Name, true, maxText512)
		v.text(p+".unit", l.Unit, false, maxText)
		switch {
		case l.Quantity == 0:
			v.add(p+".quantity", "must not be zero")
		case l.Quantity < 0 && !diffRows:
			v.add(p+".quantity", "negative")
		case l.Quantity > MaxQuantity || l.Quantity < -MaxQuantity:
			v.add(p+".quantity", "out of range")
		}
		if l.UnitPrice < 0 && !diffRows {
			v.add(p+".unit_price", "negative")
		}
		if l.UnitPrice > MaxAmount || l.UnitPrice < -MaxAmount {
			v.add(p+".unit_price", "out of range")
		}
		if l.VATRate == "" {
			v.add(p+".vat_rate", "required")
		} else if !l.VATRate.Valid() {
			v.add(p+".vat_rate", "unknown rate %q", string(l.VATRate))
		}
		switch l.VATRate {
		case Rate0WDT:
			if s.Buyer.Kind != BuyerEU {
				v.add(p+".vat_rate", "0 WDT needs a buyer of kind eu")
			}
		case RateOO:
			if s.Buyer.Kind != BuyerNIP {
				v.add(p+".vat_rate", "reverse charge (oo) needs a buyer of kind nip")
			}
		}
		if l.GTU != "" && !validGTU(l.GTU) {
			v.add(p+".gtu", "unknown GTU %q (want GTU_01..GTU_13)", l.GTU)
		}
		if l.Discount < 0 {
			v.add(p+".discount", "negative")
		} else if l.Discount > 0 {
			if gross, err := mulDivRound(int64(l.Quantity), int64(l.UnitPrice), QuantityScale); err == nil && (gross < 0 || l.Discount > Amount(gross)) {
				v.add(p+".discount", "%v exceeds the line value %v", l.Discount, Amount(gross))
			}
		}
	}
	if len(v.errs) == 0 {
		t, err := ComputeTotals(s.priceMode(), s.Lines)
		if err != nil || t.Gross > maxTotal || t.Gross < -maxTotal {
			v.add("lines", "total out of range")
		}
	}
}

// validateExemption requires exemption_basis exactly when a row is "zw".
func (s *Sale) validateExemption(v *validator, before []Line) {
	zw := false
	for _, l := range append(slices.Clip(before), s.Lines...) {
		zw = zw || l.VATRate == RateZW
	}
	if zw {
		v.text("exemption_basis", s.ExemptionBasis, true, maxText)
	} else if s.ExemptionBasis != "" {
		v.add("exemption_basis", "given but no line is exempt (zw)")
	}
}

func validGTU(s string) bool {
	if len(s) != 6 || !strings.HasPrefix(s, "GTU_") {
		return false
	}
	n := s[4:]
	return allDigits(n) && n >= "01" && n <= "13"
}

func (s *Sale) validatePayment(v *validator) {
	p := s.Payment
	if p == nil {
		return
	}
	if p.Form == "" {
		v.add("payment.form", "required")
	} else if p.Form.code() == 0 {
		v.add("payment.form", "unknown form %q (want cash, card, voucher, cheque, credit, transfer or mobile)", p.Form)
	}
	v.date("payment.date", p.Date, false, minPayDate)
	if p.Paid && p.Date.IsZero() && s.IssueDate.Valid() && s.IssueDate.Before(minPayDate) {
		// DataZaplaty defaults to the issue date, which must then be in range too.
		v.add("payment.date", "required when paid and issue_date is before %v", minPayDate)
	}
}
