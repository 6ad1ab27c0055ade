package soak

import "errors"

// ErrDemo is returned by CheckDemo when demo.json breaks a promise of the demo.
var ErrDemo = errors.New("soak: demo check failed")

// ErrInvariant is returned when a soak run breaks one of its invariants.
var ErrInvariant = errors.New("soak: invariant broken")

// ErrSecretLeak is returned by ScanSecrets when a log or error text holds key
// material or a token.
var ErrSecretLeak = errors.New("soak: secret found in logs")
