package till

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// Problem codes. They are part of the API contract (docs/openapi-till.json)
// and never change meaning; the table in doc.go lists them with their status.
const (
	CodeMalformedJSON      = "malformed_json"
	CodeEmptyBody          = "empty_body"
	CodeTrailingData       = "trailing_data"
	CodeUnknownField       = "unknown_field"
	CodeDuplicateField     = "duplicate_field"
	CodeWrongType          = "wrong_type"
	CodeInvalidAmount      = "invalid_amount"
	CodeInvalidQuantity    = "invalid_quantity"
	CodeTooManyDecimals    = "too_many_decimals"
	CodeInvalidDate        = "invalid_date"
	CodeKeyMissing         = "idempotency_key_missing"
	CodeKeyInvalid         = "idempotency_key_invalid"
	CodeKeyReused          = "idempotency_key_reused"
	CodeInvalidQuery       = "invalid_query"
	CodeInvalidState       = "invalid_state"
	CodeInvalidMode        = "invalid_mode"
	CodeUnauthorized       = "unauthorized"
	CodeNotFound           = "not_found"
	CodeRouteNotFound      = "route_not_found"
	CodeMethodNotAllowed   = "method_not_allowed"
	CodeNotCorrectable     = "not_correctable"
	CodeBodyTooLarge       = "body_too_large"
	CodeUnsupportedMedia   = "unsupported_media_type"
	CodeInternal           = "internal"
	CodeUnavailable        = "unavailable"
	CodeStoreFull          = "store_full"
	CodeInvalidRequest     = "invalid_request"
	CodeInvalidSale        = "invalid_sale" // a validation problem with no more specific code
	CodeFieldRequired      = "field_required"
	CodeFieldNotAllowed    = "field_not_allowed"
	CodeInvalidText        = "invalid_text"
	CodeInvalidNIP         = "invalid_nip"
	CodeInvalidVATID       = "invalid_vat_id"
	CodeUnknownBuyerKind   = "unknown_buyer_kind"
	CodeUnknownCountry     = "unknown_country"
	CodeUnknownCurrency    = "unknown_currency"
	CodeRateRequired       = "exchange_rate_required"
	CodeRateNotAllowed     = "exchange_rate_not_allowed"
	CodeUnknownPriceMode   = "unknown_price_mode"
	CodeUnknownKind        = "unknown_kind"
	CodeKindNotAllowed     = "kind_not_allowed"
	CodeUPROverLimit       = "upr_over_limit"
	CodeDateOutOfRange     = "date_out_of_range"
	CodeNoLines            = "no_lines"
	CodeTooManyLines       = "too_many_lines"
	CodeTotalOutOfRange    = "total_out_of_range"
	CodeQuantityZero       = "quantity_zero"
	CodeQuantityNegative   = "quantity_negative"
	CodeQuantityOutOfRange = "quantity_out_of_range"
	CodePriceNegative      = "price_negative"
	CodePriceOutOfRange    = "price_out_of_range"
	CodeUnknownVATRate     = "unknown_vat_rate"
	CodeVATRateNotAllowed  = "vat_rate_not_allowed"
	CodeUnknownGTU         = "unknown_gtu"
	CodeDiscountNegative   = "discount_negative"
	CodeDiscountTooLarge   = "discount_exceeds_line"
	CodeUnknownPaymentForm = "unknown_payment_form"
	CodeSplitNotAllowed    = "split_payment_not_allowed"
	CodeInvalidCorrection  = "invalid_correction_type"
	// CodeOfflineCertificateInvalid: a sale that would be issued offline
	// while the KSeF Offline certificate cannot sign KOD II.
	CodeOfflineCertificateInvalid = "offline_certificate_invalid"
	CodeIssueDateNotToday         = "issue_date_not_today"
	CodeSaleDateOutOfRange        = "sale_date_out_of_range"
	CodeInvoiceTooLarge           = "invoice_too_large"
	CodeHostNotAllowed            = "host_not_allowed"
	CodeUPONotAvailable           = "upo_not_available"
)

// ProblemTypeBase prefixes a problem's code to form its type URI.
const ProblemTypeBase = "https://posagent.invalid/problems/"

// ContentTypeProblem is the media type of error bodies.
const ContentTypeProblem = "application/problem+json"

func newProblem(status int, code, detail string) *Problem {
	return &Problem{Type: ProblemTypeBase + code, Title: http.StatusText(status), Status: status, Code: code, Detail: detail}
}

// NewProblem returns a problem without field errors; the type is derived from code.
func NewProblem(status int, code, detail string) *Problem { return newProblem(status, code, detail) }

// FieldProblem returns a problem about one field of the request body. A Core
// (or an adapter around the agent) may return it to answer with a precise code.
func FieldProblem(status int, code, field, reason string) *Problem {
	return fieldProblem(status, code, field, reason)
}

func fieldProblem(status int, code, field, reason string) *Problem {
	p := newProblem(status, code, field+": "+reason)
	p.Errors = []FieldError{{Field: field, Reason: reason, Code: code}}
	return p
}

// OfflineCertificateProblem is the 422 answer to a sale the agent would issue
// offline while its KSeF Offline certificate cannot sign a KOD II that
// verifies; reason says why (expired, revoked, suspended). It matches
// ErrOfflineCertificateInvalid.
func OfflineCertificateProblem(reason string) *Problem {
	p := newProblem(http.StatusUnprocessableEntity, CodeOfflineCertificateInvalid,
		"the KSeF Offline certificate cannot sign offline invoices ("+reason+"): nothing was issued; hand over a receipt, "+
			"or sell online (policy online-first with KSeF reachable) until a valid certificate is installed")
	p.err = ErrOfflineCertificateInvalid
	return p
}

// writeProblem writes p as application/problem+json.
func writeProblem(w http.ResponseWriter, p *Problem) {
	b, err := json.Marshal(p)
	if err != nil { // a Problem is strings and ints: cannot happen
		b = []byte(`{"type":"` + ProblemTypeBase + CodeInternal + `","title":"Internal Server Error","status":500,"detail":"encoding failed","code":"internal"}`)
		p.Status = http.StatusInternalServerError
	}
	h := w.Header()
	h.Set("Content-Type", ContentTypeProblem)
	h.Set("Content-Length", strconv.Itoa(len(b)+1))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	w.Write(append(b, '\n'))
}

// writeJSON writes v as application/json with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeProblem(w, newProblem(http.StatusInternalServerError, CodeInternal, "response encoding failed"))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)+1))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
