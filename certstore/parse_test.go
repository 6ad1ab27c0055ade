package certstore_test

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/posagent/posagent/certstore"
)

func pfx(t testing.TB, enc *pkcs12.Encoder, key any, certPEM []byte, password string) []byte {
	t.Helper()
	b, _ := pem.Decode(certPEM)
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	data, err := enc.Encode(key, c, nil, password)
	if err != nil {
		t.Fatalf("pkcs12 Encode: %v", err)
	}
	return data
}

func TestParseFormats(t *testing.T) {
	keys(t)
	rsaCert := makeCert(t, certSpec{key: rsa2048})
	ecCert := makeCert(t, certSpec{key: ec256})
	otherCert := makeCert(t, certSpec{key: ec256b})
	ecParams := pemBlock("EC PARAMETERS", []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07})

	tests := []struct {
		name     string
		data     []byte
		password string
		wantKey  certstore.KeyType
	}{
		{"PKCS8 EC, cert first", concat(ecCert, pkcs8PEM(t, ec256)), "", certstore.KeyEC},
		{"PKCS8 EC, key first", concat(pkcs8PEM(t, ec256), ecCert), "", certstore.KeyEC},
		{"PKCS8 RSA", concat(rsaCert, pkcs8PEM(t, rsa2048)), "", certstore.KeyRSA},
		{"PKCS1 RSA", concat(rsaCert, pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsa2048))), "", certstore.KeyRSA},
		{"SEC1 EC", concat(ecCert, sec1PEM(t, ec256)), "", certstore.KeyEC},
		{"SEC1 EC with EC PARAMETERS", concat(ecCert, ecParams, sec1PEM(t, ec256)), "", certstore.KeyEC},
		{"text around blocks", concat([]byte("Bag Attributes\n  friendlyName: x\n"), ecCert, []byte("\nsubject=...\n"), pkcs8PEM(t, ec256)), "", certstore.KeyEC},
		{"two files joined without newline", concat(bytes.TrimSpace(ecCert), bytes.TrimSpace(pkcs8PEM(t, ec256))), "", certstore.KeyEC},
		{"CRLF line ends", crlf(concat(ecCert, pkcs8PEM(t, ec256))), "", certstore.KeyEC},
		{"chain: leaf picked by key", concat(otherCert, ecCert, pkcs8PEM(t, ec256)), "", certstore.KeyEC},
		{"PKCS12 modern EC", pfx(t, pkcs12.Modern, ec256, ecCert, "zażółć"), "zażółć", certstore.KeyEC},
		{"PKCS12 modern RSA", pfx(t, pkcs12.Modern, rsa2048, rsaCert, "secret"), "secret", certstore.KeyRSA},
		{"PKCS12 legacy DES RSA", pfx(t, pkcs12.LegacyDES, rsa2048, rsaCert, "secret"), "secret", certstore.KeyRSA},
		{"PKCS12 legacy RC2 EC", pfx(t, pkcs12.LegacyRC2, ec256, ecCert, "secret"), "secret", certstore.KeyEC},
		{"PKCS12 passwordless", pfx(t, pkcs12.Passwordless, ec256, ecCert, ""), "", certstore.KeyEC},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := certstore.Parse(certstore.Offline, tt.data, tt.password, now)
			if err != nil {
				t.Fatalf("Parse() error = %v", err)
			}
			if got := c.KeyType(); got != tt.wantKey {
				t.Errorf("KeyType() = %q, want %q", got, tt.wantKey)
			}
			if got, want := c.CertSerial(), "01F20A5D352AE590"; got != want {
				t.Errorf("CertSerial() = %q, want %q", got, want)
			}
			if got := c.Usage(); got != certstore.Offline {
				t.Errorf("Usage() = %v, want offline", got)
			}
		})
	}
}

