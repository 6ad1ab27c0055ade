package certstore_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/certstore"
	"github.com/posagent/posagent/certstore/certstoretest"
)

// ksefSigner mirrors ksef.Signer, which certstore must satisfy without
// importing ksef.
type ksefSigner interface {
	crypto.Signer
	CertSerial() string
}

var _ ksefSigner = (*certstore.Cert)(nil)

func TestSignRSAPSS(t *testing.T) {
	c := certstoretest.Cert(t, certstore.Offline, certstore.KeyRSA)
	msg := []byte("qr-test.ksef.mf.gov.pl/certificate/Nip/5265877635/5265877635/01F20A5D352AE590/UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE")
	digest := sha256.Sum256(msg)
	sig, err := c.Sign(rand.Reader, digest[:], &rsa.PSSOptions{SaltLength: 32, Hash: crypto.SHA256})
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	pub := c.Public().(*rsa.PublicKey)
	if err := rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, &rsa.PSSOptions{SaltLength: 32, Hash: crypto.SHA256}); err != nil {
		t.Errorf("VerifyPSS(salt 32): %v", err)
	}
	if err := c.Certificate().CheckSignature(x509.SHA256WithRSAPSS, msg, sig); err != nil {
		t.Errorf("certificate CheckSignature(SHA256WithRSAPSS): %v", err)
	}
	other := sha256.Sum256([]byte("another link"))
	if err := rsa.VerifyPSS(pub, crypto.SHA256, other[:], sig, nil); err == nil {
		t.Error("signature verifies for another digest")
	}
	// PKCS#1 v1.5 goes through as well; the caller picks the scheme.
	if sig, err := c.Sign(nil, digest[:], crypto.SHA256); err != nil || rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) != nil {
		t.Errorf("PKCS#1 v1.5 sign/verify failed: %v", err)
	}
}

