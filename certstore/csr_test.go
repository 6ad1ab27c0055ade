package certstore_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/certstore"
	"github.com/posagent/posagent/certstore/certstoretest"
)

// ksefSubject is shaped like an answer of GET /certificates/enrollments/data.
var ksefSubject = certstore.Subject{
	CommonName:             "Zażółć Gęślą",
	CountryName:            "PL",
	GivenNames:             []string{"Jan", "Maria"},
	Surname:                "Kowalski-Żółć",
	SerialNumber:           "TINPL-5265877635",
	UniqueIdentifier:       "abc-123",
	OrganizationName:       "Sklep Ćma sp. z o.o.",
	OrganizationIdentifier: "VATPL-5265877635",
}

type atv struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue
}

// rdnSET decodes as an ASN.1 SET because its name ends in SET.
type rdnSET []atv

func TestCreateCSR(t *testing.T) {
	tests := []struct {
		name    string
		kt      certstore.KeyType
		wantAlg x509.PublicKeyAlgorithm
		wantSig x509.SignatureAlgorithm
	}{
		{"default is EC", "", x509.ECDSA, x509.ECDSAWithSHA256},
		{"ec", certstore.KeyEC, x509.ECDSA, x509.ECDSAWithSHA256},
		{"rsa", certstore.KeyRSA, x509.RSA, x509.SHA256WithRSA},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := certstoretest.NewStore(t, fixedNow)
			csr, err := s.CreateCSR(certstore.Offline, ksefSubject, tt.kt)
			if err != nil {
				t.Fatalf("CreateCSR: %v", err)
			}
			b, _ := pem.Decode(csr.PEM)
			if b == nil || b.Type != "CERTIFICATE REQUEST" || string(b.Bytes) != string(csr.DER) {
				t.Fatal("PEM does not hold the DER request")
			}
			if got, _ := base64.StdEncoding.DecodeString(csr.Base64()); string(got) != string(csr.DER) {
				t.Error("Base64() does not decode to DER")
			}
			req, err := x509.ParseCertificateRequest(csr.DER)
			if err != nil {
				t.Fatalf("ParseCertificateRequest: %v", err)
			}
			if err := req.CheckSignature(); err != nil {
				t.Errorf("CheckSignature: %v", err)
			}
			if req.PublicKeyAlgorithm != tt.wantAlg || req.SignatureAlgorithm != tt.wantSig {
				t.Errorf("algorithms = %v/%v, want %v/%v", req.PublicKeyAlgorithm, req.SignatureAlgorithm, tt.wantAlg, tt.wantSig)
			}
			switch k := req.PublicKey.(type) {
			case *rsa.PublicKey:
				if k.N.BitLen() != 2048 {
					t.Errorf("RSA bits = %d, want 2048", k.N.BitLen())
				}
			case *ecdsa.PublicKey:
				if k.Curve.Params().Name != "P-256" {
					t.Errorf("curve = %s, want P-256", k.Curve.Params().Name)
				}
			}

			var seq []rdnSET
			if rest, err := asn1.Unmarshal(req.RawSubject, &seq); err != nil || len(rest) != 0 {
				t.Fatalf("subject does not decode: %v", err)
			}
			var got []string
			for _, rdn := range seq {
				if len(rdn) != 1 {
					t.Fatalf("RDN with %d attributes, want 1", len(rdn))
				}
				tag := map[int]string{asn1.TagUTF8String: "utf8", asn1.TagPrintableString: "printable"}[rdn[0].Value.Tag]
				got = append(got, rdn[0].Type.String()+"="+tag+":"+string(rdn[0].Value.Bytes))
			}
			want := []string{
				"2.5.4.6=printable:PL",
				"2.5.4.10=utf8:Sklep Ćma sp. z o.o.",
				"2.5.4.97=utf8:VATPL-5265877635",
				"2.5.4.4=utf8:Kowalski-Żółć",
				"2.5.4.42=utf8:Jan",
				"2.5.4.42=utf8:Maria",
				"2.5.4.5=printable:TINPL-5265877635",
				"2.5.4.45=utf8:abc-123",
				"2.5.4.3=utf8:Zażółć Gęślą",
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("subject =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if _, err := os.Stat(filepath.Join(s.Dir(), "offline.pending.pem")); err != nil {
				t.Errorf("pending key not stored: %v", err)
			}
		})
	}
}

