package certstore_test

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/posagent/posagent/certstore"
)

var update = flag.Bool("update", false, "update golden files")

// hexDump writes 32 bytes per line so a golden diff points at the change.
func hexDump(b []byte) []byte {
	var sb strings.Builder
	for i := 0; i < len(b); i += 32 {
		sb.WriteString(hex.EncodeToString(b[i:min(i+32, len(b))]))
		sb.WriteByte('\n')
	}
	return []byte(sb.String())
}

// TestSubjectGolden pins the DER of a KSeF enrollment subject: attribute
// order, OIDs and string types (PrintableString for C and serialNumber,
// UTF8String elsewhere). Keys and signatures vary; the subject must not.
func TestSubjectGolden(t *testing.T) {
	keys(t)
	csr, err := certstore.NewCSR(ec256, ksefSubject)
	if err != nil {
		t.Fatal(err)
	}
	req, err := x509.ParseCertificateRequest(csr.DER)
	if err != nil {
		t.Fatal(err)
	}
	got := hexDump(req.RawSubject)
	path := filepath.Join("testdata", "ksef-subject.der.hex")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update once)", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("subject DER differs at byte %d:\n got %s\nwant %s", i*32, gl[i], wl[i])
			}
		}
		t.Fatalf("subject DER length %d, want %d", len(req.RawSubject), len(want)/2)
	}
}

func TestNewCSRRejectsWeakKey(t *testing.T) {
	keys(t)
	if _, err := certstore.NewCSR(ec384, ksefSubject); err == nil {
		t.Error("NewCSR accepted a P-384 key")
	}
}
