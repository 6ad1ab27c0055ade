package ksef

import (
	"errors"
	"strings"
)

var (
	// ErrAmount is returned for a malformed, out-of-range or over-precise amount.
	ErrAmount = errors.New("ksef: invalid amount")

	// ErrQuantity is returned for a malformed, out-of-range or over-precise quantity.
	ErrQuantity = errors.New("ksef: invalid quantity")

	// ErrOverflow is returned when exact arithmetic would leave the int64 range.
	ErrOverflow = errors.New("ksef: arithmetic overflow")

	// ErrNIP is returned for a NIP that is not 10 digits with a valid checksum.
	ErrNIP = errors.New("ksef: invalid NIP")

	// ErrKSeFNumber is returned for a string that is not a KSeF number.
	ErrKSeFNumber = errors.New("ksef: invalid KSeF number")

	// ErrKSeFChecksum is returned when a KSeF number's CRC-8 does not match.
	ErrKSeFChecksum = errors.New("ksef: KSeF number checksum mismatch")

	// ErrEnvironment is returned for an unknown KSeF environment name.
	ErrEnvironment = errors.New("ksef: unknown environment")

	// ErrDate is returned for a malformed or out-of-range civil date.
	ErrDate = errors.New("ksef: invalid date")

	// ErrMode is returned for an unknown invoicing mode.
	ErrMode = errors.New("ksef: unknown mode")

	// ErrLink is returned by the QR link parsers for a malformed link.
	ErrLink = errors.New("ksef: malformed QR link")

	// ErrSignature is returned when a KOD II signature does not verify.
	ErrSignature = errors.New("ksef: signature does not verify")

	// ErrKeyType is returned for a key that is neither RSA nor ECDSA P-256.
	ErrKeyType = errors.New("ksef: unsupported key type")

	// ErrCertSerial is returned for a certificate serial that is not 16 uppercase hex digits.
	ErrCertSerial = errors.New("ksef: invalid certificate serial")

	// ErrNoPeriod is returned by Calendar.Deadline when the mode needs an
	// announced period (offline, emergency) that covers the issue date.
	ErrNoPeriod = errors.New("ksef: no announced period covers the issue date")

	// ErrInvalidSale is matched (errors.Is) by every ValidationError and ValidationErrors.
	ErrInvalidSale = errors.New("ksef: invalid sale")

	// ErrOutOfRange is matched, with ErrAmount or ErrQuantity, by a
	// well-formed decimal beyond MaxAmount or MaxQuantity.
	ErrOutOfRange = errors.New("ksef: out of range")

	// ErrIssueDateNotToday is matched by the ValidationError of an issue date
	// (P_1) other than the day the invoice is issued (CheckDates).
	ErrIssueDateNotToday = errors.New("ksef: issue date is not today")

	// ErrSaleDateOutOfRange is matched by the ValidationError of a sale date
	// (P_6) the VAT Act does not allow for the issue date (SaleDateRange).
	ErrSaleDateOutOfRange = errors.New("ksef: sale date out of range")

	// ErrInvoiceTooLarge is matched (errors.Is) by every *SizeError: the
	// invoice's XML is over the size KSeF accepts.
	ErrInvoiceTooLarge = errors.New("ksef: invoice too large for KSeF")
)

// ValidationError names one problem with a sale or invoice: Field is the JSON
// path (e.g. "lines[2].vat_rate") and Reason says what is wrong.
type ValidationError struct {
	Field  string
	Reason string
	// Rule, when set, names the rule broken (such as ErrSaleDateOutOfRange),
	// so a caller can tell it apart from the field's other problems.
	Rule error
}

func (e *ValidationError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

// Unwrap makes errors.Is(err, ErrInvalidSale) hold, and errors.Is(err, Rule).
func (e *ValidationError) Unwrap() []error {
	if e.Rule == nil {
		return []error{ErrInvalidSale}
	}
	return []error{ErrInvalidSale, e.Rule}
}

// ValidationErrors lists every problem found, in field order.
type ValidationErrors []*ValidationError

func (es ValidationErrors) Error() string {
	var b strings.Builder
	b.WriteString("ksef: invalid sale: ")
	for i, e := range es {
		if i > 0 {
			b.WriteString("; ")
		}
		if i == 10 && len(es) > 11 {
			b.WriteString("and more")
			break
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap returns the individual errors, so errors.As finds a *ValidationError.
func (es ValidationErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Is reports ErrInvalidSale so that an empty list still classifies.
func (es ValidationErrors) Is(target error) bool { return target == ErrInvalidSale }