func TestCreateCSRErrors(t *testing.T) {
	base := certstore.Subject{CommonName: "5265877635", CountryName: "PL"}
	with := func(f func(*certstore.Subject)) certstore.Subject {
		s := base
		f(&s)
		return s
	}
	tests := []struct {
		name      string
		subj      certstore.Subject
		kt        certstore.KeyType
		wantErr   error
		wantField string
	}{
		{"no commonName", with(func(s *certstore.Subject) { s.CommonName = "" }), "", certstore.ErrInvalidSubject, "commonName"},
		{"no country", with(func(s *certstore.Subject) { s.CountryName = "" }), "", certstore.ErrInvalidSubject, "countryName"},
		{"lowercase country", with(func(s *certstore.Subject) { s.CountryName = "pl" }), "", certstore.ErrInvalidSubject, "countryName"},
		{"digit in country", with(func(s *certstore.Subject) { s.CountryName = "P1" }), "", certstore.ErrInvalidSubject, "countryName"},
		{"three-letter country", with(func(s *certstore.Subject) { s.CountryName = "POL" }), "", certstore.ErrInvalidSubject, "countryName"},
		{"serialNumber not printable", with(func(s *certstore.Subject) { s.SerialNumber = "PESEL-Ż" }), "", certstore.ErrInvalidSubject, "serialNumber"},
		{"commonName too long", with(func(s *certstore.Subject) { s.CommonName = strings.Repeat("ż", 65) }), "", certstore.ErrInvalidSubject, "commonName"},
		{"empty givenName", with(func(s *certstore.Subject) { s.GivenNames = []string{"Jan", ""} }), "", certstore.ErrInvalidSubject, "givenName[1]"},
		{"trailing space", with(func(s *certstore.Subject) { s.Surname = "Nowak " }), "", certstore.ErrInvalidSubject, "surname"},
		{"invalid UTF-8", with(func(s *certstore.Subject) { s.OrganizationName = "\xff" }), "", certstore.ErrInvalidSubject, "organizationName"},
		{"key type", base, "ed25519", certstore.ErrKeyType, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := certstoretest.NewStore(t, fixedNow)
			_, err := s.CreateCSR(certstore.Authentication, tt.subj, tt.kt)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("CreateCSR() error = %v, want %v", err, tt.wantErr)
			}
			var se *certstore.SubjectError
			if tt.wantField != "" && (!errors.As(err, &se) || se.Field != tt.wantField) {
				t.Errorf("CreateCSR() error = %v, want field %q", err, tt.wantField)
			}
			if _, err := os.Stat(filepath.Join(s.Dir(), "authentication.pending.pem")); !errors.Is(err, os.ErrNotExist) {
				t.Error("a failed CreateCSR left a pending key")
			}
		})
	}
	if _, err := certstoretest.NewStore(t, nil).CreateCSR(certstore.Usage(0), base, ""); !errors.Is(err, certstore.ErrUnknownUsage) {
		t.Errorf("CreateCSR(usage 0) error = %v, want ErrUnknownUsage", err)
	}
}

