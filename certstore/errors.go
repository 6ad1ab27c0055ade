package certstore

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"time"
)

// Errors returned while parsing and checking a certificate and its key.
var (
	// ErrMalformed is returned when the input is not a PEM or PKCS#12
	// certificate bundle that can be read.
	ErrMalformed = errors.New("certstore: malformed input")
	// ErrNoCertificate is returned when the input holds no certificate.
	ErrNoCertificate = errors.New("certstore: no certificate in input")
	// ErrNoPrivateKey is returned when the input holds no private key.
	ErrNoPrivateKey = errors.New("certstore: no private key in input")
	// ErrMultipleKeys is returned when the input holds more than one private key.
	ErrMultipleKeys = errors.New("certstore: more than one private key in input")
	// ErrEncryptedPEM is returned for password-protected PEM keys, which are
	// not supported; use PKCS#12 instead.
	ErrEncryptedPEM = errors.New("certstore: encrypted PEM private keys are not supported, use PKCS#12")
	// ErrWrongPassword is returned when a PKCS#12 password is wrong.
	ErrWrongPassword = errors.New("certstore: wrong PKCS#12 password")
	// ErrKeyMismatch is returned when the private key does not belong to the
	// certificate.
	ErrKeyMismatch = errors.New("certstore: private key does not match certificate")
	// ErrWeakKey is returned for RSA keys shorter than 2048 bits and EC keys
	// on curves other than P-256.
	ErrWeakKey = errors.New("certstore: key too weak")
	// ErrUnsupportedKey is returned for key algorithms other than RSA and ECDSA.
	ErrUnsupportedKey = errors.New("certstore: unsupported key algorithm")
	// ErrWrongUsage is returned when the certificate's keyUsage does not fit
	// the requested usage.
	ErrWrongUsage = errors.New("certstore: certificate usage does not fit")
	// ErrNotYetValid is returned when the certificate's validity starts in the future.
	ErrNotYetValid = errors.New("certstore: certificate not yet valid")
	// ErrExpired is returned when the certificate's validity has ended.
	ErrExpired = errors.New("certstore: certificate expired")
	// ErrUnknownUsage is returned for a usage other than Offline or Authentication.
	ErrUnknownUsage = errors.New("certstore: unknown usage")
)

// Errors returned by the Store.
var (
	// ErrNoSecret is returned by Open when neither or both of
	// Options.PassphraseFile and Options.MachineKeyFile are set.
	ErrNoSecret = errors.New("certstore: set exactly one of PassphraseFile or MachineKeyFile")
	// ErrEmptySecret is returned when the passphrase or machine key file is empty.
	ErrEmptySecret = errors.New("certstore: secret file is empty")
	// ErrShortPassphrase is returned when a passphrase file holds fewer than
	// MinPassphraseLen bytes.
	ErrShortPassphrase = errors.New("certstore: passphrase too short")
	// ErrBadMachineKey is returned when a machine key file does not hold 64 hex digits.
	ErrBadMachineKey = errors.New("certstore: machine key file must hold 64 hex digits")
	// ErrInsecurePermissions is returned when a secret file or the store
	// directory can be read or written by group or others.
	ErrInsecurePermissions = errors.New("certstore: insecure file permissions")
	// ErrWrongSecret is returned by Open when the passphrase or machine key
	// does not unlock the store.
	ErrWrongSecret = errors.New("certstore: wrong passphrase or machine key")
	// ErrCorrupt is returned when a stored file cannot be read back or fails
	// authentication.
	ErrCorrupt = errors.New("certstore: stored data corrupt")
	// ErrNotFound is returned by Load when no certificate is stored for the usage.
	ErrNotFound = errors.New("certstore: no certificate for usage")
	// ErrNoPendingKey is returned by ImportCertificate when no CSR key waits
	// for the usage.
	ErrNoPendingKey = errors.New("certstore: no pending key for usage")
	// ErrInvalidSubject is returned when a CSR subject attribute is missing or invalid.
	ErrInvalidSubject = errors.New("certstore: invalid subject")
	// ErrKeyType is returned for a key type other than "ec" or "rsa".
	ErrKeyType = errors.New(`certstore: key type must be "ec" or "rsa"`)
	// ErrInvalidNIP is returned by Generate for a NIP that is not 10 digits
	// with a valid checksum.
	ErrInvalidNIP = errors.New("certstore: NIP must be 10 digits with a valid checksum")
	// ErrInvalidValidity is returned by Generate for a validity that is not positive.
	ErrInvalidValidity = errors.New("certstore: validity must be positive")
)

