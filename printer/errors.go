package printer

import (
	"errors"
	"fmt"
	"time"

	"github.com/posagent/posagent/escpos"
)

// Sentinels. Printer faults arrive wrapped in a *StatusError, timeouts in a
// *TimeoutError and lost links in a *DisconnectedError; test with errors.Is.
var (
	// ErrPaperOut is matched by a StatusError whose printer has no paper.
	ErrPaperOut = errors.New("printer: paper out")
	// ErrCoverOpen is matched by a StatusError whose printer cover is open.
	ErrCoverOpen = errors.New("printer: cover open")
	// ErrOffline is matched by a StatusError whose printer reports offline.
	ErrOffline = errors.New("printer: offline")
	// ErrPrinterFault is matched by a StatusError reporting a mechanical,
	// cutter, head-temperature or unrecoverable error.
	ErrPrinterFault = errors.New("printer: printer error")
	// ErrTimeout is matched by every *TimeoutError.
	ErrTimeout = errors.New("printer: timeout")
	// ErrDisconnected is matched by every *DisconnectedError.
	ErrDisconnected = errors.New("printer: disconnected")
	// ErrNoReplies is returned when a status query is made on a port that
	// cannot answer (a file, a one-way cable).
	ErrNoReplies = errors.New("printer: port returns no replies")
	// ErrCancelled is the final error of a job cancelled with Worker.Cancel.
	ErrCancelled = errors.New("printer: job cancelled")
	// ErrStopped is returned by Submit and Query once the worker has stopped.
	ErrStopped = errors.New("printer: worker stopped")
	// ErrAlreadyRunning is returned by a second call to Worker.Run.
	ErrAlreadyRunning = errors.New("printer: worker already running")
	// ErrInvalidJob is returned by Submit for a job without ID or data.
	ErrInvalidJob = errors.New("printer: invalid job")
	// ErrTail is matched by every *TailError.
	ErrTail = errors.New("printer: job tail failed")
	// ErrJournal is matched by every *JournalError.
	ErrJournal = errors.New("printer: journal")
	// ErrInvalidOptions is wrapped by *OptionError.
	ErrInvalidOptions = errors.New("printer: invalid options")
	// ErrNotSupported is returned when a port lacks a capability a mode needs,
	// e.g. HandshakeDTRDSR on a port without modem lines.
	ErrNotSupported = errors.New("printer: not supported by port")
)

// StatusError reports a printer that refused or failed a job because of its
// state. The embedded Status carries the flags (PaperOut, CoverOpen, Offline…).
type StatusError struct {
	escpos.Status
}

func (e *StatusError) Error() string { return "printer: not ready: " + e.Status.String() }

// Unwrap returns the sentinels matching the set flags.
func (e *StatusError) Unwrap() []error {
	var errs []error
	if e.PaperOut {
		errs = append(errs, ErrPaperOut)
	}
	if e.CoverOpen {
		errs = append(errs, ErrCoverOpen)
	}
	if e.Offline {
		errs = append(errs, ErrOffline)
	}
	if e.ErrorOccurred || e.MechanicalError || e.CutterError || e.Unrecoverable || e.AutoRecoverable {
		errs = append(errs, ErrPrinterFault)
	}
	return errs
}

// Retryable reports whether the fault can clear without a technician: paper,
// cover, offline and recoverable errors can; an unrecoverable error cannot.
func (e *StatusError) Retryable() bool { return !e.Unrecoverable }

// TimeoutError reports an operation the printer did not complete in time:
// "status" (no reply to DLE EOT), "confirm" (no reply to GS r 1), "flow" (held
// by XOFF or DSR too long) or "write" (a hung write).
type TimeoutError struct {
	Op    string
	After time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("printer: %s: timeout after %v", e.Op, e.After)
}

// Unwrap returns ErrTimeout.
func (e *TimeoutError) Unwrap() error { return ErrTimeout }

// Retryable is always true: a slow or paused printer may answer later.
func (e *TimeoutError) Retryable() bool { return true }

// DisconnectedError reports a port that failed or went away (unplug, TCP reset).
type DisconnectedError struct {
	Op  string
	Err error
}

func (e *DisconnectedError) Error() string {
	return fmt.Sprintf("printer: %s: disconnected: %v", e.Op, e.Err)
}

// Unwrap returns ErrDisconnected and the cause.
func (e *DisconnectedError) Unwrap() []error { return []error{ErrDisconnected, e.Err} }

// Retryable is always true: the worker reopens the port.
func (e *DisconnectedError) Retryable() bool { return true }

// TailError is the final error of a job whose Job.Tail failed (or
// panicked). The job's Data was printed; nothing after it was sent.
type TailError struct {
	Err error
}

func (e *TailError) Error() string { return "printer: job tail: " + e.Err.Error() }

// Unwrap returns ErrTail and the tail's error.
func (e *TailError) Unwrap() []error { return []error{ErrTail, e.Err} }

// Retryable is always false: the tail is computed once per job, so another
// attempt would fail the same way.
func (e *TailError) Retryable() bool { return false }

// JournalError reports that Options.Journal could not record a job's start,
// so the worker sent nothing of it.
type JournalError struct {
	Err error
}

func (e *JournalError) Error() string { return "printer: journal: " + e.Err.Error() }

// Unwrap returns ErrJournal and the journal's error.
func (e *JournalError) Unwrap() []error { return []error{ErrJournal, e.Err} }

// Retryable is always true: a store that is busy or briefly full may record
// the start on the next attempt.
func (e *JournalError) Retryable() bool { return true }

// OptionError reports an invalid Options or SerialConfig field.
type OptionError struct {
	Field string
	Value any
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("printer: invalid option %s: %v", e.Field, e.Value)
}

// Unwrap returns ErrInvalidOptions.
func (e *OptionError) Unwrap() error { return ErrInvalidOptions }

// Retryable reports whether err says that trying again may succeed. Errors
// without a Retryable method are not retryable, except timeouts and
// disconnections recognised through errors.Is.
func Retryable(err error) bool {
	var r interface{ Retryable() bool }
	if errors.As(err, &r) {
		return r.Retryable()
	}
	return errors.Is(err, ErrTimeout) || errors.Is(err, ErrDisconnected)
}
