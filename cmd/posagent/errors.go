package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/posagent/posagent/config"
)

// Exit codes. They follow the LSB init-script convention where it has one
// (3 = not running, 4 = unknown/not installed) and sysexits for configuration.
const (
	exitOK           = 0
	exitFailure      = 1
	exitUsage        = 2
	exitCheckFailed  = 3  // doctor found a failure, or the service is stopped
	exitNotInstalled = 4  // status: no unit file
	exitConfig       = 78 // EX_CONFIG: the configuration cannot be used
)

var (
	// errSilent marks an error whose explanation was already printed.
	errSilent = errors.New("posagent: failed")

	// errNotRunning is returned when a verb needs the running agent.
	errNotRunning = errors.New("posagent: the agent is not running")

	// errStoreBusy is returned when the service holds the store's lock.
	errStoreBusy = errors.New("posagent: the store is in use by the running service")

	// errStopTimeout is returned by program.Stop when the agent did not
	// finish in time.
	errStopTimeout = errors.New("posagent: stop timed out; the store may need recovery on the next start")
)

// usageError is a command line mistake; it exits with exitUsage.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usagef formats a usageError; %w keeps the cause (a flag value's parse error).
func usagef(format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...)}
}

// exitError carries a specific exit code with its cause.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// configError is a configuration that cannot be loaded or used.
type configError struct {
	path string
	err  error
}

func (e *configError) Error() string {
	return fmt.Sprintf("configuration %s:\n%v", e.path, e.err)
}
func (e *configError) Unwrap() error { return e.err }

// exitCode maps an error to the process exit status.
func exitCode(err error) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var ue *usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	var ce *configError
	var fe config.Errors
	if errors.As(err, &ce) || errors.As(err, &fe) || errors.Is(err, config.ErrSyntax) {
		return exitConfig
	}
	return exitFailure
}

// reportError prints the error a verb returned, once, on standard error,
// prefixed "posagent: " — the prefix this package's own sentinels already
// carry is not doubled.
func (m *Main) reportError(err error) {
	if err == nil || errors.Is(err, flag.ErrHelp) || errors.Is(err, errSilent) {
		return
	}
	fmt.Fprintln(m.Stderr, "posagent:", strings.TrimPrefix(err.Error(), "posagent: "))
}