func TestSignECDSA(t *testing.T) {
	c := certstoretest.Cert(t, certstore.Offline, certstore.KeyEC)
	msg := []byte("qr-test.ksef.mf.gov.pl/certificate/Nip/5265877635/5265877635/" + c.CertSerial() + "/hash")
	digest := sha256.Sum256(msg)
	sig, err := c.Sign(nil, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	pub := c.Public().(*ecdsa.PublicKey)
	if !ecdsa.VerifyASN1(pub, digest[:], sig) {
		t.Error("VerifyASN1 failed")
	}
	if err := c.Certificate().CheckSignature(x509.ECDSAWithSHA256, msg, sig); err != nil {
		t.Errorf("certificate CheckSignature: %v", err)
	}
	other := sha256.Sum256([]byte("x"))
	if ecdsa.VerifyASN1(pub, other[:], sig) {
		t.Error("signature verifies for another digest")
	}
	if got := c.CertSerial(); len(got) != 16 || strings.ToUpper(got) != got {
		t.Errorf("CertSerial() = %q, want 16 uppercase hex digits", got)
	}
}

func TestSignAfterStoreRoundTrip(t *testing.T) {
	for _, kt := range []certstore.KeyType{certstore.KeyEC, certstore.KeyRSA} {
		t.Run(string(kt), func(t *testing.T) {
			s := certstoretest.NewStore(t, nil)
			certPEM, keyPEM := certstoretest.Generate(t, certstore.Offline, kt)
			if _, err := s.Import(certstore.Offline, concat(certPEM, keyPEM), ""); err != nil {
				t.Fatal(err)
			}
			c, err := s.Load(certstore.Offline)
			if err != nil {
				t.Fatal(err)
			}
			digest := sha256.Sum256([]byte("faktura"))
			var opts crypto.SignerOpts = crypto.SHA256
			if kt == certstore.KeyRSA {
				opts = &rsa.PSSOptions{SaltLength: 32, Hash: crypto.SHA256}
			}
			sig, err := c.Sign(rand.Reader, digest[:], opts)
			if err != nil {
				t.Fatal(err)
			}
			alg := x509.ECDSAWithSHA256
			if kt == certstore.KeyRSA {
				alg = x509.SHA256WithRSAPSS
			}
			if err := c.Certificate().CheckSignature(alg, []byte("faktura"), sig); err != nil {
				t.Errorf("signature of the loaded key does not verify: %v", err)
			}
		})
	}
}

func TestGenerate(t *testing.T) {
	from := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	validity := 730 * 24 * time.Hour
	for _, usage := range certstore.Usages {
		for _, kt := range []certstore.KeyType{certstore.KeyEC, certstore.KeyRSA} {
			t.Run(usage.String()+"/"+string(kt), func(t *testing.T) {
				certPEM, keyPEM, err := certstore.Generate(usage, "5265877635", kt, from, validity)
				if err != nil {
					t.Fatalf("Generate: %v", err)
				}
				kb, _ := pem.Decode(keyPEM)
				if kb == nil || kb.Type != "PRIVATE KEY" {
					t.Fatalf("key is not a PKCS#8 PEM block")
				}
				c, err := certstore.Parse(usage, concat(certPEM, keyPEM), "", from.Add(time.Hour))
				if err != nil {
					t.Fatalf("Parse(generated): %v", err)
				}
				cert := c.Certificate()
				info := c.Info()
				if got, want := info.Subject, "CN=5265877635,organizationIdentifier=VATPL-5265877635,C=PL"; got != want {
					t.Errorf("Subject = %q, want %q", got, want)
				}
				if info.Issuer != info.Subject {
					t.Errorf("Issuer = %q, want self-signed", info.Issuer)
				}
				if got, want := cert.KeyUsage, map[certstore.Usage]x509.KeyUsage{
					certstore.Offline:        x509.KeyUsageContentCommitment,
					certstore.Authentication: x509.KeyUsageDigitalSignature,
				}[usage]; got != want {
					t.Errorf("KeyUsage = %v, want %v", got, want)
				}
				if n := cert.SerialNumber.BitLen(); n == 0 || n > 64 {
					t.Errorf("serial has %d bits, want 1..64", n)
				}
				if !cert.NotBefore.Equal(from) || !cert.NotAfter.Equal(from.Add(validity)) {
					t.Errorf("validity %v – %v, want %v – %v", cert.NotBefore, cert.NotAfter, from, from.Add(validity))
				}
				if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
					t.Errorf("self-signature: %v", err)
				}
				other := certstore.Authentication
				if usage == other {
					other = certstore.Offline
				}
				if _, err := certstore.Parse(other, concat(certPEM, keyPEM), "", from.Add(time.Hour)); !errors.Is(err, certstore.ErrWrongUsage) {
					t.Errorf("Parse as %v: error = %v, want ErrWrongUsage", other, err)
				}
			})
		}
	}
}

func TestGenerateErrors(t *testing.T) {
	from := time.Now()
	tests := []struct {
		name     string
		usage    certstore.Usage
		nip      string
		kt       certstore.KeyType
		validity time.Duration
		want     error
	}{
		{"bad NIP checksum", certstore.Offline, "5265877636", certstore.KeyEC, time.Hour, certstore.ErrInvalidNIP},
		{"short NIP", certstore.Offline, "123", certstore.KeyEC, time.Hour, certstore.ErrInvalidNIP},
		{"key type", certstore.Offline, "5265877635", "dsa", time.Hour, certstore.ErrKeyType},
		{"zero validity", certstore.Offline, "5265877635", certstore.KeyEC, 0, certstore.ErrInvalidValidity},
		{"unknown usage", certstore.Usage(3), "5265877635", certstore.KeyEC, time.Hour, certstore.ErrUnknownUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, k, err := certstore.Generate(tt.usage, tt.nip, tt.kt, from, tt.validity)
			if !errors.Is(err, tt.want) || c != nil || k != nil {
				t.Errorf("Generate() = %d bytes, %d bytes, %v; want error %v", len(c), len(k), err, tt.want)
			}
		})
	}
}

func TestGenerateSerialsDiffer(t *testing.T) {
	seen := map[string]bool{}
	for range 8 {
		c := certstoretest.Cert(t, certstore.Offline, certstore.KeyEC)
		if seen[c.CertSerial()] {
			t.Fatalf("serial %s repeated", c.CertSerial())
		}
		seen[c.CertSerial()] = true
	}
}
