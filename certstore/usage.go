package certstore

import (
	"crypto/x509"
	"fmt"
	"strings"
)

// Usage is the KSeF certificate type: what a certificate may sign.
type Usage int

const (
	// Offline certificates (keyUsage Non-Repudiation) sign KOD II links.
	Offline Usage = iota + 1
	// Authentication certificates (keyUsage Digital Signature) sign XAdES
	// authentication requests.
	Authentication
)

// Usages lists every valid usage in a stable order.
var Usages = []Usage{Offline, Authentication}

// String returns "offline" or "authentication".
func (u Usage) String() string {
	switch u {
	case Offline:
		return "offline"
	case Authentication:
		return "authentication"
	}
	return fmt.Sprintf("usage(%d)", int(u))
}

// KSeFType returns the certificateType name of the KSeF API: "Offline" or
// "Authentication".
func (u Usage) KSeFType() string {
	switch u {
	case Offline:
		return "Offline"
	case Authentication:
		return "Authentication"
	}
	return ""
}

// Valid reports whether u is Offline or Authentication.
func (u Usage) Valid() bool { return u == Offline || u == Authentication }

// ParseUsage parses "offline" or "authentication" in any letter case.
func ParseUsage(s string) (Usage, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "offline":
		return Offline, nil
	case "authentication":
		return Authentication, nil
	}
	return 0, fmt.Errorf("%w: %q", ErrUnknownUsage, s)
}

// MarshalText implements encoding.TextMarshaler.
func (u Usage) MarshalText() ([]byte, error) {
	if !u.Valid() {
		return nil, fmt.Errorf("%w: %d", ErrUnknownUsage, int(u))
	}
	return []byte(u.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (u *Usage) UnmarshalText(b []byte) error {
	v, err := ParseUsage(string(b))
	if err != nil {
		return err
	}
	*u = v
	return nil
}

// keyUsage is the keyUsage bit a certificate of this usage must carry.
func (u Usage) keyUsage() x509.KeyUsage {
	switch u {
	case Offline:
		return x509.KeyUsageContentCommitment
	case Authentication:
		return x509.KeyUsageDigitalSignature
	}
	return 0
}

func (u Usage) check() error {
	if !u.Valid() {
		return fmt.Errorf("%w: %d", ErrUnknownUsage, int(u))
	}
	return nil
}

var keyUsageBits = []struct {
	bit  x509.KeyUsage
	name string
}{
	{x509.KeyUsageDigitalSignature, "digitalSignature"},
	{x509.KeyUsageContentCommitment, "nonRepudiation"},
	{x509.KeyUsageKeyEncipherment, "keyEncipherment"},
	{x509.KeyUsageDataEncipherment, "dataEncipherment"},
	{x509.KeyUsageKeyAgreement, "keyAgreement"},
	{x509.KeyUsageCertSign, "keyCertSign"},
	{x509.KeyUsageCRLSign, "cRLSign"},
	{x509.KeyUsageEncipherOnly, "encipherOnly"},
	{x509.KeyUsageDecipherOnly, "decipherOnly"},
}

func keyUsageNames(ku x509.KeyUsage) string {
	var names []string
	for _, b := range keyUsageBits {
		if ku&b.bit != 0 {
			names = append(names, b.name)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ",")
}
