package outbox

import (
	"errors"
	"fmt"
)

// Sentinels returned (usually wrapped) by the Store. Compare with errors.Is.
var (
	// ErrLocked is returned by Open when another process or Store holds the file lock
	// for longer than Options.Timeout.
	ErrLocked = errors.New("outbox: store is locked by another instance")

	// ErrSchemaTooNew is returned by Open when the file was written by a newer program
	// whose schema this one does not know; nothing is changed.
	ErrSchemaTooNew = errors.New("outbox: store schema is newer than this program")

	// ErrClosed is returned by every call on a Store after Close.
	ErrClosed = errors.New("outbox: store is closed")

	// ErrNotFound is returned when no invoice or print job has the given key.
	ErrNotFound = errors.New("outbox: not found")

	// ErrInvalidID is returned when an id is not one the Store hands out.
	ErrInvalidID = errors.New("outbox: invalid id")

	// ErrInvalidRequest is the sentinel inside every *RequestError.
	ErrInvalidRequest = errors.New("outbox: invalid request")

	// ErrInvalidSeries is the sentinel inside every *SeriesError.
	ErrInvalidSeries = errors.New("outbox: invalid numbering series")

	// ErrIdempotencyConflict is returned by Issue when a sale id is replayed with a
	// request body (fingerprint) other than the one first stored under it.
	ErrIdempotencyConflict = errors.New("outbox: sale id reused with a different request")

	// ErrDuplicateNumber is returned by Issue when the rendered number already exists,
	// e.g. after the series format or reset policy was changed to one that collides.
	// KSeF rejects a repeated number for ten years, so the store refuses it first.
	ErrDuplicateNumber = errors.New("outbox: invoice number already issued")

	// ErrIllegalTransition is the sentinel inside every *TransitionError.
	ErrIllegalTransition = errors.New("outbox: illegal state transition")

	// ErrStoreFull is returned by Issue when the store has reached its cap minus the
	// headroom and the per-invoice drain reserve kept for the existing queue, and by
	// any write when the cap or the disk itself is full. Stored invoices are never
	// dropped to make room.
	ErrStoreFull = errors.New("outbox: store is full")

	// ErrIssueNow is returned by RequestCorrection when the correction need
	// not wait: its original is accepted, or its sale id is already issued.
	ErrIssueNow = errors.New("outbox: the correction can be issued now")

	// ErrCorrupt is returned by Check when an invariant of the store does not hold.
	ErrCorrupt = errors.New("outbox: store is inconsistent")
)

// RequestError reports a field of a request that cannot be accepted. Nothing was
// written.
type RequestError struct {
	Field  string // the offending field, e.g. "SaleID" or "Built.XML"
	Reason string // why, in a few words
}

func (e *RequestError) Error() string {
	return fmt.Sprintf("outbox: invalid %s: %s", e.Field, e.Reason)
}

// Unwrap returns ErrInvalidRequest.
func (e *RequestError) Unwrap() error { return ErrInvalidRequest }

// SeriesError reports a numbering series that cannot be used.
type SeriesError struct {
	Format string // the format as configured
	Reason string
}

func (e *SeriesError) Error() string {
	return fmt.Sprintf("outbox: invalid numbering format %q: %s", e.Format, e.Reason)
}

// Unwrap returns ErrInvalidSeries.
func (e *SeriesError) Unwrap() error { return ErrInvalidSeries }

// TransitionError reports a state change that the lifecycle does not allow. The
// record is left unchanged.
type TransitionError struct {
	ID      string // invoice id, or print job id when Machine is "print"
	Machine string // "upload" or "print"
	From    string
	To      string
	Reason  string // optional detail, e.g. "already technically corrected"
}

func (e *TransitionError) Error() string {
	s := fmt.Sprintf("outbox: %s %s: %s -> %s not allowed", e.Machine, e.ID, e.From, e.To)
	if e.Reason != "" {
		s += " (" + e.Reason + ")"
	}
	return s
}

// Unwrap returns ErrIllegalTransition.
func (e *TransitionError) Unwrap() error { return ErrIllegalTransition }
