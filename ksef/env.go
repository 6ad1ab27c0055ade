package ksef

import (
	"crypto/sha256"
	"fmt"
	"strings"
)

// Environment is a KSeF environment. The zero value is not valid.
type Environment int

// KSeF environments.
const (
	EnvTest Environment = iota + 1 // TE, shared test data, self-signed certificates accepted
	EnvDemo                        // pre-production
	EnvProd                        // production
)

// ParseEnvironment accepts "test"/"te", "demo", "prod"/"prd"/"production", in any case.
func ParseEnvironment(s string) (Environment, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "test", "te":
		return EnvTest, nil
	case "demo":
		return EnvDemo, nil
	case "prod", "prd", "production":
		return EnvProd, nil
	}
	return 0, fmt.Errorf("%w %q (want test, demo or prod)", ErrEnvironment, s)
}

// String returns "test", "demo" or "prod".
func (e Environment) String() string {
	switch e {
	case EnvTest:
		return "test"
	case EnvDemo:
		return "demo"
	case EnvProd:
		return "prod"
	}
	return fmt.Sprintf("Environment(%d)", int(e))
}

// Valid reports whether e is one of the three environments.
func (e Environment) Valid() bool { return e >= EnvTest && e <= EnvProd }

// APIBase returns the KSeF API v2 base URL, e.g. "https://api-test.ksef.mf.gov.pl/v2".
// It returns "" for an invalid environment.
func (e Environment) APIBase() string {
	switch e {
	case EnvTest:
		return "https://api-test.ksef.mf.gov.pl/v2"
	case EnvDemo:
		return "https://api-demo.ksef.mf.gov.pl/v2"
	case EnvProd:
		return "https://api.ksef.mf.gov.pl/v2"
	}
	return ""
}

// QRHost returns the host name (no scheme) of the QR verification links,
// e.g. "qr-test.ksef.mf.gov.pl". It returns "" for an invalid environment.
func (e Environment) QRHost() string {
	switch e {
	case EnvTest:
		return "qr-test.ksef.mf.gov.pl"
	case EnvDemo:
		return "qr-demo.ksef.mf.gov.pl"
	case EnvProd:
		return "qr.ksef.mf.gov.pl"
	}
	return ""
}

// MarshalText implements encoding.TextMarshaler (config files, JSON).
func (e Environment) MarshalText() ([]byte, error) {
	if !e.Valid() {
		return nil, fmt.Errorf("%w: %d", ErrEnvironment, int(e))
	}
	return []byte(e.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (e *Environment) UnmarshalText(b []byte) error {
	v, err := ParseEnvironment(string(b))
	if err != nil {
		return err
	}
	*e = v
	return nil
}

// environmentForHost maps a QR host back to its environment.
func environmentForHost(host string) (Environment, bool) {
	for _, e := range []Environment{EnvTest, EnvDemo, EnvProd} {
		if e.QRHost() == host {
			return e, true
		}
	}
	return 0, false
}

// InvoiceHash is the SHA-256 of the exact invoice file bytes, the value KSeF
// calls invoiceHash and that both QR codes carry.
func InvoiceHash(xml []byte) [32]byte { return sha256.Sum256(xml) }
