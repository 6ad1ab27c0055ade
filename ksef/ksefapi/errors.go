package ksefapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// KSeF error codes the client classifies. They come from the "errors" list of a
// problem+json body or the exceptionDetailList of the legacy ExceptionResponse.
const (
	CodeSessionFull                    = 21155 // the session's invoice limit is reached
	CodeTechnicalCorrectionUnavailable = 21166 // the original was already technically corrected
	CodeTechnicalCorrectionNotAllowed  = 21167 // the original was processed correctly
	CodeSessionStatusForbids           = 21180 // the session is closed, being processed or cancelled
	CodeUnknownPublicKey               = 21470 // publicKeyId unknown or retired (key rotation)
	CodeEnrollmentUnknown              = 25005 // no enrollment has this reference (KSeF keeps one 30 days)
)

var (
	// ErrInvalidConfig is returned by New when the Config cannot work.
	ErrInvalidConfig = errors.New("ksefapi: invalid config")
	// ErrInvalidInput is returned when an argument is rejected before any request is sent.
	ErrInvalidInput = errors.New("ksefapi: invalid input")
	// ErrSessionFull matches an APIError with code 21155: open a new session and send there.
	ErrSessionFull = errors.New("ksefapi: session invoice limit reached")
	// ErrTechnicalCorrectionUnavailable matches code 21166: the original already has an accepted technical correction.
	ErrTechnicalCorrectionUnavailable = errors.New("ksefapi: technical correction already accepted")
	// ErrTechnicalCorrectionNotAllowed matches code 21167: the original was processed correctly, nothing to correct.
	ErrTechnicalCorrectionNotAllowed = errors.New("ksefapi: technical correction not allowed for this invoice")
	// ErrUnknownPublicKey matches code 21470: the MF public key used is unknown or retired.
	ErrUnknownPublicKey = errors.New("ksefapi: public key unknown or retired")
	// ErrUnauthorized matches an APIError with HTTP status 401.
	ErrUnauthorized = errors.New("ksefapi: unauthorized")
	// ErrNoPublicKey is returned when no MF certificate with the wanted usage is valid now.
	ErrNoPublicKey = errors.New("ksefapi: no valid public key for usage")
	// ErrUPOHashMismatch is returned when a downloaded UPO does not match its x-ms-meta-hash header.
	ErrUPOHashMismatch = errors.New("ksefapi: UPO hash mismatch")
	// ErrSessionClosed is returned when sending into a session this client already closed.
	ErrSessionClosed = errors.New("ksefapi: session closed")
	// ErrNoAvailabilityURL is returned by Availability when no feed URL is configured.
	ErrNoAvailabilityURL = errors.New("ksefapi: availability feed URL not configured")
	// ErrSignature is returned by VerifyXAdES when a signature or digest does not verify.
	ErrSignature = errors.New("ksefapi: XAdES signature invalid")
)

// APIError is a failed KSeF API call: a non-2xx response, or a transport failure
// (Status 0, Err set). Use Retryable to decide whether to try again later.
type APIError struct {
	Op          string        // what the client was doing, e.g. "send invoice"
	Status      int           // HTTP status; 0 when no response arrived
	Codes       []int         // KSeF codes (21155, 21470, …), in body order
	Description string        // the first error's description, or the problem title/detail
	Details     []string      // all detail lines
	RetryAfter  time.Duration // from Retry-After (429/503); 0 when absent
	Extensions  map[string]string
	TraceID     string
	Err         error // transport error, or a body parse error for non-JSON answers
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("ksefapi: ")
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	if e.Status == 0 {
		fmt.Fprintf(&b, "transport: %v", e.Err)
		return b.String()
	}
	fmt.Fprintf(&b, "HTTP %d", e.Status)
	for _, c := range e.Codes {
		fmt.Fprintf(&b, " [%d]", c)
	}
	if e.Description != "" {
		b.WriteString(" ")
		b.WriteString(e.Description)
	}
	if len(e.Details) > 0 {
		b.WriteString(": ")
		b.WriteString(strings.Join(e.Details, "; "))
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	return b.String()
}

// Unwrap returns the transport or parse error, if any.
func (e *APIError) Unwrap() error { return e.Err }

// HasCode reports whether the KSeF code is among e.Codes.
func (e *APIError) HasCode(code int) bool {
	for _, c := range e.Codes {
		if c == code {
			return true
		}
	}
	return false
}

// Is maps KSeF codes and statuses onto the package sentinels, so callers can
// write errors.Is(err, ksefapi.ErrSessionFull).
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrSessionFull:
		return e.HasCode(CodeSessionFull)
	case ErrTechnicalCorrectionUnavailable:
		return e.HasCode(CodeTechnicalCorrectionUnavailable)
	case ErrTechnicalCorrectionNotAllowed:
		return e.HasCode(CodeTechnicalCorrectionNotAllowed)
	case ErrUnknownPublicKey:
		return e.HasCode(CodeUnknownPublicKey)
	case ErrUnauthorized:
		return e.Status == 401
	}
	return false
}

// Retryable reports whether the same request may succeed later without change:
// rate limiting, server errors (including HTML error pages), timeouts and network
// failures. A cancelled context is not retryable; 4xx validation errors are not.
func (e *APIError) Retryable() bool {
	if e.Status == 0 {
		return e.Err != nil && !errors.Is(e.Err, context.Canceled)
	}
	switch {
	case e.Status == 408, e.Status == 429:
		return true
	case e.Status >= 500 && e.Status != 501:
		return true
	}
	return false
}

// Retryable reports whether err (anywhere in its chain) is a retryable failure.
func Retryable(err error) bool {
	var r interface{ Retryable() bool }
	if errors.As(err, &r) {
		return r.Retryable()
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// StatusError is a failed asynchronous operation reported in a status body (auth
// status, session status, invoice status): the call succeeded, the operation did not.
type StatusError struct {
	Op          string // "authentication", "session", "invoice"
	Code        int
	Description string
	Details     []string
	Extensions  map[string]string
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("ksefapi: %s status %d %s", e.Op, e.Code, e.Description)
	if len(e.Details) > 0 {
		s += ": " + strings.Join(e.Details, "; ")
	}
	return s
}

// Retryable reports whether KSeF says to try again: 500 unknown error and 550
// cancelled by the system.
func (e *StatusError) Retryable() bool { return e.Code == 500 || e.Code == 550 }

// MaxRetryAfter caps the delay a Retry-After header can impose. KSeF's
// windows are at most an hour long; a larger or overflowing value from a
// broken proxy must not park invoices past their deadline, and if KSeF
// still refuses after the cap it answers 429 again.
const MaxRetryAfter = time.Hour

// parseRetryAfter reads a Retry-After value: delay-seconds or an HTTP-date,
// clamped to [0, MaxRetryAfter].
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	// On ErrRange ParseUint returns the maximum, which the cap catches.
	if n, err := strconv.ParseUint(v, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		return time.Duration(min(n, uint64(MaxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d.Round(time.Second), MaxRetryAfter)
		}
	}
	return 0
}
