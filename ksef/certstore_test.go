package ksef_test

import (
	"testing"

	"github.com/posagent/posagent/certstore"
	"github.com/posagent/posagent/certstore/certstoretest"
	"github.com/posagent/posagent/ksef"
)

var _ ksef.Signer = (*certstore.Cert)(nil)

// TestKOD2WithCertstore signs with the certificates certstore hands out, so a
// change on either side of the Signer contract breaks here.
func TestKOD2WithCertstore(t *testing.T) {
	for _, kt := range []certstore.KeyType{certstore.KeyEC, certstore.KeyRSA} {
		t.Run(string(kt), func(t *testing.T) {
			c := certstoretest.Cert(t, certstore.Offline, kt)
			link, err := ksef.KOD2(ksef.EnvTest, ksef.CtxNip, certstoretest.NIP, certstoretest.NIP, ksef.InvoiceHash([]byte("x")), c)
			if err != nil {
				t.Fatal(err)
			}
			if err := ksef.VerifyKOD2(link, c.Certificate()); err != nil {
				t.Fatalf("VerifyKOD2: %v", err)
			}
		})
	}
}