// issue plays the KSeF CA: it certifies the CSR's key with keyUsage ku.
func issue(t testing.TB, csrDER []byte, ku x509.KeyUsage, serial int64) []byte {
	t.Helper()
	keys(t)
	req, err := x509.ParseCertificateRequest(csrDER)
	if err != nil {
		t.Fatal(err)
	}
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "TEST CCK KSeF", Country: []string{"PL"}},
		NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(5, 0, 0),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), RawSubject: req.RawSubject,
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(2, 0, 0), KeyUsage: ku,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, req.PublicKey, ec256b)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestImportCertificate(t *testing.T) {
	for _, kt := range []certstore.KeyType{certstore.KeyEC, certstore.KeyRSA} {
		t.Run(string(kt), func(t *testing.T) {
			s := certstoretest.NewStore(t, fixedNow)
			certPEM := pemBlock("CERTIFICATE", issue(t, mustCSR(t, s, kt), x509.KeyUsageContentCommitment, 1))
			if p, err := s.Pending(certstore.Offline); err != nil || !p {
				t.Errorf("Pending() after CreateCSR = %v, %v; want true", p, err)
			}
			info, err := s.ImportCertificate(certstore.Offline, certPEM)
			if err != nil {
				t.Fatalf("ImportCertificate: %v", err)
			}
			if got, want := info.Subject, "CN=Zażółć Gęślą,uniqueIdentifier=abc-123,SERIALNUMBER=TINPL-5265877635,GN=Maria,GN=Jan,SN=Kowalski-Żółć,organizationIdentifier=VATPL-5265877635,O=Sklep Ćma sp. z o.o.,C=PL"; got != want {
				t.Errorf("Info.Subject = %q, want %q", got, want)
			}
			c, err := s.Load(certstore.Offline)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got, want := c.CertSerial(), "0000000000000001"; got != want {
				t.Errorf("CertSerial() = %q, want %q", got, want)
			}
			if got := c.KeyType(); got != kt {
				t.Errorf("KeyType() = %q, want %q", got, kt)
			}
			if p, err := s.Pending(certstore.Offline); err != nil || p {
				t.Errorf("Pending() after ImportCertificate = %v, %v; want false", p, err)
			}
			// The pending key is consumed: a second import finds none.
			if _, err := s.ImportCertificate(certstore.Offline, c.CertificatePEM()); !errors.Is(err, certstore.ErrNoPendingKey) {
				t.Errorf("second ImportCertificate error = %v, want ErrNoPendingKey", err)
			}
		})
	}
}

func mustCSR(t testing.TB, s *certstore.Store, kt certstore.KeyType) []byte {
	t.Helper()
	csr, err := s.CreateCSR(certstore.Offline, ksefSubject, kt)
	if err != nil {
		t.Fatal(err)
	}
	return csr.DER
}

func TestImportCertificateErrors(t *testing.T) {
	keys(t)
	s := certstoretest.NewStore(t, fixedNow)
	if _, err := s.ImportCertificate(certstore.Offline, makeCert(t, certSpec{key: ec256})); !errors.Is(err, certstore.ErrNoPendingKey) {
		t.Errorf("without CSR: error = %v, want ErrNoPendingKey", err)
	}
	first := mustCSR(t, s, certstore.KeyEC)
	second := mustCSR(t, s, certstore.KeyEC) // replaces the first pending key
	tests := []struct {
		name string
		cert []byte
		want error
	}{
		{"certificate for another key", makeCert(t, certSpec{key: ec256}), certstore.ErrKeyMismatch},
		{"certificate for a replaced CSR", issue(t, first, x509.KeyUsageContentCommitment, 2), certstore.ErrKeyMismatch},
		{"authentication certificate", issue(t, second, x509.KeyUsageDigitalSignature, 3), certstore.ErrWrongUsage},
		{"garbage", []byte("garbage"), certstore.ErrMalformed},
		{"CSR instead of certificate", pemBlock("CERTIFICATE REQUEST", second), certstore.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.ImportCertificate(certstore.Offline, tt.cert); !errors.Is(err, tt.want) {
				t.Errorf("ImportCertificate() error = %v, want %v", err, tt.want)
			}
		})
	}
	// The pending key survived every failure: the right certificate (as DER) still goes in.
	if _, err := s.ImportCertificate(certstore.Offline, issue(t, second, x509.KeyUsageContentCommitment, 4)); err != nil {
		t.Fatalf("ImportCertificate(DER): %v", err)
	}
	c, err := s.Load(certstore.Offline)
	if err != nil {
		t.Fatal(err)
	}
	digest := make([]byte, 32)
	if _, err := c.Sign(rand.Reader, digest, crypto.SHA256); err != nil {
		t.Errorf("Sign: %v", err)
	}
}
