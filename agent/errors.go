package agent

import (
	"errors"
	"fmt"

	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/outbox"
)

// Sentinels returned (wrapped) by the Agent. Compare with errors.Is; the till
// maps each to a stable problem+json code.
var (
	// ErrInvalidOptions is wrapped by every *OptionError New returns.
	ErrInvalidOptions = errors.New("agent: invalid options")

	// ErrInvalidRequest is wrapped by every rejected request: a *RequestError,
	// or the ksef.ValidationErrors of a sale (errors.As finds each
	// *ksef.ValidationError with its JSON field path). Nothing was stored.
	ErrInvalidRequest = errors.New("agent: invalid request")

	// ErrIdempotencyConflict is returned when an idempotency key is replayed
	// with a request body other than the one first stored under it.
	ErrIdempotencyConflict = errors.New("agent: idempotency key reused with a different request")

	// ErrStoreFull is returned when the store has no room for new invoices;
	// stored invoices keep moving and are never dropped to make room.
	ErrStoreFull = errors.New("agent: store is full")

	// ErrNotFound is returned when no invoice has the given id.
	ErrNotFound = errors.New("agent: invoice not found")

	// ErrIllegalState is returned when the invoice's state does not allow the
	// operation: a correction of a correction, a technical correction of an
	// invoice that was not rejected, a second technical correction.
	ErrIllegalState = errors.New("agent: operation not allowed in the invoice's state")

	// ErrInvalidMode is returned by SetMode for an unknown override.
	ErrInvalidMode = errors.New("agent: unknown mode override")

	// ErrNotRunning is returned by Flush when Run is not running.
	ErrNotRunning = errors.New("agent: not running")

	// ErrAlreadyRunning is returned by a second call of Run.
	ErrAlreadyRunning = errors.New("agent: already running")

	// ErrOfflineCertificateInvalid is returned by Issue and Correct for a
	// sale that would be issued offline (offline24, offline, emergency)
	// while the KSeF Offline certificate cannot sign a KOD II that verifies:
	// expired, or revoked or suspended in KSeF. Nothing was
	// stored; the till may hand over a receipt instead. Online issuing and
	// total failure (no QR codes) are not affected.
	ErrOfflineCertificateInvalid = errors.New("agent: the KSeF Offline certificate cannot sign offline invoices")

	// ErrNoUPO is returned by InvoiceUPO for an invoice without a UPO yet.
	ErrNoUPO = errors.New("agent: no UPO for this invoice yet")
)

// OptionError reports an Options or Deps field New cannot work with.
type OptionError struct {
	Field  string
	Reason string
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("agent: invalid option %s: %s", e.Field, e.Reason)
}

// Unwrap returns ErrInvalidOptions.
func (e *OptionError) Unwrap() error { return ErrInvalidOptions }

// RequestError reports a request field that cannot be accepted (outside the
// sale itself, whose problems are ksef.ValidationErrors). Nothing was stored.
type RequestError struct {
	Field  string // e.g. "key", "lines", "type"
	Reason string
}

func (e *RequestError) Error() string {
	return fmt.Sprintf("agent: invalid request: %s: %s", e.Field, e.Reason)
}

// Unwrap returns ErrInvalidRequest.
func (e *RequestError) Unwrap() error { return ErrInvalidRequest }

// OfflineCertError is ErrOfflineCertificateInvalid with its reason: the
// certificate's serial and why it cannot sign (expired on …, revoked, …).
type OfflineCertError struct {
	Reason string
}

func (e *OfflineCertError) Error() string {
	return ErrOfflineCertificateInvalid.Error() + ": " + e.Reason
}

// Unwrap returns ErrOfflineCertificateInvalid.
func (e *OfflineCertError) Unwrap() error { return ErrOfflineCertificateInvalid }

// storeErr wraps an outbox error with the agent sentinel the till maps, keeping
// the outbox error in the chain for detail.
func storeErr(op string, err error) error {
	var sentinel error
	switch {
	case errors.Is(err, outbox.ErrNotFound), errors.Is(err, outbox.ErrInvalidID):
		sentinel = ErrNotFound
	case errors.Is(err, outbox.ErrIdempotencyConflict):
		sentinel = ErrIdempotencyConflict
	case errors.Is(err, outbox.ErrStoreFull):
		sentinel = ErrStoreFull
	case errors.Is(err, outbox.ErrIllegalTransition):
		sentinel = ErrIllegalState
	case errors.Is(err, outbox.ErrInvalidRequest), errors.Is(err, ksef.ErrInvoiceTooLarge):
		sentinel = ErrInvalidRequest
	default:
		return fmt.Errorf("agent: %s: %w", op, err)
	}
	return fmt.Errorf("agent: %s: %w: %w", op, sentinel, err)
}
