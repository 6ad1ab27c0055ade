package svcunit

import "errors"

// Sentinels.
var (
	// ErrParam is wrapped by a ParamError for a Params value that cannot go
	// into a unit file.
	ErrParam = errors.New("svcunit: invalid parameter")

	// ErrTemplate is returned when a template does not follow the syntax or uses
	// a key or function the renderer does not provide.
	ErrTemplate = errors.New("svcunit: bad template")
)

// ParamError names the Params field that was refused and why.
type ParamError struct {
	Field  string // e.g. "Path"
	Value  string
	Reason string
}

func (e *ParamError) Error() string {
	return "svcunit: " + e.Field + " " + quote(e.Value) + ": " + e.Reason
}

// Unwrap returns ErrParam.
func (e *ParamError) Unwrap() error { return ErrParam }
