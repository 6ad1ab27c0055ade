package till

import (
	"errors"
	"fmt"
)

var (
	// ErrTokenRequired is returned by New when the listen address is not a
	// loopback address and no bearer token is configured.
	ErrTokenRequired = errors.New("till: a bearer token is required to listen on a non-loopback address")

	// ErrTokenInvalid is returned by New for a token that is not 16-4096
	// printable ASCII characters without spaces.
	ErrTokenInvalid = errors.New("till: the bearer token must be 16-4096 printable ASCII characters without spaces")

	// ErrListen is returned by New for a listen address that is not host:port.
	ErrListen = errors.New("till: invalid listen address")

	// ErrNotFound is returned by a Core for an unknown invoice id.
	ErrNotFound = errors.New("till: invoice not found")

	// ErrKeyConflict is returned by a Core when an idempotency key is reused
	// with a different request (compared decoded, not byte for byte).
	ErrKeyConflict = errors.New("till: idempotency key reused with a different request")

	// ErrNotCorrectable is returned by a Core when an invoice cannot be
	// corrected (a correction itself, or one that was rejected).
	ErrNotCorrectable = errors.New("till: invoice cannot be corrected")

	// ErrInvalidMode is returned by a Core (and the handler) for an unknown mode override.
	ErrInvalidMode = errors.New("till: invalid mode override")

	// ErrUnavailable is returned by a Core that cannot take the request now
	// (closing, or busy); the client may retry later.
	ErrUnavailable = errors.New("till: temporarily unavailable")

	// ErrStoreFull is returned by a Core whose invoice store refuses new
	// sales (its cap or the disk is reached); everything stored is kept and
	// still uploaded, and sales are taken again as the queue drains.
	ErrStoreFull = errors.New("till: invoice store full")

	// ErrOfflineCertificateInvalid is returned by a Core that refuses a sale
	// it would issue offline because its KSeF Offline certificate is
	// expired, revoked or suspended; nothing was stored. Online sales and
	// total failure are still issued.
	ErrOfflineCertificateInvalid = errors.New("till: the KSeF Offline certificate cannot sign offline invoices")

	// ErrNoUPO is returned by a Core for an invoice that has no UPO yet (not
	// accepted by KSeF, or its UPO not downloaded yet).
	ErrNoUPO = errors.New("till: no UPO for this invoice yet")
)

// Problem is an RFC 9457 problem detail, the body of every error response
// (application/problem+json). Code is stable and machine-readable; Detail is
// for people and may change.
type Problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail"`
	Code   string       `json:"code"`
	Errors []FieldError `json:"errors,omitempty"`
	// Size and Limit are set for invoice_too_large: the bytes of the
	// invoice's XML and the most KSeF accepts.
	Size  int `json:"size,omitempty"`
	Limit int `json:"limit,omitempty"`

	err error // the cause, for errors.Is; never serialised
}

// FieldError names one problem with one field of the request body, by its
// JSON path ("lines[2].vat_rate").
type FieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
	Code   string `json:"code"`
}

func (p *Problem) Error() string { return fmt.Sprintf("till: %s: %s", p.Code, p.Detail) }

// Unwrap returns the cause, if any.
func (p *Problem) Unwrap() error { return p.err }

// Retryable reports whether the same request may succeed later.
func (p *Problem) Retryable() bool { return p.Status == 503 || p.Status == 429 }
