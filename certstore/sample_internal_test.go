package certstore

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"testing"

	"github.com/posagent/posagent/internal/testutil"
)

// The KOD II test vector's certificate is a real KSeF TE certificate: its
// serial and subject must print the way KSeF links and docs show them.
func TestInfoOfKSeFSampleCertificate(t *testing.T) {
	b, err := os.ReadFile(testutil.Official("ksef/samples/qr-kod2-test-cert-01F20A5D352AE590.pem"))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatal("no PEM block in sample")
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	info := infoOf(Authentication, c)
	tests := []struct{ field, got, want string }{
		{"Serial", info.Serial, "01F20A5D352AE590"},
		{"Subject", info.Subject, "CN=5265877635,O=Beta,organizationIdentifier=VATPL-5265877635,C=PL"},
		{"Issuer", info.Issuer, "CN=TI CCK KSeF,OU=Krajowa Administracja Skarbowa,O=Ministerstwo Finansów,C=PL"},
		{"KeyType", string(info.KeyType), "rsa"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", tt.field, tt.got, tt.want)
		}
	}
	if err := checkKey(c.PublicKey); err != nil {
		t.Errorf("checkKey(sample RSA-2048) = %v", err)
	}
}
