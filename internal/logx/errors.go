package logx

import "errors"

// ErrLevel is returned by ParseLevel for an unknown level name.
var ErrLevel = errors.New("logx: unknown log level")
