package receipt

import (
	"errors"
	"fmt"
)

// ErrInvalidDoc is wrapped by FieldError when a Doc field is missing or malformed.
var ErrInvalidDoc = errors.New("receipt: invalid document")

// ErrNativeQRUnsupported is returned when QRNative is asked of a profile without
// native QR support.
var ErrNativeQRUnsupported = errors.New("receipt: printer profile has no native QR")

// FieldError names the Doc field that failed validation.
type FieldError struct {
	Field  string // e.g. "Lines[2].Value"
	Reason string
	Err    error // ErrInvalidDoc
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("receipt: %s: %s", e.Field, e.Reason)
}

func (e *FieldError) Unwrap() error { return e.Err }
