package certstore

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Subject holds the DN attributes that GET /certificates/enrollments/data
// returns. KSeF rejects a CSR whose attributes differ from that answer, so
// the values are copied verbatim; empty ones are left out.
type Subject struct {
	CommonName             string   // 2.5.4.3, required
	CountryName            string   // 2.5.4.6, two letters, required
	GivenNames             []string // 2.5.4.42, may repeat
	Surname                string   // 2.5.4.4
	SerialNumber           string   // 2.5.4.5, e.g. "TINPL-1234567890"
	UniqueIdentifier       string   // 2.5.4.45
	OrganizationName       string   // 2.5.4.10
	OrganizationIdentifier string   // 2.5.4.97, e.g. "VATPL-1234567890"
}

// CSR is a PKCS#10 certificate signing request.
type CSR struct {
	DER []byte
	PEM []byte
}

// Base64 returns the DER request in standard Base64, the form of the csr
// field of POST /certificates/enrollments.
func (c *CSR) Base64() string { return base64.StdEncoding.EncodeToString(c.DER) }

type attr struct {
	field     string
	oid       asn1.ObjectIdentifier
	value     string
	printable bool
}

// maxAttrLen bounds each attribute at the X.520 upper bound for names.
const maxAttrLen = 64

// rdnSequence encodes the subject in a fixed order. countryName and
// serialNumber are PrintableString as X.520 requires; the others are
// UTF8String so Polish letters survive.
func (s Subject) rdnSequence() (pkix.RDNSequence, error) {
	var seq pkix.RDNSequence
	add := func(field string, oid asn1.ObjectIdentifier, v string, printable bool) error {
		if v == "" {
			return nil
		}
		if !utf8.ValidString(v) {
			return &SubjectError{Field: field, Reason: "not valid UTF-8"}
		}
		if strings.TrimSpace(v) != v {
			return &SubjectError{Field: field, Reason: "leading or trailing space"}
		}
		if n := utf8.RuneCountInString(v); n > maxAttrLen {
			return &SubjectError{Field: field, Reason: fmt.Sprintf("%d characters, at most %d", n, maxAttrLen)}
		}
		tag := asn1.TagUTF8String
		if printable {
			if !isPrintableString(v) {
				return &SubjectError{Field: field, Reason: "must be an ASN.1 PrintableString (A-Z a-z 0-9 space '()+,-./:=?)"}
			}
			tag = asn1.TagPrintableString
		}
		seq = append(seq, []pkix.AttributeTypeAndValue{{Type: oid, Value: asn1.RawValue{Tag: tag, Bytes: []byte(v)}}})
		return nil
	}
	if s.CommonName == "" {
		return nil, &SubjectError{Field: "commonName", Reason: "required"}
	}
	if c := s.CountryName; len(c) != 2 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' {
		return nil, &SubjectError{Field: "countryName", Reason: "must be two uppercase letters"}
	}
	steps := []attr{
		{"countryName", oidCountryName, s.CountryName, true},
		{"organizationName", oidOrganizationName, s.OrganizationName, false},
		{"organizationIdentifier", oidOrganizationIdentifier, s.OrganizationIdentifier, false},
		{"surname", oidSurname, s.Surname, false},
	}
	for i, g := range s.GivenNames {
		field := fmt.Sprintf("givenName[%d]", i)
		if g == "" {
			return nil, &SubjectError{Field: field, Reason: "empty"}
		}
		steps = append(steps, attr{field, oidGivenName, g, false})
	}
	steps = append(steps,
		attr{"serialNumber", oidSerialNumber, s.SerialNumber, true},
		attr{"uniqueIdentifier", oidUniqueIdentifier, s.UniqueIdentifier, false},
		attr{"commonName", oidCommonName, s.CommonName, false},
	)
	for _, st := range steps {
		if err := add(st.field, st.oid, st.value, st.printable); err != nil {
			return nil, err
		}
	}
	return seq, nil
}

func isPrintableString(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte(" '()+,-./:=?", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// NewCSR builds a PKCS#10 request for subj signed by key (ECDSA with
// SHA-256, or RSA PKCS#1 v1.5 with SHA-256; both are accepted by KSeF).
func NewCSR(key crypto.Signer, subj Subject) (*CSR, error) {
	if err := checkKey(key.Public()); err != nil {
		return nil, err
	}
	seq, err := subj.rdnSequence()
	if err != nil {
		return nil, err
	}
	raw, err := asn1.Marshal(seq)
	if err != nil {
		return nil, fmt.Errorf("certstore: encode subject: %w", err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{RawSubject: raw}, key)
	if err != nil {
		return nil, fmt.Errorf("certstore: create CSR: %w", err)
	}
	return &CSR{DER: der, PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})}, nil
}
