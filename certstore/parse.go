package certstore

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// MinRSABits is the smallest RSA modulus accepted.
const MinRSABits = 2048

// Limits on untrusted input. A certificate bundle is a few kilobytes; the
// PKCS#12 MAC iteration count is bounded because the KDF runs before any
// check can fail, and a crafted file could otherwise burn minutes of CPU.
const (
	MaxInputSize        = 1 << 20
	maxPKCS12Iterations = 1 << 20
)

// Parse reads a certificate and its private key from data and checks them
// for usage at time now.
//
// data is either PEM, holding one CERTIFICATE block (more are allowed; the
// one matching the key is kept) and one private key block ("PRIVATE KEY"
// PKCS#8, "RSA PRIVATE KEY" PKCS#1 or "EC PRIVATE KEY" SEC1), or binary
// PKCS#12 opened with password. A certificate and a key kept in two PEM
// files are passed concatenated, with or without a newline between them.
// The password is ignored for PEM.
//
// Checks, in order: the input is readable ([ParseError]), the key is RSA of
// at least 2048 bits or ECDSA P-256 ([KeyError]), the key matches the
// certificate ([ErrKeyMismatch]), keyUsage fits usage ([UsageError]) and now
// lies within the validity window ([ValidityError]).
func Parse(usage Usage, data []byte, password string, now time.Time) (*Cert, error) {
	if err := usage.check(); err != nil {
		return nil, err
	}
	var (
		certs []*x509.Certificate
		key   crypto.Signer
		err   error
	)
	switch {
	case len(bytes.TrimSpace(data)) == 0:
		return nil, &ParseError{Format: "pem", Reason: "empty input", Err: ErrMalformed}
	case len(data) > MaxInputSize:
		return nil, &ParseError{Format: "pem", Reason: fmt.Sprintf("input of %d bytes exceeds %d", len(data), MaxInputSize), Err: ErrMalformed}
	case bytes.Contains(data, []byte("-----BEGIN ")):
		// Two files joined without a final newline glue END to BEGIN, and
		// pem.Decode would then skip both blocks.
		joined := bytes.ReplaceAll(data, []byte("-----BEGIN "), []byte("\n-----BEGIN "))
		certs, key, err = parsePEM(joined)
		clear(joined) // a copy of the key's PEM; parsed values do not alias it

	default:
		certs, key, err = parsePKCS12(data, password)
	}
	if err != nil {
		return nil, err
	}
	if err := checkKey(key.Public()); err != nil {
		return nil, err
	}
	var cert *x509.Certificate
	for _, c := range certs {
		if publicKeysEqual(c.PublicKey, key.Public()) {
			cert = c
			break
		}
	}
	if cert == nil {
		return nil, ErrKeyMismatch
	}
	if err := checkCert(usage, cert, now); err != nil {
		return nil, err
	}
	return &Cert{usage: usage, cert: cert, key: key}, nil
}

// checkCert checks keyUsage and the validity window.
func checkCert(usage Usage, cert *x509.Certificate, now time.Time) error {
	if err := checkUsage(usage, cert); err != nil {
		return err
	}
	return checkValidity(cert, now)
}

// checkUsage refuses a certificate whose keyUsage lacks the bit of usage:
// Authentication and Offline are distinct KSeF certificate types.
func checkUsage(usage Usage, cert *x509.Certificate) error {
	if cert.KeyUsage&usage.keyUsage() == 0 {
		return &UsageError{Usage: usage, KeyUsage: cert.KeyUsage}
	}
	return nil
}

// checkValidity returns a *ValidityError when now is outside the
// certificate's validity window.
func checkValidity(cert *x509.Certificate, now time.Time) error {
	if now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		return &ValidityError{NotBefore: cert.NotBefore, NotAfter: cert.NotAfter, Now: now}
	}
	return nil
}

func parsePEM(data []byte) ([]*x509.Certificate, crypto.Signer, error) {
	var (
		certs  []*x509.Certificate
		key    crypto.Signer
		blocks int
	)
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		blocks++
		if _, ok := b.Headers["Proc-Type"]; ok {
			return nil, nil, &ParseError{Format: "pem", Err: ErrEncryptedPEM}
		}
		switch b.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, nil, &ParseError{Format: "x509", Reason: "certificate cannot be parsed", Err: ErrMalformed}
			}
			certs = append(certs, c)
		case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY":
			if key != nil {
				return nil, nil, ErrMultipleKeys
			}
			k, err := parsePrivateKey(b.Type, b.Bytes)
			if err != nil {
				return nil, nil, err
			}
			key = k
		case "ENCRYPTED PRIVATE KEY":
			return nil, nil, &ParseError{Format: "pkcs8", Err: ErrEncryptedPEM}
		case "EC PARAMETERS":
			// openssl ecparam -genkey writes it before the key; the key repeats the curve.
		default:
			return nil, nil, &ParseError{Format: "pem", Reason: fmt.Sprintf("unsupported block type %q", clip(b.Type, 40)), Err: ErrMalformed}
		}
	}
	switch {
	case blocks == 0:
		return nil, nil, &ParseError{Format: "pem", Reason: "no complete PEM block", Err: ErrMalformed}
	case len(certs) == 0:
		return nil, nil, ErrNoCertificate
	case key == nil:
		return nil, nil, ErrNoPrivateKey
	}
	return certs, key, nil
}

