package ksefapi_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/internal/testutil"
	"github.com/posagent/posagent/ksef/ksefapi"
)

const testChallenge = "20250604-CR-461EA5B000-537A6BA15D-D7"

var testCtx = ksefapi.ContextIdentifier{Type: ksefapi.ContextNip, Value: "5265877635"}

// selfSigned makes a TE-style self-signed seal certificate for key.
func selfSigned(t testing.TB, key crypto.Signer) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(0x01F20A5D352AE590),
		Subject: pkix.Name{Country: []string{"PL"}, Organization: []string{"Test, Sp. z o.o."}, CommonName: "5265877635",
			ExtraNames: []pkix.AttributeTypeAndValue{{Type: []int{2, 5, 4, 97}, Value: "VATPL-5265877635"}}},
		NotBefore: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:  time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:  x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func testKeys(t testing.TB) map[string]crypto.Signer {
	t.Helper()
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]crypto.Signer{"RSA": rk, "ECDSA": ek}
}

func signedRequest(t testing.TB, key crypto.Signer, cert *x509.Certificate) []byte {
	t.Helper()
	doc, err := ksefapi.BuildAuthTokenRequest(testChallenge, testCtx, ksefapi.SubjectCertificate)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := ksefapi.SignXAdES(doc, key, cert, time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatalf("SignXAdES: %v", err)
	}
	return signed
}

func TestBuildAuthTokenRequestSchema(t *testing.T) {
	doc, err := ksefapi.BuildAuthTokenRequest(testChallenge, testCtx, ksefapi.SubjectCertificate)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "auth.xml")
	if err := os.WriteFile(p, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	testutil.XMLLintSchema(t, xmllintAuthXSD(t), p)
}

// xmllintAuthXSD returns a copy of the official auth XSD that libxml2 compiles:
// the three Ip4* patterns use \b and ^…$, which are not XSD regular
// expressions, so xmllint rejects the whole schema. Only those facets (inside
// AuthorizationPolicy, which the client never sends) are dropped; everything
// the client emits is checked as published.
func xmllintAuthXSD(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(testutil.Official("ksef/auth/schemat_auth_v2-0.xsd"))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`<xsd:pattern value="[^"]*\\b[^"]*"/>`)
	fixed := re.ReplaceAll(raw, nil)
	if n := len(re.FindAll(raw, -1)); n != 3 {
		t.Fatalf("expected 3 non-XSD Ip4 patterns in the official XSD, found %d", n)
	}
	p := filepath.Join(t.TempDir(), "schemat_auth_v2-0.xsd")
	if err := os.WriteFile(p, fixed, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBuildAuthTokenRequestInvalid(t *testing.T) {
	tests := []struct {
		name      string
		challenge string
		id        ksefapi.ContextIdentifier
		subject   ksefapi.SubjectIdentifierType
	}{
		{"bad challenge", "20250604-CR-461ea5b000-537A6BA15D-D7", testCtx, ksefapi.SubjectCertificate},
		{"empty context", testChallenge, ksefapi.ContextIdentifier{Type: ksefapi.ContextNip}, ksefapi.SubjectCertificate},
		{"bad context type", testChallenge, ksefapi.ContextIdentifier{Type: "Pesel", Value: "1"}, ksefapi.SubjectCertificate},
		{"bad subject", testChallenge, testCtx, "me"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ksefapi.BuildAuthTokenRequest(tt.challenge, tt.id, tt.subject)
			if !errors.Is(err, ksefapi.ErrInvalidInput) {
				t.Fatalf("BuildAuthTokenRequest() err = %v, want ErrInvalidInput", err)
			}
		})
	}
}

func TestSignXAdESVerifies(t *testing.T) {
	for name, key := range testKeys(t) {
		t.Run(name, func(t *testing.T) {
			cert := selfSigned(t, key)
			signed := signedRequest(t, key, cert)
			got, err := ksefapi.VerifyXAdES(signed)
			if err != nil {
				t.Fatalf("VerifyXAdES: %v\n%s", err, signed)
			}
			if !got.Equal(cert) {
				t.Fatal("VerifyXAdES returned a different certificate")
			}
			// Signing only appends ds:Signature: without it the document is still
			// a valid AuthTokenRequest (the XSD itself has no place for the signature).
			i, j := bytes.Index(signed, []byte("<ds:Signature ")), bytes.Index(signed, []byte("</ds:Signature>"))
			if i < 0 || j < i {
				t.Fatalf("no enveloped signature:\n%s", signed)
			}
			unsigned := append(append([]byte{}, signed[:i]...), signed[j+len("</ds:Signature>"):]...)
			p := filepath.Join(t.TempDir(), "unsigned.xml")
			if err := os.WriteFile(p, unsigned, 0o600); err != nil {
				t.Fatal(err)
			}
			testutil.XMLLintSchema(t, xmllintAuthXSD(t), p)
			if name == "ECDSA" && !bytes.Contains(signed, []byte("xmldsig-more#ecdsa-sha256")) {
				t.Fatal("ECDSA signature method missing")
			}
			xmlsecVerify(t, signed, cert, true)
		})
	}
}

func TestVerifyXAdESRejectsTampering(t *testing.T) {
	key := testKeys(t)["ECDSA"]
	cert := selfSigned(t, key)
	signed := signedRequest(t, key, cert)
	tests := []struct {
		name string
		from string
		to   string
	}{
		{"document", "<Nip>5265877635</Nip>", "<Nip>5265877636</Nip>"},
		{"signing time", "2026-11-21T12:00:00Z", "2026-11-21T12:00:01Z"},
		{"signed info", `URI="#SignedProperties"`, `URI="#SignedProperties" Id="x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := []byte(strings.Replace(string(signed), tt.from, tt.to, 1))
			if bytes.Equal(bad, signed) {
				t.Fatalf("%q not found in signed document", tt.from)
			}
			if _, err := ksefapi.VerifyXAdES(bad); !errors.Is(err, ksefapi.ErrSignature) {
				t.Fatalf("VerifyXAdES(tampered) = %v, want ErrSignature", err)
			}
			xmlsecVerify(t, bad, cert, false)
		})
	}
}

// xmlsecVerify runs `xmlsec1 --verify` with the signer certificate as the only
// trusted one; the Id attributes are registered because no DTD declares them.
func xmlsecVerify(t *testing.T, doc []byte, cert *x509.Certificate, wantOK bool) {
	t.Helper()
	bin := testutil.RequireTool(t, "xmlsec1")
	dir := t.TempDir()
	docPath := filepath.Join(dir, "signed.xml")
	certPath := filepath.Join(dir, "cert.pem")
	if err := os.WriteFile(docPath, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "--verify",
		"--id-attr:Id", "http://uri.etsi.org/01903/v1.3.2#:SignedProperties",
		"--trusted-pem", certPath,
		"--verification-gmt-time", "2026-06-01 00:00:00",
		docPath).CombinedOutput()
	if wantOK && err != nil {
		t.Fatalf("xmlsec1 --verify failed: %v\n%s\n%s", err, out, doc)
	}
	if !wantOK && err == nil {
		t.Fatalf("xmlsec1 --verify accepted a tampered document:\n%s", out)
	}
}
