//go:build !linux && !windows

package main

import (
	"errors"
	"os"
	"syscall"
)

// shutdownSignals end the foreground service and every long verb.
var shutdownSignals = []os.Signal{os.Interrupt, syscall.SIGTERM}

// diskSpace is not implemented here; doctor reports the check as a warning.
func diskSpace(path string) (free, total uint64, err error) {
	return 0, 0, errors.ErrUnsupported
}

// matchOwner does nothing here: file ownership is a Unix concern.
func matchOwner(ref string, paths ...string) error { return nil }
