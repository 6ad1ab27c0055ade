package main

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
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

// writeCertFile writes a generated certificate with its key as one PEM file.
func writeCertFile(t *testing.T, usage certstore.Usage, kt certstore.KeyType, from time.Time, validity time.Duration) string {
	t.Helper()
	c, k, err := certstore.Generate(usage, certstoretest.NIP, kt, from, validity)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), usage.String()+".pem")
	if err := os.WriteFile(p, append(c, k...), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func certList(t *testing.T, tm *testMain) []certJSON {
	t.Helper()
	var rows []certJSON
	if err := json.Unmarshal([]byte(tm.mustRun(t, "cert", "list", "--json")), &rows); err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestCertImportList(t *testing.T) {
	tm := newTestMain(t)
	tm.writeConfig(t, testConfig{})
	if rows := certList(t, tm); len(rows) != 0 {
		t.Fatalf("fresh install lists %d certificates", len(rows))
	}
	if out := tm.mustRun(t, "cert", "list"); !strings.Contains(out, "no certificates installed") {
		t.Errorf("cert list = %q", out)
	}

	file := writeCertFile(t, certstore.Offline, certstore.KeyEC, time.Now().Add(-time.Hour), 365*24*time.Hour)
	out := tm.mustRun(t, "cert", "import", file)
	if !strings.Contains(out, "installed offline certificate") {
		t.Errorf("cert import = %q", out)
	}
	if fi, err := os.Stat(filepath.Join(tm.root, "etc", "posagent", "machine-key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("machine key: %v %v, want a 0600 file", fi, err)
	}
	rows := certList(t, tm)
	if len(rows) != 1 || rows[0].Usage != "offline" || rows[0].KeyType != "ec" || rows[0].DaysLeft < 363 || rows[0].DaysLeft > 365 {
		t.Fatalf("cert list = %+v", rows)
	}
	table := tm.mustRun(t, "cert", "list")
	if !strings.Contains(table, "USAGE") || !strings.Contains(table, rows[0].Serial) {
		t.Errorf("cert list table:\n%s", table)
	}

	// Bad input changes nothing.
	bad := []struct {
		name string
		args []string
		want error
	}{
		{"WrongUsage", []string{"cert", "import", "--usage", "authentication", file}, certstore.ErrWrongUsage},
		{"Expired", []string{"cert", "import", writeCertFile(t, certstore.Offline, certstore.KeyEC, time.Now().Add(-48*time.Hour), 24*time.Hour)}, certstore.ErrExpired},
		{"NotACertificate", []string{"cert", "import", tm.configPath()}, certstore.ErrMalformed},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := tm.run(t, tt.args...)
			if !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
			if tt.name == "WrongUsage" && !strings.Contains(err.Error(), "distinct types: import this one with --usage offline") {
				t.Errorf("wrong usage error gives no hint: %v", err)
			}
			if got := certList(t, tm); len(got) != 1 || got[0].Serial != rows[0].Serial {
				t.Errorf("after a failed import: %+v", got)
			}
		})
	}
	if _, _, err := tm.run(t, "cert", "import", "--usage", "signing", file); exitCode(err) != exitUsage {
		t.Errorf("unknown usage: %v", err)
	}
}

func TestCertCSRRoundTrip(t *testing.T) {
	tm := newTestMain(t)
	tm.writeConfig(t, testConfig{})
	csrPath := filepath.Join(t.TempDir(), "auth.csr")
	tm.mustRun(t, "cert", "csr", "--usage", "authentication", "--key", "rsa", "--out", csrPath)
	b, err := os.ReadFile(csrPath)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE REQUEST" {
		t.Fatalf("CSR file: %q", b)
	}
	req, err := x509.ParseCertificateRequest(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if err := req.CheckSignature(); err != nil {
		t.Fatalf("CSR signature: %v", err)
	}
	if s := req.Subject.String(); !strings.Contains(s, "Żółw") || req.PublicKeyAlgorithm != x509.RSA {
		t.Errorf("CSR subject %q algorithm %v", s, req.PublicKeyAlgorithm)
	}
	var rows []certJSON
	json.Unmarshal([]byte(tm.mustRun(t, "cert", "list", "--json")), &rows)
	if len(rows) != 0 {
		t.Errorf("a pending CSR is listed as a certificate: %+v", rows)
	}

	// KSeF issues the certificate for the request's key; import installs it
	// with the pending key.
	caKey, caCert := testCA(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(0x1234567890), Subject: req.Subject,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(90 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, req.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	certPath := filepath.Join(t.TempDir(), "auth.pem")
	os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	tm.mustRun(t, "cert", "import", "--usage", "authentication", certPath)
	rows = certList(t, tm)
	if len(rows) != 1 || rows[0].Usage != "authentication" || rows[0].Serial != "0000001234567890" || rows[0].KeyType != "rsa" {
		t.Errorf("after import: %+v", rows)
	}
}

func testCA(t *testing.T) (any, *x509.Certificate) {
	t.Helper()
	c := certstoretest.Cert(t, certstore.Offline, certstore.KeyEC)
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, ca, ca, c.Public(), c)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, caCert
}

// TestCertEnroll: `cert enroll` logs in with the installed Authentication
// certificate (XAdES) and installs a certificate the simulator's CA issued,
// with the keyUsage of its type; without an Authentication certificate it
// says how to get one.
func TestCertEnroll(t *testing.T) {
	srv := simServer(t)
	tm := newTestMain(t)
	tm.writeConfig(t, testConfig{ksefURL: srv.URL + "/v2"})
	if _, _, err := tm.run(t, "cert", "enroll", "--usage", "offline"); err == nil || !strings.Contains(err.Error(), "--usage authentication") {
		t.Fatalf("enroll without an Authentication certificate = %v", err)
	}
	tm.mustRun(t, "cert", "import", "--usage", "authentication", writeCertFile(t, certstore.Authentication, certstore.KeyEC, time.Now().Add(-time.Hour), 365*24*time.Hour))
	out := tm.mustRun(t, "cert", "enroll", "--usage", "offline")
	if !strings.Contains(out, "enrolled and installed offline certificate") {
		t.Errorf("cert enroll = %q", out)
	}
	rows := certList(t, tm)
	var off *certJSON
	for i := range rows {
		if rows[i].Usage == "offline" {
			off = &rows[i]
		}
	}
	if off == nil || !strings.Contains(off.Issuer, "ksefsim") || off.KSeFState != "Active" || off.DaysLeft < 700 {
		t.Fatalf("cert list after enroll = %+v", rows)
	}
	if _, _, err := tm.run(t, "cert", "enroll"); exitCode(err) != exitUsage {
		t.Errorf("enroll without --usage: %v", err)
	}
}
