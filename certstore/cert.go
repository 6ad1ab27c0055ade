package certstore

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"strings"
	"time"
)

// Cert is a KSeF certificate with its decrypted private key. It is a
// crypto.Signer and satisfies ksef.Signer. The fmt verbs print only public
// facts (usage, serial, subject), never the key.
type Cert struct {
	usage Usage
	cert  *x509.Certificate
	key   crypto.Signer
}

var _ crypto.Signer = (*Cert)(nil)

// Public returns the certificate's public key.
func (c *Cert) Public() crypto.PublicKey { return c.key.Public() }

// Sign signs digest with the private key. opts selects the scheme exactly as
// for the underlying key: *rsa.PSSOptions for RSASSA-PSS, a crypto.Hash for
// RSA PKCS#1 v1.5 or ECDSA (ASN.1 DER signature). A nil rand means
// crypto/rand.
func (c *Cert) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if r == nil {
		r = rand.Reader
	}
	sig, err := c.key.Sign(r, digest, opts)
	if err != nil {
		return nil, fmt.Errorf("certstore: sign with %s certificate %s: %w", c.usage, c.CertSerial(), err)
	}
	return sig, nil
}

// CertSerial returns the certificate serial number as uppercase hex,
// left-padded to 16 digits, as KOD II links carry it.
func (c *Cert) CertSerial() string { return serialHex(c.cert) }

// Certificate returns the parsed certificate. Callers must not modify it.
func (c *Cert) Certificate() *x509.Certificate { return c.cert }

// CertificatePEM returns the certificate as a PEM CERTIFICATE block.
func (c *Cert) CertificatePEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.cert.Raw})
}

// Usage returns the usage the certificate was imported for.
func (c *Cert) Usage() Usage { return c.usage }

// KeyType returns "ec" or "rsa".
func (c *Cert) KeyType() KeyType { return keyTypeOf(c.key.Public()) }

// Info returns the certificate's public facts.
func (c *Cert) Info() Info { return infoOf(c.usage, c.cert) }

// String describes the certificate without key material.
func (c Cert) String() string {
	if c.cert == nil {
		return "certstore.Cert{}"
	}
	return fmt.Sprintf("certstore.Cert{usage=%s serial=%s subject=%q}", c.usage, serialHex(c.cert), formatName(c.cert.RawSubject))
}

// Format makes every fmt verb, %#v and %+v included, print String, so the
// private key can never be formatted by reflection.
func (c Cert) Format(f fmt.State, verb rune) { io.WriteString(f, c.String()) }

// Info is what a store tells about a certificate without decrypting its key.
type Info struct {
	Usage       Usage     `json:"usage"`
	Serial      string    `json:"serial"`  // uppercase hex, at least 16 digits
	Subject     string    `json:"subject"` // RFC 4514, e.g. "CN=5265877635,organizationIdentifier=VATPL-5265877635,C=PL"
	Issuer      string    `json:"issuer"`  // RFC 4514
	NotBefore   time.Time `json:"not_before"`
	NotAfter    time.Time `json:"not_after"`
	KeyType     KeyType   `json:"key_type"`
	Fingerprint string    `json:"fingerprint"` // SHA-256 of the DER certificate, lowercase hex
}

// DaysLeft returns the whole days from now until NotAfter, rounded down;
// it is negative once the certificate has expired.
func (i Info) DaysLeft(now time.Time) int {
	const day = 24 * time.Hour
	d := i.NotAfter.Sub(now)
	days := int(d / day)
	if d < 0 && d%day != 0 {
		days--
	}
	return days
}

func infoOf(u Usage, c *x509.Certificate) Info {
	sum := sha256.Sum256(c.Raw)
	return Info{
		Usage:       u,
		Serial:      serialHex(c),
		Subject:     formatName(c.RawSubject),
		Issuer:      formatName(c.RawIssuer),
		NotBefore:   c.NotBefore,
		NotAfter:    c.NotAfter,
		KeyType:     keyTypeOf(c.PublicKey),
		Fingerprint: hex.EncodeToString(sum[:]),
	}
}

func serialHex(c *x509.Certificate) string {
	s := strings.ToUpper(c.SerialNumber.Text(16))
	if len(s) < 16 {
		s = strings.Repeat("0", 16-len(s)) + s
	}
	return s
}

func keyTypeOf(pub crypto.PublicKey) KeyType {
	switch pub.(type) {
	case *ecdsa.PublicKey:
		return KeyEC
	case *rsa.PublicKey:
		return KeyRSA
	}
	return ""
}
