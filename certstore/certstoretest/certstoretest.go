package certstoretest

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/posagent/posagent/certstore"
)

// NIP is a valid test NIP (checksum holds) used by the helpers.
const NIP = "5265877635"

// FastKDF keeps argon2id cheap in tests; never use it in production.
var FastKDF = certstore.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}

// NewStore opens a store in a fresh temporary directory, unlocked by a new
// machine key file, with argon2id parameters cheap enough for tests.
// now may be nil for time.Now.
func NewStore(t testing.TB, now func() time.Time) *certstore.Store {
	t.Helper()
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "machine.key")
	if err := certstore.CreateMachineKey(keyFile); err != nil {
		t.Fatalf("CreateMachineKey: %v", err)
	}
	kdf := FastKDF
	s, err := certstore.Open(filepath.Join(dir, "store"), &certstore.Options{MachineKeyFile: keyFile, KDF: &kdf, Now: now})
	if err != nil {
		t.Fatalf("certstore.Open: %v", err)
	}
	return s
}

// Generate returns a self-signed certificate and PKCS#8 key (PEM) for usage,
// valid from an hour ago for two years.
func Generate(t testing.TB, usage certstore.Usage, kt certstore.KeyType) (certPEM, keyPEM []byte) {
	t.Helper()
	return GenerateAt(t, usage, kt, time.Now())
}

// GenerateAt is Generate for a test whose clock reads at: the certificate is
// valid from an hour before at for two years, whatever today is.
func GenerateAt(t testing.TB, usage certstore.Usage, kt certstore.KeyType, at time.Time) (certPEM, keyPEM []byte) {
	t.Helper()
	certPEM, keyPEM, err := certstore.Generate(usage, NIP, kt, at.Add(-time.Hour), 2*365*24*time.Hour)
	if err != nil {
		t.Fatalf("certstore.Generate(%v, %q): %v", usage, kt, err)
	}
	return certPEM, keyPEM
}

// Cert returns a ready signer: a generated certificate of usage and key type
// kt ("ec" or "rsa"), parsed without a store. It satisfies ksef.Signer.
func Cert(t testing.TB, usage certstore.Usage, kt certstore.KeyType) *certstore.Cert {
	t.Helper()
	return CertAt(t, usage, kt, time.Now())
}

// CertAt is Cert valid at a test clock's at (see GenerateAt).
func CertAt(t testing.TB, usage certstore.Usage, kt certstore.KeyType, at time.Time) *certstore.Cert {
	t.Helper()
	certPEM, keyPEM := GenerateAt(t, usage, kt, at)
	c, err := certstore.Parse(usage, append(certPEM, keyPEM...), "", at)
	if err != nil {
		t.Fatalf("certstore.Parse: %v", err)
	}
	return c
}