// parsePrivateKey never passes the parser's error on: asn1 messages may
// describe the key's contents.
func parsePrivateKey(blockType string, der []byte) (crypto.Signer, error) {
	var (
		k      any
		err    error
		format string
	)
	switch blockType {
	case "PRIVATE KEY":
		format = "pkcs8"
		k, err = x509.ParsePKCS8PrivateKey(der)
	case "RSA PRIVATE KEY":
		format = "pkcs1"
		k, err = x509.ParsePKCS1PrivateKey(der)
	case "EC PRIVATE KEY":
		format = "sec1"
		k, err = x509.ParseECPrivateKey(der)
	}
	if err != nil {
		return nil, &ParseError{Format: format, Reason: "private key cannot be parsed", Err: ErrMalformed}
	}
	return asSigner(k)
}

func asSigner(k any) (crypto.Signer, error) {
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return k, nil
	case *ecdsa.PrivateKey:
		return k, nil
	case ed25519.PrivateKey:
		return nil, &KeyError{Algorithm: "Ed25519", Err: ErrUnsupportedKey}
	default:
		return nil, &KeyError{Algorithm: fmt.Sprintf("%T", k), Err: ErrUnsupportedKey}
	}
}

// pfxHeader is the outer PFX structure of RFC 7292, read only to bound the
// MAC iteration count before go-pkcs12 runs the KDF.
type pfxHeader struct {
	Version  int
	AuthSafe asn1.RawValue
	MacData  struct {
		Mac        asn1.RawValue
		Salt       []byte
		Iterations int `asn1:"optional,default:1"`
	} `asn1:"optional"`
}

func parsePKCS12(data []byte, password string) ([]*x509.Certificate, crypto.Signer, error) {
	var h pfxHeader
	if _, err := asn1.Unmarshal(data, &h); err != nil {
		return nil, nil, &ParseError{Format: "pkcs12", Reason: "neither PEM nor a readable PKCS#12 file", Err: ErrMalformed}
	}
	if h.MacData.Iterations > maxPKCS12Iterations || h.MacData.Iterations < 0 {
		return nil, nil, &ParseError{Format: "pkcs12", Reason: fmt.Sprintf("MAC iteration count %d out of range", h.MacData.Iterations), Err: ErrMalformed}
	}
	k, cert, _, err := pkcs12.DecodeChain(data, password)
	if err != nil {
		var ni pkcs12.NotImplementedError
		switch {
		case errors.Is(err, pkcs12.ErrIncorrectPassword), errors.Is(err, pkcs12.ErrDecryption):
			return nil, nil, &ParseError{Format: "pkcs12", Err: ErrWrongPassword}
		case errors.As(err, &ni):
			return nil, nil, &ParseError{Format: "pkcs12", Reason: "unsupported: " + clip(string(ni), 120), Err: ErrMalformed}
		default:
			return nil, nil, &ParseError{Format: "pkcs12", Reason: "neither PEM nor a readable PKCS#12 file with one key and one certificate", Err: ErrMalformed}
		}
	}
	key, err := asSigner(k)
	if err != nil {
		return nil, nil, err
	}
	return []*x509.Certificate{cert}, key, nil
}

// checkKey accepts RSA ≥ 2048 bits and ECDSA P-256, the keys KSeF certifies.
func checkKey(pub crypto.PublicKey) error {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		if n := p.N.BitLen(); n < MinRSABits {
			return &KeyError{Algorithm: "RSA", Bits: n, Err: ErrWeakKey}
		}
		return nil
	case *ecdsa.PublicKey:
		if p.Curve != elliptic.P256() {
			return &KeyError{Algorithm: "ECDSA", Curve: p.Curve.Params().Name, Err: ErrWeakKey}
		}
		return nil
	case ed25519.PublicKey:
		return &KeyError{Algorithm: "Ed25519", Err: ErrUnsupportedKey}
	default:
		return &KeyError{Algorithm: fmt.Sprintf("%T", pub), Err: ErrUnsupportedKey}
	}
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := a.(equaler)
	return ok && e.Equal(b)
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