// errOpen is the one internal failure of unsealing; callers report it as
// ErrCorrupt or ErrWrongSecret with the file name.
var errOpen = errors.New("certstore: authentication failed")

// ParseError reports input that cannot be read. Reason says what is wrong;
// it never quotes the input.
type ParseError struct {
	Format string // "pem", "pkcs12", "pkcs8", "pkcs1", "sec1", "x509"
	Reason string
	Err    error // a sentinel such as ErrMalformed or ErrWrongPassword
}

func (e *ParseError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("%v (%s)", e.Err, e.Format)
	}
	return fmt.Sprintf("%v (%s): %s", e.Err, e.Format, e.Reason)
}

func (e *ParseError) Unwrap() error { return e.Err }

// KeyError reports a key of an unsupported algorithm or size.
type KeyError struct {
	Algorithm string // "RSA", "ECDSA", "Ed25519", …
	Bits      int    // RSA modulus or EC field size; 0 if unknown
	Curve     string // EC curve name, if any
	Err       error  // ErrWeakKey or ErrUnsupportedKey
}

func (e *KeyError) Error() string {
	switch {
	case e.Curve != "":
		return fmt.Sprintf("%v: %s on %s (want P-256)", e.Err, e.Algorithm, e.Curve)
	case e.Bits > 0:
		return fmt.Sprintf("%v: %s %d bits (want at least 2048)", e.Err, e.Algorithm, e.Bits)
	default:
		return fmt.Sprintf("%v: %s", e.Err, e.Algorithm)
	}
}

func (e *KeyError) Unwrap() error { return e.Err }

// UsageError reports a certificate whose keyUsage does not fit the usage it
// was imported for.
type UsageError struct {
	Usage    Usage
	KeyUsage x509.KeyUsage
}

func (e *UsageError) Error() string {
	msg := fmt.Sprintf("%v: %s needs keyUsage %s, certificate has %s",
		ErrWrongUsage, e.Usage, keyUsageNames(e.Usage.keyUsage()), keyUsageNames(e.KeyUsage))
	if f := e.Fits(); f != 0 {
		msg += fmt.Sprintf(" (it is a KSeF %s certificate, a distinct type)", f.KSeFType())
	}
	return msg
}

// Fits returns the usage the certificate's keyUsage does fit, or 0.
func (e *UsageError) Fits() Usage {
	for _, u := range Usages {
		if u != e.Usage && e.KeyUsage&u.keyUsage() != 0 {
			return u
		}
	}
	return 0
}

func (e *UsageError) Unwrap() error { return ErrWrongUsage }

// ValidityError reports a certificate used outside its validity window.
type ValidityError struct {
	NotBefore, NotAfter, Now time.Time
}

func (e *ValidityError) Error() string {
	return fmt.Sprintf("%v: valid %s to %s, now %s", e.Unwrap(),
		e.NotBefore.UTC().Format(time.RFC3339), e.NotAfter.UTC().Format(time.RFC3339), e.Now.UTC().Format(time.RFC3339))
}

// Unwrap returns ErrNotYetValid or ErrExpired.
func (e *ValidityError) Unwrap() error {
	if e.Now.Before(e.NotBefore) {
		return ErrNotYetValid
	}
	return ErrExpired
}

// PermissionError reports a file or directory whose mode lets group or
// others in.
type PermissionError struct {
	Path string
	Mode fs.FileMode
	Want fs.FileMode
}

func (e *PermissionError) Error() string {
	return fmt.Sprintf("%v: %s has mode %04o, want %04o (chmod %o %s)",
		ErrInsecurePermissions, e.Path, e.Mode.Perm(), e.Want, e.Want, e.Path)
}

func (e *PermissionError) Unwrap() error { return ErrInsecurePermissions }

// SubjectError reports an invalid CSR subject attribute.
type SubjectError struct {
	Field  string // e.g. "countryName"
	Reason string
}

func (e *SubjectError) Error() string {
	return fmt.Sprintf("%v: %s: %s", ErrInvalidSubject, e.Field, e.Reason)
}

func (e *SubjectError) Unwrap() error { return ErrInvalidSubject }