func crlf(b []byte) []byte {
	var out []byte
	for _, c := range b {
		if c == '\n' {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out
}

func TestParseErrors(t *testing.T) {
	keys(t)
	ecCert := makeCert(t, certSpec{key: ec256})
	ecKey := pkcs8PEM(t, ec256)
	authCert := makeCert(t, certSpec{key: ec256, keyUsage: x509.KeyUsageDigitalSignature})
	noUsageCert := makeCert(t, certSpec{key: ec256, keyUsage: x509.KeyUsageKeyAgreement})
	expired := makeCert(t, certSpec{key: ec256, notBefore: now.AddDate(-2, 0, 0), notAfter: now.Add(-time.Second)})
	future := makeCert(t, certSpec{key: ec256, notBefore: now.Add(time.Hour), notAfter: now.AddDate(1, 0, 0)})
	truncatedKey := pemBlock("PRIVATE KEY", mustPKCS8(t, ec256)[:40])
	legacyEncrypted := []byte("-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n\nAAAA\n-----END EC PRIVATE KEY-----\n")

	tests := []struct {
		name     string
		usage    certstore.Usage
		data     []byte
		password string
		want     error
	}{
		{"empty", certstore.Offline, nil, "", certstore.ErrMalformed},
		{"whitespace", certstore.Offline, []byte(" \n\t"), "", certstore.ErrMalformed},
		{"binary garbage", certstore.Offline, []byte{0x30, 0x82, 0x01, 0x00, 0xff, 0x00}, "", certstore.ErrMalformed},
		{"text garbage", certstore.Offline, []byte("hello, this is not a certificate"), "", certstore.ErrMalformed},
		{"unterminated PEM", certstore.Offline, []byte("-----BEGIN CERTIFICATE-----\nMIIB\n"), "", certstore.ErrMalformed},
		{"certificate only", certstore.Offline, ecCert, "", certstore.ErrNoPrivateKey},
		{"key only", certstore.Offline, ecKey, "", certstore.ErrNoCertificate},
		{"two keys", certstore.Offline, concat(ecCert, ecKey, ecKey), "", certstore.ErrMultipleKeys},
		{"corrupt certificate", certstore.Offline, concat(pemBlock("CERTIFICATE", []byte{0x30, 0x03, 0x02, 0x01, 0x01}), ecKey), "", certstore.ErrMalformed},
		{"truncated key", certstore.Offline, concat(ecCert, truncatedKey), "", certstore.ErrMalformed},
		{"PKCS8 encrypted", certstore.Offline, concat(ecCert, pemBlock("ENCRYPTED PRIVATE KEY", []byte{1, 2, 3})), "", certstore.ErrEncryptedPEM},
		{"legacy encrypted PEM", certstore.Offline, concat(ecCert, legacyEncrypted), "", certstore.ErrEncryptedPEM},
		{"unsupported block", certstore.Offline, concat(ecCert, pemBlock("OPENSSH PRIVATE KEY", []byte{1})), "", certstore.ErrMalformed},
		{"key of another certificate", certstore.Offline, concat(ecCert, pkcs8PEM(t, ec256b)), "", certstore.ErrKeyMismatch},
		{"RSA 1024", certstore.Offline, concat(makeCert(t, certSpec{key: rsa1024}), pkcs8PEM(t, rsa1024)), "", certstore.ErrWeakKey},
		{"EC P-384", certstore.Offline, concat(makeCert(t, certSpec{key: ec384}), pkcs8PEM(t, ec384)), "", certstore.ErrWeakKey},
		{"Ed25519", certstore.Offline, concat(makeCert(t, certSpec{key: edKey}), pkcs8PEM(t, edKey)), "", certstore.ErrUnsupportedKey},
		{"authentication cert as offline", certstore.Offline, concat(authCert, ecKey), "", certstore.ErrWrongUsage},
		{"offline cert as authentication", certstore.Authentication, concat(ecCert, ecKey), "", certstore.ErrWrongUsage},
		{"keyAgreement only", certstore.Authentication, concat(noUsageCert, ecKey), "", certstore.ErrWrongUsage},
		{"expired", certstore.Offline, concat(expired, ecKey), "", certstore.ErrExpired},
		{"not yet valid", certstore.Offline, concat(future, ecKey), "", certstore.ErrNotYetValid},
		{"PKCS12 wrong password", certstore.Offline, pfx(t, pkcs12.Modern, ec256, ecCert, "right"), "wrong", certstore.ErrWrongPassword},
		{"PKCS12 legacy wrong password", certstore.Offline, pfx(t, pkcs12.LegacyDES, ec256, ecCert, "right"), "wrong", certstore.ErrWrongPassword},
		{"PKCS12 truncated", certstore.Offline, pfx(t, pkcs12.Modern, ec256, ecCert, "right")[:100], "right", certstore.ErrMalformed},
		{"unknown usage", certstore.Usage(7), concat(ecCert, ecKey), "", certstore.ErrUnknownUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := certstore.Parse(tt.usage, tt.data, tt.password, now)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Parse() error = %v, want %v", err, tt.want)
			}
			if c != nil {
				t.Errorf("Parse() returned a certificate with error %v", err)
			}
		})
	}
}

