package certstore_test

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"path/filepath"
	"testing"

	"github.com/posagent/posagent/certstore"
	"github.com/posagent/posagent/certstore/certstoretest"
)

// BenchmarkOpen measures the argon2id derivation with DefaultKDF, paid
// once per process start.
func BenchmarkOpen(b *testing.B) {
	dir := b.TempDir()
	pass := writeSecret(b, dir, "long enough passphrase", 0o600)
	storeDir := filepath.Join(dir, "s")
	if _, err := certstore.Open(storeDir, &certstore.Options{PassphraseFile: pass}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := certstore.Open(storeDir, &certstore.Options{PassphraseFile: pass}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoad measures reading, unsealing and parsing one key.
func BenchmarkLoad(b *testing.B) {
	s := certstoretest.NewStore(b, nil)
	certPEM, keyPEM := certstoretest.Generate(b, certstore.Offline, certstore.KeyEC)
	if _, err := s.Import(certstore.Offline, concat(certPEM, keyPEM), ""); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.Load(certstore.Offline); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSign measures one KOD II signature per key type.
func BenchmarkSign(b *testing.B) {
	digest := sha256.Sum256([]byte("qr-test.ksef.mf.gov.pl/certificate/Nip/5265877635/5265877635/01F20A5D352AE590/hash"))
	for _, tt := range []struct {
		kt   certstore.KeyType
		opts crypto.SignerOpts
	}{
		{certstore.KeyEC, crypto.SHA256},
		{certstore.KeyRSA, &rsa.PSSOptions{SaltLength: 32, Hash: crypto.SHA256}},
	} {
		b.Run(string(tt.kt), func(b *testing.B) {
			c := certstoretest.Cert(b, certstore.Offline, tt.kt)
			for b.Loop() {
				if _, err := c.Sign(nil, digest[:], tt.opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
