package certstore_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/posagent/posagent/certstore/certstoretest"
)

// now is the fixed clock of the tests; certificates are built around it.
var now = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return now }

// Keys are expensive (RSA), so each kind is made once per test binary.
var (
	keysOnce sync.Once
	rsa2048  *rsa.PrivateKey
	rsa2048b *rsa.PrivateKey
	rsa1024  *rsa.PrivateKey
	ec256    *ecdsa.PrivateKey
	ec256b   *ecdsa.PrivateKey
	ec384    *ecdsa.PrivateKey
	edKey    ed25519.PrivateKey
)

func keys(t testing.TB) {
	t.Helper()
	keysOnce.Do(func() {
		must := func(err error) {
			if err != nil {
				panic(err)
			}
		}
		var err error
		rsa2048, err = rsa.GenerateKey(rand.Reader, 2048)
		must(err)
		rsa2048b, err = rsa.GenerateKey(rand.Reader, 2048)
		must(err)
		// GenerateKey refuses 1024 bits unless asked through GODEBUG, so
		// build the weak key from two 512-bit primes by hand.
		rsa1024 = weakRSA()
		ec256, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		must(err)
		ec256b, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		must(err)
		ec384, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		must(err)
		_, edKey, err = ed25519.GenerateKey(rand.Reader)
		must(err)
	})
}

func weakRSA() *rsa.PrivateKey {
	for {
		p, err := rand.Prime(rand.Reader, 512)
		if err != nil {
			panic(err)
		}
		q, err := rand.Prime(rand.Reader, 512)
		if err != nil {
			panic(err)
		}
		if p.Cmp(q) == 0 {
			continue
		}
		n := new(big.Int).Mul(p, q)
		if n.BitLen() != 1024 {
			continue
		}
		one := big.NewInt(1)
		phi := new(big.Int).Mul(new(big.Int).Sub(p, one), new(big.Int).Sub(q, one))
		e := big.NewInt(65537)
		d := new(big.Int).ModInverse(e, phi)
		if d == nil {
			continue
		}
		k := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: n, E: 65537}, D: d, Primes: []*big.Int{p, q}}
		k.Precompute()
		return k
	}
}

type certSpec struct {
	key       crypto.Signer
	keyUsage  x509.KeyUsage
	notBefore time.Time
	notAfter  time.Time
	serial    int64
}

// makeCert self-signs a certificate for spec.key; zero fields get defaults
// (Offline usage, valid a year around now).
func makeCert(t testing.TB, spec certSpec) []byte {
	t.Helper()
	if spec.keyUsage == 0 {
		spec.keyUsage = x509.KeyUsageContentCommitment
	}
	if spec.notBefore.IsZero() {
		spec.notBefore = now.Add(-24 * time.Hour)
	}
	if spec.notAfter.IsZero() {
		spec.notAfter = now.Add(365 * 24 * time.Hour)
	}
	if spec.serial == 0 {
		spec.serial = 0x01F20A5D352AE590
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(spec.serial),
		Subject:      pkix.Name{CommonName: certstoretest.NIP, Country: []string{"PL"}},
		NotBefore:    spec.notBefore,
		NotAfter:     spec.notAfter,
		KeyUsage:     spec.keyUsage,
	}
	// Weak test keys cannot sign through crypto/x509, so a strong key signs.
	signer := spec.key
	parent := tmpl
	if k, ok := signer.(*rsa.PrivateKey); ok && k.N.BitLen() < 2048 {
		signer = ec256b
		parent = &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, NotBefore: spec.notBefore, NotAfter: spec.notAfter}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, spec.key.Public(), signer)
	if err != nil {
		t.Fatalf("CreateCertificate: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func pkcs8PEM(t testing.TB, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("MarshalPKCS8PrivateKey: %v", err)
	}
	return pemBlock("PRIVATE KEY", der)
}

func sec1PEM(t testing.TB, key *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatalf("MarshalECPrivateKey: %v", err)
	}
	return pemBlock("EC PRIVATE KEY", der)
}

func concat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// writeSecret writes a passphrase file with the given mode.
func writeSecret(t testing.TB, dir, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, "passphrase")
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // WriteFile's mode is masked by umask
		t.Fatal(err)
	}
	return p
}