func mustPKCS8(t testing.TB, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestParseTypedErrors(t *testing.T) {
	keys(t)
	ecKey := pkcs8PEM(t, ec256)

	t.Run("KeyError", func(t *testing.T) {
		_, err := certstore.Parse(certstore.Offline, concat(makeCert(t, certSpec{key: rsa1024}), pkcs8PEM(t, rsa1024)), "", now)
		var ke *certstore.KeyError
		if !errors.As(err, &ke) {
			t.Fatalf("error %v is not a *KeyError", err)
		}
		if ke.Algorithm != "RSA" || ke.Bits != 1024 {
			t.Errorf("KeyError = %+v, want RSA 1024", ke)
		}
	})
	t.Run("UsageError", func(t *testing.T) {
		_, err := certstore.Parse(certstore.Offline, concat(makeCert(t, certSpec{key: ec256, keyUsage: x509.KeyUsageDigitalSignature}), ecKey), "", now)
		var ue *certstore.UsageError
		if !errors.As(err, &ue) {
			t.Fatalf("error %v is not a *UsageError", err)
		}
		if ue.Usage != certstore.Offline || ue.KeyUsage != x509.KeyUsageDigitalSignature {
			t.Errorf("UsageError = %+v", ue)
		}
		want := "certstore: certificate usage does not fit: offline needs keyUsage nonRepudiation, certificate has digitalSignature (it is a KSeF Authentication certificate, a distinct type)"
		if got := err.Error(); got != want {
			t.Errorf("Error() = %q, want %q", got, want)
		}
		if ue.Fits() != certstore.Authentication {
			t.Errorf("Fits() = %v, want authentication", ue.Fits())
		}
		// keyEncipherment fits neither usage: no hint.
		_, err = certstore.Parse(certstore.Authentication, concat(makeCert(t, certSpec{key: ec256, keyUsage: x509.KeyUsageKeyEncipherment}), ecKey), "", now)
		if !errors.As(err, &ue) || ue.Fits() != 0 || strings.Contains(err.Error(), "distinct type") {
			t.Errorf("keyEncipherment as authentication: %v", err)
		}
	})
	t.Run("ValidityError", func(t *testing.T) {
		nb, na := now.AddDate(-1, 0, 0).Truncate(time.Second), now.AddDate(0, 0, -3).Truncate(time.Second)
		_, err := certstore.Parse(certstore.Offline, concat(makeCert(t, certSpec{key: ec256, notBefore: nb, notAfter: na}), ecKey), "", now)
		var ve *certstore.ValidityError
		if !errors.As(err, &ve) {
			t.Fatalf("error %v is not a *ValidityError", err)
		}
		if !ve.NotAfter.Equal(na) || !ve.NotBefore.Equal(nb) || !ve.Now.Equal(now) {
			t.Errorf("ValidityError = %+v", ve)
		}
	})
	t.Run("ParseError", func(t *testing.T) {
		_, err := certstore.Parse(certstore.Offline, []byte("junk"), "", now)
		var pe *certstore.ParseError
		if !errors.As(err, &pe) || pe.Format != "pkcs12" {
			t.Fatalf("error %v is not a pkcs12 *ParseError", err)
		}
	})
}

func TestValidityEdges(t *testing.T) {
	keys(t)
	nb := now.Add(-time.Hour).Truncate(time.Second)
	na := now.Add(time.Hour).Truncate(time.Second)
	data := concat(makeCert(t, certSpec{key: ec256, notBefore: nb, notAfter: na}), pkcs8PEM(t, ec256))
	tests := []struct {
		name string
		at   time.Time
		want error
	}{
		{"at NotBefore", nb, nil},
		{"just before NotBefore", nb.Add(-time.Nanosecond), certstore.ErrNotYetValid},
		{"at NotAfter", na, nil},
		{"just after NotAfter", na.Add(time.Nanosecond), certstore.ErrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := certstore.Parse(certstore.Offline, data, "", tt.at)
			if !errors.Is(err, tt.want) {
				t.Errorf("Parse() at %v error = %v, want %v", tt.at, err, tt.want)
			}
		})
	}
}

