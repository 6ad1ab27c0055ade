package certstore_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/certstore"
	"github.com/posagent/posagent/certstore/certstoretest"
	"github.com/posagent/posagent/internal/testutil"
)

// TestOpenSSLInterop imports what openssl writes (its default PKCS#8,
// traditional PKCS#1 and SEC1 with EC PARAMETERS, PKCS#12 with AES and
// PBKDF2) and has openssl verify the CSRs this package writes.
func TestOpenSSLInterop(t *testing.T) {
	bin := testutil.RequireTool(t, "openssl")
	dir := t.TempDir()
	run := func(args ...string) {
		t.Helper()
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	path := func(name string) string { return filepath.Join(dir, name) }
	read := func(names ...string) []byte {
		t.Helper()
		var out []byte
		for _, n := range names {
			b, err := os.ReadFile(path(n))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, b...)
		}
		return out
	}
	selfSign := func(key, cert, ku string) {
		run("req", "-x509", "-new", "-key", path(key), "-out", path(cert), "-days", "30",
			"-subj", "/C=PL/2.5.4.97=VATPL-5265877635/CN=5265877635", "-addext", "keyUsage=critical,"+ku)
	}

	run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", path("ec8.key"), "-out", path("ec8.crt"), "-days", "30",
		"-subj", "/C=PL/CN=5265877635", "-addext", "keyUsage=critical,nonRepudiation")
	run("genrsa", "-traditional", "-out", path("rsa1.key"), "2048")
	selfSign("rsa1.key", "rsa1.crt", "digitalSignature")
	run("ecparam", "-name", "prime256v1", "-genkey", "-out", path("sec1.key"))
	selfSign("sec1.key", "sec1.crt", "nonRepudiation")
	run("pkcs12", "-export", "-inkey", path("ec8.key"), "-in", path("ec8.crt"), "-out", path("ec.p12"), "-passout", "pass:zażółć")

	if !strings.Contains(string(read("rsa1.key")), "BEGIN RSA PRIVATE KEY") || !strings.Contains(string(read("sec1.key")), "BEGIN EC PARAMETERS") {
		t.Fatal("openssl did not write the traditional formats this test is about")
	}

	tests := []struct {
		name     string
		usage    certstore.Usage
		data     []byte
		password string
		want     error
	}{
		{"PKCS8 EC", certstore.Offline, read("ec8.crt", "ec8.key"), "", nil},
		{"PKCS1 RSA", certstore.Authentication, read("rsa1.key", "rsa1.crt"), "", nil},
		{"SEC1 with EC PARAMETERS", certstore.Offline, read("sec1.crt", "sec1.key"), "", nil},
		{"PKCS12 AES", certstore.Offline, read("ec.p12"), "zażółć", nil},
		{"PKCS12 wrong password", certstore.Offline, read("ec.p12"), "zazolc", certstore.ErrWrongPassword},
		{"RSA digitalSignature as Offline", certstore.Offline, read("rsa1.crt", "rsa1.key"), "", certstore.ErrWrongUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := certstore.Parse(tt.usage, tt.data, tt.password, time.Now())
			if !errors.Is(err, tt.want) {
				t.Errorf("Parse() error = %v, want %v", err, tt.want)
			}
		})
	}

	for _, kt := range []certstore.KeyType{certstore.KeyEC, certstore.KeyRSA} {
		t.Run("CSR "+string(kt), func(t *testing.T) {
			s := certstoretest.NewStore(t, nil)
			csr, err := s.CreateCSR(certstore.Offline, ksefSubject, kt)
			if err != nil {
				t.Fatal(err)
			}
			p := path("req-" + string(kt) + ".pem")
			if err := os.WriteFile(p, csr.PEM, 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(bin, "req", "-in", p, "-verify", "-noout", "-subject", "-nameopt", "utf8,sep_comma_plus").CombinedOutput()
			if err != nil {
				t.Fatalf("openssl req -verify: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), "organizationIdentifier") || !strings.Contains(string(out), "Zażółć Gęślą") {
				t.Errorf("openssl sees subject %s", out)
			}
		})
	}
}
