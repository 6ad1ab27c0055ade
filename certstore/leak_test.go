package certstore_test

import (
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/certstore"
)

// secretsOf returns each line of a PEM key's Base64 body.
func secretsOf(t *testing.T, keyPEM []byte) []string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(string(keyPEM), "\n") {
		if len(line) >= 16 && !strings.HasPrefix(line, "-----") {
			out = append(out, line)
		}
	}
	return out
}

// formats renders v with every verb a log line or error wrap might use.
func formats(v any) []string {
	var out []string
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		out = append(out, fmt.Sprintf(f, v))
	}
	return out
}

func assertNoLeak(t *testing.T, what string, rendered []string, secrets []string) {
	t.Helper()
	for _, r := range rendered {
		for _, s := range secrets {
			if strings.Contains(strings.ToLower(r), strings.ToLower(s)) {
				t.Errorf("%s leaks key material %.12q… in %.80q", what, s, r)
			}
		}
	}
}

func TestNoKeyMaterialInErrorsOrFormatting(t *testing.T) {
	keys(t)
	keyPEM := pkcs8PEM(t, ec256)
	rsaKeyPEM := pkcs8PEM(t, rsa2048)
	secrets := append(secretsOf(t, keyPEM), secretsOf(t, rsaKeyPEM)...)
	secrets = append(secrets,
		hex.EncodeToString(ecScalar(t, ec256)), new(big.Int).SetBytes(ecScalar(t, ec256)).String(),
		hex.EncodeToString(rsa2048.D.Bytes())[:64], rsa2048.D.String()[:64],
		hex.EncodeToString(rsa2048.Primes[0].Bytes())[:64], rsa2048.Primes[0].String()[:64],
		hex.EncodeToString(mustPKCS8(t, ec256))[:64],
	)
	ecCert := makeCert(t, certSpec{key: ec256})
	rsaCert := makeCert(t, certSpec{key: rsa2048})

	t.Run("Parse errors", func(t *testing.T) {
		mangled := []byte(strings.Replace(string(keyPEM), "\n", "\n!", 3)) // broken base64 inside the key block
		inputs := map[string][]byte{
			"key without certificate":   keyPEM,
			"mismatched key":            concat(makeCert(t, certSpec{key: ec256b}), keyPEM),
			"wrong usage":               concat(makeCert(t, certSpec{key: ec256, keyUsage: x509.KeyUsageDigitalSignature}), keyPEM),
			"expired":                   concat(makeCert(t, certSpec{key: ec256, notAfter: now.Add(-time.Hour)}), keyPEM),
			"truncated key":             concat(ecCert, pemBlock("PRIVATE KEY", mustPKCS8(t, ec256)[:50])),
			"truncated RSA key":         concat(rsaCert, pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsa2048)[:300])),
			"key as certificate":        concat(pemBlock("CERTIFICATE", mustPKCS8(t, ec256)), keyPEM),
			"key block under other tag": concat(ecCert, pemBlock("SECRET KEY", mustPKCS8(t, ec256))),
			"mangled PEM":               concat(ecCert, mangled),
			"raw DER key":               mustPKCS8(t, rsa2048),
			"two keys":                  concat(ecCert, keyPEM, rsaKeyPEM),
		}
		for name, in := range inputs {
			_, err := certstore.Parse(certstore.Offline, in, "password", now)
			if err == nil {
				t.Errorf("%s: Parse succeeded", name)
				continue
			}
			assertNoLeak(t, name, formats(err), secrets)
		}
	})

	t.Run("Cert formatting", func(t *testing.T) {
		c, err := certstore.Parse(certstore.Offline, concat(ecCert, keyPEM), "", now)
		if err != nil {
			t.Fatal(err)
		}
		rendered := append(formats(c), formats(*c)...)
		rendered = append(rendered, formats(struct{ C certstore.Cert }{*c})...)
		rendered = append(rendered, formats([]*certstore.Cert{c})...)
		rendered = append(rendered, formats(map[string]any{"cert": c})...)
		assertNoLeak(t, "Cert", rendered, secrets)
		if got := fmt.Sprintf("%+v", c); !strings.Contains(got, "01F20A5D352AE590") {
			t.Errorf("%%+v of Cert = %q, want it to show the serial", got)
		}
	})

	t.Run("Store errors", func(t *testing.T) {
		dir := t.TempDir()
		passphrase := "Tajne-Hasło-Sklepu-2026"
		pass := writeSecret(t, dir, passphrase, 0o600)
		s, err := certstore.Open(filepath.Join(dir, "s"), fastOpts(certstore.Options{PassphraseFile: pass}))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Import(certstore.Offline, concat(ecCert, keyPEM), ""); err != nil {
			t.Fatal(err)
		}
		var errs []error
		wrong := writeSecretAt(t, filepath.Join(dir, "wrong"), "Tajne-Hasło-Sklepu-2027", 0o600)
		_, err = certstore.Open(filepath.Join(dir, "s"), &certstore.Options{PassphraseFile: wrong})
		errs = append(errs, err)
		loose := writeSecretAt(t, filepath.Join(dir, "loose"), passphrase, 0o644)
		_, err = certstore.Open(filepath.Join(dir, "s"), &certstore.Options{PassphraseFile: loose})
		errs = append(errs, err)
		mk := writeSecretAt(t, filepath.Join(dir, "mk"), strings.Repeat("ab", 31)+"zz", 0o600)
		_, err = certstore.Open(filepath.Join(dir, "s"), &certstore.Options{MachineKeyFile: mk})
		errs = append(errs, err)
		p := filepath.Join(s.Dir(), "offline.pem")
		b, _ := os.ReadFile(p)
		os.WriteFile(p, b[:len(b)-30], 0o600)
		_, err = s.Load(certstore.Offline)
		errs = append(errs, err)
		for i, err := range errs {
			if err == nil {
				t.Fatalf("error %d is nil", i)
			}
			assertNoLeak(t, fmt.Sprintf("store error %d", i), formats(err),
				append(secrets, passphrase, "Tajne-Hasło-Sklepu-2027", strings.Repeat("ab", 31)))
		}
	})
}

func writeSecretAt(t *testing.T, path, content string, mode os.FileMode) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}