func TestDaysLeft(t *testing.T) {
	na := time.Date(2027, 7, 29, 10, 0, 0, 0, time.UTC)
	info := certstore.Info{NotAfter: na}
	tests := []struct {
		at   time.Time
		want int
	}{
		{na.AddDate(0, 0, -30), 30},
		{na.AddDate(0, 0, -30).Add(time.Minute), 29},
		{na.Add(-time.Hour), 0},
		{na, 0},
		{na.Add(time.Hour), -1},
		{na.AddDate(0, 0, 2), -2},
	}
	for _, tt := range tests {
		if got := info.DaysLeft(tt.at); got != tt.want {
			t.Errorf("DaysLeft(%v) = %d, want %d", tt.at, got, tt.want)
		}
	}
}

func TestCertSerialPadding(t *testing.T) {
	keys(t)
	tests := []struct {
		serial int64
		want   string
	}{
		{1, "0000000000000001"},
		{0xABCDEF, "0000000000ABCDEF"},
		{0x01F20A5D352AE590, "01F20A5D352AE590"},
		{0x7FFFFFFFFFFFFFFF, "7FFFFFFFFFFFFFFF"},
	}
	for _, tt := range tests {
		c, err := certstore.Parse(certstore.Offline, concat(makeCert(t, certSpec{key: ec256, serial: tt.serial}), pkcs8PEM(t, ec256)), "", now)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.CertSerial(); got != tt.want {
			t.Errorf("CertSerial() for %#x = %q, want %q", tt.serial, got, tt.want)
		}
		if got := c.Info().Serial; got != tt.want {
			t.Errorf("Info().Serial = %q, want %q", got, tt.want)
		}
	}
}

func TestUsageText(t *testing.T) {
	tests := []struct {
		in      string
		want    certstore.Usage
		wantErr error
	}{
		{"offline", certstore.Offline, nil},
		{"Offline", certstore.Offline, nil},
		{"AUTHENTICATION", certstore.Authentication, nil},
		{"auth", 0, certstore.ErrUnknownUsage},
		{"", 0, certstore.ErrUnknownUsage},
	}
	for _, tt := range tests {
		var u certstore.Usage
		err := u.UnmarshalText([]byte(tt.in))
		if !errors.Is(err, tt.wantErr) || u != tt.want {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v, %v", tt.in, u, err, tt.want, tt.wantErr)
		}
	}
	if got, want := certstore.Offline.KSeFType(), "Offline"; got != want {
		t.Errorf("KSeFType() = %q, want %q", got, want)
	}
	if _, err := certstore.Usage(0).MarshalText(); !errors.Is(err, certstore.ErrUnknownUsage) {
		t.Errorf("MarshalText(0) error = %v, want ErrUnknownUsage", err)
	}
}

func TestParseLimits(t *testing.T) {
	keys(t)
	ecCert := makeCert(t, certSpec{key: ec256})
	good := pfx(t, pkcs12.LegacyDES, ec256, ecCert, "pw")

	// Rewrite the MAC iteration count of a valid file to something hostile.
	var h struct {
		Version  int
		AuthSafe asn1.RawValue
		MacData  struct {
			Mac        asn1.RawValue
			Salt       []byte
			Iterations int `asn1:"optional,default:1"`
		}
	}
	if _, err := asn1.Unmarshal(good, &h); err != nil {
		t.Fatal(err)
	}
	h.MacData.Iterations = 1 << 30
	hostile, err := asn1.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = certstore.Parse(certstore.Offline, hostile, "pw", now)
	if !errors.Is(err, certstore.ErrMalformed) || !strings.Contains(err.Error(), "iteration") {
		t.Errorf("Parse(2^30 iterations) error = %v, want ErrMalformed about iterations", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Parse(2^30 iterations) took %v", d)
	}

	big := concat(ecCert, pkcs8PEM(t, ec256), make([]byte, certstore.MaxInputSize))
	if _, err := certstore.Parse(certstore.Offline, big, "", now); !errors.Is(err, certstore.ErrMalformed) {
		t.Errorf("Parse(%d bytes) error = %v, want ErrMalformed", len(big), err)
	}
}

func TestInfoJSON(t *testing.T) {
	keys(t)
	c, err := certstore.Parse(certstore.Offline, concat(makeCert(t, certSpec{key: ec256, notAfter: time.Date(2027, 7, 29, 0, 0, 0, 0, time.UTC)}), pkcs8PEM(t, ec256)), "", now)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(c.Info())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"usage":"offline"`, `"serial":"01F20A5D352AE590"`, `"subject":"CN=5265877635,C=PL"`, `"not_after":"2027-07-29T00:00:00Z"`, `"key_type":"ec"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("json.Marshal(Info) = %s, want %s in it", b, want)
		}
	}
}
