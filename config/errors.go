package config

import (
	"errors"
	"strings"
)

// Sentinels, found with errors.Is in a [*FieldError], an [Errors] list or a
// [*SecretError].
var (
	// ErrSyntax is returned when the file is not valid TOML or a value has the
	// wrong TOML type for its key.
	ErrSyntax = errors.New("config: invalid TOML")

	// ErrUnknownKey is the Err of a FieldError for a key the program does not know.
	ErrUnknownKey = errors.New("config: unknown key")

	// ErrSecretInFile is the Err of a FieldError for a secret written into the
	// configuration file instead of a file or an environment variable.
	ErrSecretInFile = errors.New("config: secret in configuration file")

	// ErrMissing is the Err of a FieldError for a required key that is not set.
	ErrMissing = errors.New("config: required key missing")

	// ErrInvalid is the Err of a FieldError for a value outside what is allowed.
	ErrInvalid = errors.New("config: invalid value")

	// ErrUnknownSecret is returned by Config.Secret for a name it does not know.
	ErrUnknownSecret = errors.New("config: unknown secret name")

	// ErrNoSecret is returned by Config.Secret when neither the environment
	// variable nor a secret file provides the secret.
	ErrNoSecret = errors.New("config: secret not configured")

	// ErrInsecureSecretFile is returned by Config.Secret when a secret file is not
	// a regular file or can be read by its group or by other users.
	ErrInsecureSecretFile = errors.New("config: secret file is not private")

	// ErrSecretTooLarge is returned by Config.Secret for a secret file over 64 KiB,
	// which is a wrong path rather than a secret.
	ErrSecretTooLarge = errors.New("config: secret file larger than 64 KiB")

	// ErrEmptySecret is returned by Config.Secret when the secret is empty.
	ErrEmptySecret = errors.New("config: secret is empty")
)

// FieldError describes one problem with one key of the configuration.
type FieldError struct {
	Key     string // dotted key, e.g. "printer.baud"
	Value   string // the offending value as written (quoted for strings); "" when missing
	Allowed string // what is allowed, phrased to follow "is not", e.g. "one of 58, 80"
	Err     error  // ErrInvalid, ErrMissing, ErrUnknownKey or ErrSecretInFile
}

// Error says which key is wrong, what it holds and what it may hold.
func (e *FieldError) Error() string {
	switch {
	case errors.Is(e.Err, ErrUnknownKey), errors.Is(e.Err, ErrSecretInFile):
		return e.Key + ": " + e.Allowed
	case errors.Is(e.Err, ErrMissing):
		return e.Key + ": missing; it must be " + e.Allowed
	}
	return e.Key + ": " + e.Value + " is not " + e.Allowed
}

// Unwrap returns the sentinel that classifies the problem.
func (e *FieldError) Unwrap() error { return e.Err }

// Errors is every problem found in one configuration, in the order of the keys.
type Errors []*FieldError

// Error lists the problems, one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.Is and errors.As look at each problem.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// SecretError is returned by Config.Secret. It names the secret and where it was
// looked for; it never carries the secret's content.
type SecretError struct {
	Name   Secret // which secret
	Source string // the file path or environment variable consulted, if any
	Err    error  // a sentinel, or the underlying I/O error
}

// Error describes the failure without the secret's value.
func (e *SecretError) Error() string {
	s := "config: secret " + string(e.Name)
	if e.Source != "" {
		s += " (" + e.Source + ")"
	}
	return s + ": " + strings.TrimPrefix(e.Err.Error(), "config: ")
}

// Unwrap returns the cause.
func (e *SecretError) Unwrap() error { return e.Err }
