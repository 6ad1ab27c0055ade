package simclock

import "errors"

var (
	// ErrSyntax: the text is not one of the accepted layouts.
	ErrSyntax = errors.New("simclock: not a date")
	// ErrRange: the date is well formed but not a usable Warsaw instant.
	ErrRange = errors.New("simclock: date out of range")
)
