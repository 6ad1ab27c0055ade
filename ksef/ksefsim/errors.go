package ksefsim

import (
	"errors"
	"fmt"
	"net/http"
)

var (
	// ErrOptions is returned by New for an invalid Options value.
	ErrOptions = errors.New("ksefsim: invalid options")

	// ErrClosed is returned by Start on a server that was already closed.
	ErrClosed = errors.New("ksefsim: server closed")

	// ErrRunning is returned by Start on a server that is already serving.
	ErrRunning = errors.New("ksefsim: server already started")

	// ErrStateFile is returned when the state file cannot be read or written.
	ErrStateFile = errors.New("ksefsim: state file")

	// ErrFault is returned by InjectFault for an unknown fault kind or count.
	ErrFault = errors.New("ksefsim: invalid fault")

	// ErrAvailability is returned by SetAvailability for an unknown status.
	ErrAvailability = errors.New("ksefsim: invalid availability status")

	// ErrNotAuthRequest is returned for a document that is not a well-formed
	// AuthTokenRequest (KSeF code 21401 or 21001).
	ErrNotAuthRequest = errors.New("ksefsim: not an AuthTokenRequest")

	// ErrNoSignature is returned for an AuthTokenRequest without an enveloped
	// signature (KSeF code 9102).
	ErrNoSignature = errors.New("ksefsim: missing signature")

	// ErrManySignatures is returned when a document carries more than one
	// signature (KSeF code 9103).
	ErrManySignatures = errors.New("ksefsim: more than one signature")

	// ErrBadSignature is returned when a signature, a reference digest or the
	// signing-certificate digest does not verify (KSeF code 9105).
	ErrBadSignature = errors.New("ksefsim: invalid signature")

	// ErrBadCertificate is returned for a signing certificate that is
	// malformed, expired, too weak or names no NIP (KSeF code 21115).
	ErrBadCertificate = errors.New("ksefsim: invalid certificate")

	// ErrInvoiceFormat is returned by the invoice checks for bytes that are not
	// an acceptable FA(3) document (invoice status 430).
	ErrInvoiceFormat = errors.New("ksefsim: invoice file verification failed")

	// ErrInvoiceSemantic is returned by the invoice checks for a well-formed
	// invoice that breaks a business rule (invoice status 450).
	ErrInvoiceSemantic = errors.New("ksefsim: invoice semantic verification failed")
)

// XAdESError reports why an AuthTokenRequest was rejected, with the KSeF
// exception code the API answers with.
type XAdESError struct {
	Code int    // KSeF exception code, e.g. 9105
	Msg  string // short reason, never key material
	Err  error  // one of the sentinels above
}

func (e *XAdESError) Error() string { return fmt.Sprintf("%v: %s", e.Err, e.Msg) }

// Unwrap returns the sentinel.
func (e *XAdESError) Unwrap() error { return e.Err }

func xadesErr(code int, sentinel error, format string, args ...any) *XAdESError {
	return &XAdESError{Code: code, Err: sentinel, Msg: fmt.Sprintf(format, args...)}
}

// apiError is an error the API reports to the caller: an HTTP status plus one
// KSeF exception entry.
type apiError struct {
	status  int
	code    int
	desc    string
	details []string
	reason  string // reasonCode of a 403; default missing-permissions
}

func (e *apiError) Error() string { return fmt.Sprintf("ksefsim: %d %d %s", e.status, e.code, e.desc) }

// descriptions are the official exception descriptions (OpenAPI 400 tables).
var descriptions = map[int]string{
	9101:  "Nieprawidłowy dokument.",
	9102:  "Brak podpisu.",
	9103:  "Przekroczona liczba dozwolonych podpisów.",
	9105:  "Nieprawidłowy podpis.",
	21001: "Nieczytelna treść.",
	21111: "Nieprawidłowe wyzwanie autoryzacyjne.",
	21115: "Nieprawidłowy certyfikat.",
	21117: "Nieprawidłowy identyfikator podmiotu dla wskazanego typu kontekstu.",
	21155: "Przekroczono dozwoloną liczbę faktur w sesji.",
	21157: "Nieprawidłowy rozmiar części pakietu.",
	21161: "Przekroczono dozwoloną liczbę części pakietu.",
	21166: "Korekta techniczna niedostępna.",
	21167: "Status faktury nie pozwala na korektę techniczną.",
	21173: "Brak sesji o wskazanym numerze referencyjnym.",
	21180: "Status sesji nie pozwala na wykonanie operacji.",
	21205: "Pakiet nie może być pusty.",
	21217: "Nieprawidłowe kodowanie znaków.",
	21301: "Brak autoryzacji.",
	21304: "Brak uwierzytelnienia.",
	21401: "Dokument nie jest zgodny ze schemą (xsd).",
	21402: "Nieprawidłowy rozmiar pliku.",
	21403: "Nieprawidłowy skrót pliku.",
	21405: "Błąd walidacji danych wejściowych.",
	21470: "Przesłany identyfikator klucza jest nieznany lub wskazuje na wycofany klucz.",
}

func badRequest(code int, details ...string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: code, desc: descriptions[code], details: details}
}
