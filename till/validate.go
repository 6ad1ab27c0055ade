package till

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/posagent/posagent/ksef"
)

// validationProblem turns ksef validation errors into a 422 problem. Each
// field error gets a stable code, worked out from the field's path and the
// sale's value there (the reasons ksef gives are prose and may change). The
// problem's own code is that of the first error.
func validationProblem(s *ksef.Sale, err error) *Problem {
	var list ksef.ValidationErrors
	var one *ksef.ValidationError
	switch {
	case errors.As(err, &list):
	case errors.As(err, &one):
		list = ksef.ValidationErrors{one}
	default:
		return newProblem(http.StatusUnprocessableEntity, CodeInvalidSale, "the sale is invalid")
	}
	if len(list) == 0 {
		return newProblem(http.StatusUnprocessableEntity, CodeInvalidSale, "the sale is invalid")
	}
	p := newProblem(http.StatusUnprocessableEntity, "", "")
	p.err = err
	for _, e := range list {
		code := ruleCodes[e.Rule]
		if code == "" {
			code = classify(s, e.Field)
		}
		p.Errors = append(p.Errors, FieldError{Field: e.Field, Reason: e.Reason, Code: code})
	}
	p.Code = p.Errors[0].Code
	p.Type = ProblemTypeBase + p.Code
	p.Detail = list[0].Error()
	if n := len(list); n > 1 {
		p.Detail += " (and " + strconv.Itoa(n-1) + " more)"
	}
	return p
}

// ruleCodes are the codes of the rules ksef names (ValidationError.Rule).
var ruleCodes = map[error]string{
	ksef.ErrIssueDateNotToday:  CodeIssueDateNotToday,
	ksef.ErrSaleDateOutOfRange: CodeSaleDateOutOfRange,
}

// classify returns the code of a validation error at field in sale s.
func classify(s *ksef.Sale, field string) string {
	if s == nil {
		s = &ksef.Sale{}
	}
	if i, sub, ok := lineField(field); ok {
		if i >= len(s.Lines) {
			return CodeInvalidSale
		}
		return classifyLine(s, s.Lines[i], sub)
	}
	b := &s.Buyer
	switch field {
	case "buyer.kind":
		if b.Kind == "" {
			return CodeFieldRequired
		}
		return CodeUnknownBuyerKind
	case "buyer.nip", "buyer.eu_code", "buyer.eu_vat", "buyer.country", "buyer.id":
		name := strings.TrimPrefix(field, "buyer.")
		if !buyerFieldAllowed(b.Kind, name) {
			return CodeFieldNotAllowed
		}
		val := map[string]string{"nip": b.NIP, "eu_code": b.EUCode, "eu_vat": b.EUVAT, "country": b.Country, "id": b.ID}[name]
		switch {
		case strings.TrimSpace(val) == "":
			return CodeFieldRequired
		case name == "nip":
			return CodeInvalidNIP
		case name == "eu_vat":
			return CodeInvalidVATID
		case name == "id":
			return CodeInvalidText
		}
		return CodeUnknownCountry
	case "buyer.address.country":
		return CodeUnknownCountry
	case "buyer.vat_exempt":
		return CodeFieldNotAllowed
	case "price_mode":
		return CodeUnknownPriceMode
	case "kind":
		if s.Kind == ksef.KindUPR && s.Buyer.Kind == ksef.BuyerNIP {
			// The only rule a UPR for a NIP buyer can break: its limit
			// (art. 106e ust. 5 pkt 3 ustawy o VAT).
			return CodeUPROverLimit
		}
		if s.Kind == ksef.KindUPR || s.Kind == ksef.KindVAT {
			return CodeKindNotAllowed
		}
		return CodeUnknownKind
	case "currency":
		return CodeUnknownCurrency
	case "exchange_rate":
		if s.Currency == "" || s.Currency == "PLN" {
			return CodeRateNotAllowed
		}
		return CodeRateRequired
	case "issue_date", "sale_date", "payment.date":
		d := map[string]ksef.Date{"issue_date": s.IssueDate, "sale_date": s.SaleDate}[field]
		if field == "payment.date" && s.Payment != nil {
			d = s.Payment.Date
		}
		switch {
		case d.IsZero():
			return CodeFieldRequired
		case !d.Valid():
			return CodeInvalidDate
		}
		return CodeDateOutOfRange
	case "split_payment":
		return CodeSplitNotAllowed
	case "lines":
		switch {
		case len(s.Lines) == 0:
			return CodeNoLines
		case len(s.Lines) > ksef.MaxLines:
			return CodeTooManyLines
		}
		return CodeTotalOutOfRange
	case "payment.form":
		if s.Payment == nil || s.Payment.Form == "" {
			return CodeFieldRequired
		}
		return CodeUnknownPaymentForm
	case "exemption_basis":
		if s.ExemptionBasis != "" && !hasExempt(s.Lines) {
			return CodeFieldNotAllowed
		}
		return textCode(s.ExemptionBasis)
	case "buyer.name", "buyer.address.line1", "buyer.address.line2", "place", "number":
		v := map[string]string{"buyer.name": b.Name, "place": s.Place, "number": s.Number}[field]
		if b.Address != nil && strings.HasPrefix(field, "buyer.address.") {
			v = map[string]string{"buyer.address.line1": b.Address.Line1, "buyer.address.line2": b.Address.Line2}[field]
		}
		return textCode(v)
	}
	return CodeInvalidSale
}

func classifyLine(s *ksef.Sale, l ksef.Line, sub string) string {
	switch sub {
	case "name":
		return textCode(l.Name)
	case "unit":
		return textCode(l.Unit)
	case "quantity":
		switch {
		case l.Quantity == 0:
			return CodeQuantityZero
		case l.Quantity < 0:
			return CodeQuantityNegative
		}
		return CodeQuantityOutOfRange
	case "unit_price":
		if l.UnitPrice < 0 {
			return CodePriceNegative
		}
		return CodePriceOutOfRange
	case "vat_rate":
		switch {
		case l.VATRate == "":
			return CodeFieldRequired
		case !l.VATRate.Valid():
			return CodeUnknownVATRate
		}
		return CodeVATRateNotAllowed
	case "gtu":
		return CodeUnknownGTU
	case "discount":
		if l.Discount < 0 {
			return CodeDiscountNegative
		}
		return CodeDiscountTooLarge
	}
	return CodeInvalidSale
}

func textCode(v string) string {
	if strings.TrimSpace(v) == "" && v == "" {
		return CodeFieldRequired
	}
	return CodeInvalidText
}

func hasExempt(lines []ksef.Line) bool {
	for _, l := range lines {
		if l.VATRate == ksef.RateZW {
			return true
		}
	}
	return false
}

func buyerFieldAllowed(kind ksef.BuyerKind, name string) bool {
	switch kind {
	case ksef.BuyerNIP:
		return name == "nip"
	case ksef.BuyerEU:
		return name == "eu_code" || name == "eu_vat"
	case ksef.BuyerForeign:
		return name == "country" || name == "id"
	}
	return false
}

// lineField splits "lines[3].quantity" into 3 and "quantity".
func lineField(field string) (int, string, bool) {
	rest, ok := strings.CutPrefix(field, "lines[")
	if !ok {
		return 0, "", false
	}
	num, sub, ok := strings.Cut(rest, "].")
	if !ok {
		return 0, "", false
	}
	i, err := strconv.Atoi(num)
	if err != nil || i < 0 {
		return 0, "", false
	}
	return i, sub, true
}
