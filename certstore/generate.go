package certstore

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/binary"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"
)

// KeyType names a key algorithm KSeF certifies.
type KeyType string

const (
	// KeyEC is ECDSA on P-256, the default and the KSeF recommendation.
	KeyEC KeyType = "ec"
	// KeyRSA is RSA with a 2048-bit modulus, the only RSA size KSeF enrolls.
	KeyRSA KeyType = "rsa"
)

var (
	oidOrganizationIdentifier = asn1.ObjectIdentifier{2, 5, 4, 97}
	oidUniqueIdentifier       = asn1.ObjectIdentifier{2, 5, 4, 45}
	oidCommonName             = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidCountryName            = asn1.ObjectIdentifier{2, 5, 4, 6}
	oidGivenName              = asn1.ObjectIdentifier{2, 5, 4, 42}
	oidSurname                = asn1.ObjectIdentifier{2, 5, 4, 4}
	oidSerialNumber           = asn1.ObjectIdentifier{2, 5, 4, 5}
	oidOrganizationName       = asn1.ObjectIdentifier{2, 5, 4, 10}
)

// newKey makes a fresh private key; "" means KeyEC.
func newKey(kt KeyType) (crypto.Signer, error) {
	switch kt {
	case KeyEC, "":
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case KeyRSA:
		return rsa.GenerateKey(rand.Reader, MinRSABits)
	}
	return nil, fmt.Errorf("%w, not %q", ErrKeyType, clip(string(kt), 20))
}

// Generate makes a self-signed, KSeF-like certificate for tests and the
// demo: subject C=PL, organizationIdentifier=VATPL-<nip>, CN=<nip> (nip must
// pass the NIP checksum), the
// keyUsage of usage, a random 64-bit serial, valid from validFrom for
// validity. It returns the certificate and its PKCS#8 key as PEM. KSeF
// itself never accepts these for KOD II; they exist so no real key has to
// be committed.
func Generate(usage Usage, nip string, keyType KeyType, validFrom time.Time, validity time.Duration) (certPEM, keyPEM []byte, err error) {
	if err := usage.check(); err != nil {
		return nil, nil, err
	}
	if !validNIP(nip) {
		return nil, nil, fmt.Errorf("%w: %q", ErrInvalidNIP, clip(nip, 20))
	}
	if validity <= 0 {
		return nil, nil, ErrInvalidValidity
	}
	key, err := newKey(keyType)
	if err != nil {
		return nil, nil, err
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, nil, err
	}
	// The subject follows the TE certificate's order: C, organizationIdentifier, CN.
	seq, err := Subject{CommonName: nip, CountryName: "PL", OrganizationIdentifier: "VATPL-" + nip}.rdnSequence()
	if err != nil {
		return nil, nil, err
	}
	rawName, err := asn1.Marshal(seq)
	if err != nil {
		return nil, nil, fmt.Errorf("certstore: encode subject: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		RawSubject:            rawName,
		NotBefore:             validFrom.UTC().Truncate(time.Second),
		NotAfter:              validFrom.Add(validity).UTC().Truncate(time.Second),
		KeyUsage:              usage.keyUsage(),
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, fmt.Errorf("certstore: create certificate: %w", err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("certstore: marshal key: %w", err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk})
	clear(pk)
	return certPEM, keyPEM, nil
}

// randomSerial returns a non-zero random 64-bit serial, the size KSeF uses.
func randomSerial() (*big.Int, error) {
	var b [8]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("certstore: random serial: %w", err)
		}
		if v := binary.BigEndian.Uint64(b[:]); v != 0 {
			return new(big.Int).SetUint64(v), nil
		}
	}
}

// validNIP checks the 10 digits and the mod-11 checksum of a Polish NIP.
func validNIP(nip string) bool {
	if len(nip) != 10 {
		return false
	}
	weights := [9]int{6, 5, 7, 2, 3, 4, 5, 6, 7}
	sum := 0
	for i := range 10 {
		c := nip[i]
		if c < '0' || c > '9' {
			return false
		}
		if i < 9 {
			sum += int(c-'0') * weights[i]
		}
	}
	return sum%11 != 10 && sum%11 == int(nip[9]-'0')
}
