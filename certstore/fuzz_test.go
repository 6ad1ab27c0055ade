package certstore_test

import (
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/posagent/posagent/certstore"
	"github.com/posagent/posagent/certstore/certstoretest"
)

// sentinels are the errors every Parse failure must wrap, so callers can
// always classify it.
var sentinels = []error{
	certstore.ErrMalformed, certstore.ErrNoCertificate, certstore.ErrNoPrivateKey,
	certstore.ErrMultipleKeys, certstore.ErrEncryptedPEM, certstore.ErrWrongPassword,
	certstore.ErrKeyMismatch, certstore.ErrWeakKey, certstore.ErrUnsupportedKey,
	certstore.ErrWrongUsage, certstore.ErrNotYetValid, certstore.ErrExpired,
}

func FuzzParse(f *testing.F) {
	keys(f)
	ecCert := makeCert(f, certSpec{key: ec256})
	rsaCert := makeCert(f, certSpec{key: rsa2048})
	f.Add(concat(ecCert, pkcs8PEM(f, ec256)), "")
	f.Add(concat(ecCert, sec1PEM(f, ec256)), "")
	f.Add(concat(rsaCert, pkcs8PEM(f, rsa2048)), "")
	f.Add(concat(ecCert, pkcs8PEM(f, ec256b)), "")
	f.Add(pfx(f, pkcs12.Modern, ec256, ecCert, "pw"), "pw")
	f.Add(pfx(f, pkcs12.LegacyDES, ec256, ecCert, "pw"), "x")
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), "")
	f.Add([]byte{0x30, 0x80}, "")
	f.Add([]byte{}, "")

	f.Fuzz(func(t *testing.T, data []byte, password string) {
		c, err := certstore.Parse(certstore.Offline, data, password, now)
		if err != nil {
			if c != nil {
				t.Fatal("Parse returned a Cert with an error")
			}
			classified := false
			for _, s := range sentinels {
				if errors.Is(err, s) {
					classified = true
					break
				}
			}
			if !classified {
				t.Fatalf("error %v wraps no certstore sentinel", err)
			}
			if msg := err.Error(); len(msg) > 400 || !strings.HasPrefix(msg, "certstore: ") {
				t.Fatalf("error message %.100q… is unbounded or unprefixed", msg)
			}
			return
		}
		// Success means a usable, matching pair.
		if !publicEqual(c.Public(), c.Certificate().PublicKey) {
			t.Fatal("Parse accepted a key that does not match its certificate")
		}
		if s := c.CertSerial(); len(s) < 16 || strings.ToUpper(s) != s {
			t.Fatalf("CertSerial() = %q", s)
		}
	})
}

// FuzzLoad feeds damaged store files to Load: it must either return the
// imported key or fail with ErrCorrupt, never panic or return another key.
func FuzzLoad(f *testing.F) {
	keys(f)
	s := certstoretest.NewStore(f, fixedNow)
	if _, err := s.Import(certstore.Offline, concat(makeCert(f, certSpec{key: ec256}), pkcs8PEM(f, ec256)), ""); err != nil {
		f.Fatal(err)
	}
	path := filepath.Join(s.Dir(), "offline.pem")
	orig, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(orig)
	f.Add(orig[:len(orig)/2])
	f.Add(concat(makeCert(f, certSpec{key: ec256b}), orig))
	f.Add([]byte("-----BEGIN POSAGENT SEALED PRIVATE KEY-----\nAAAA\n-----END POSAGENT SEALED PRIVATE KEY-----\n"))

	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := s.Load(certstore.Offline)
		if err != nil {
			if !errors.Is(err, certstore.ErrCorrupt) && !errors.Is(err, certstore.ErrWrongUsage) && !errors.Is(err, certstore.ErrExpired) && !errors.Is(err, certstore.ErrNotYetValid) {
				t.Fatalf("Load() error = %v, want ErrCorrupt", err)
			}
			return
		}
		if !publicEqual(c.Public(), &ec256.PublicKey) {
			t.Fatal("Load() returned a key that was never imported")
		}
	})
}

// FuzzSubject round-trips DN attributes through a CSR: NewCSR either
// refuses them with a *SubjectError or writes exactly what it was given.
func FuzzSubject(f *testing.F) {
	keys(f)
	f.Add("Zażółć Gęślą", "PL", "Jan", "Kowalski", "TINPL-5265877635", "VATPL-5265877635")
	f.Add("", "pl", "", "", "", "")
	f.Add("a,b+c", "DE", "\x00", " x", "PESEL-Ż", "\xff")
	f.Fuzz(func(t *testing.T, cn, country, given, surname, serial, orgID string) {
		subj := certstore.Subject{CommonName: cn, CountryName: country, Surname: surname, SerialNumber: serial, OrganizationIdentifier: orgID}
		if given != "" {
			subj.GivenNames = []string{given}
		}
		csr, err := certstore.NewCSR(ec256, subj)
		if err != nil {
			var se *certstore.SubjectError
			if !errors.As(err, &se) {
				t.Fatalf("NewCSR() error = %v, want *SubjectError", err)
			}
			return
		}
		req, err := x509.ParseCertificateRequest(csr.DER)
		if err != nil {
			t.Fatalf("own CSR does not parse: %v", err)
		}
		if err := req.CheckSignature(); err != nil {
			t.Fatalf("own CSR signature: %v", err)
		}
		var seq []rdnSET
		if _, err := asn1.Unmarshal(req.RawSubject, &seq); err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, rdn := range seq {
			got[rdn[0].Type.String()] += string(rdn[0].Value.Bytes)
		}
		for oid, want := range map[string]string{"2.5.4.3": cn, "2.5.4.6": country, "2.5.4.42": given, "2.5.4.4": surname, "2.5.4.5": serial, "2.5.4.97": orgID} {
			if got[oid] != want {
				t.Fatalf("attribute %s = %q, want %q", oid, got[oid], want)
			}
		}
	})
}
