package certstore_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/certstore"
)

// copyFixture copies testdata/name into a fresh directory with the modes
// Open requires (git keeps neither 0600 nor 0700).
func copyFixture(t *testing.T, name string) (keyFile, storeDir string) {
	t.Helper()
	dir := t.TempDir()
	storeDir = filepath.Join(dir, "store")
	if err := os.Mkdir(storeDir, 0o700); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join("testdata", name)
	for _, f := range []struct{ name, dst string }{
		{"machine.key", dir},
		{"store.json", storeDir},
		{"offline.pem", storeDir},
	} {
		b, err := os.ReadFile(filepath.Join(src, f.name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(f.dst, f.name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "machine.key"), storeDir
}

// TestOpenArgon2idMachineStore opens a store written by the release that
// derived machine-key stores with argon2id: it must keep its recorded KDF and
// unseal its key.
func TestOpenArgon2idMachineStore(t *testing.T) {
	keyFile, storeDir := copyFixture(t, "argon2id-machine-store")
	before, err := os.ReadFile(filepath.Join(storeDir, "store.json"))
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC) }
	s, err := certstore.Open(storeDir, &certstore.Options{MachineKeyFile: keyFile, Now: now})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	c, err := s.Load(certstore.Offline)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	digest := sha256.Sum256([]byte("data"))
	sig, err := c.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil || !ecdsa.VerifyASN1(c.Public().(*ecdsa.PublicKey), digest[:], sig) {
		t.Fatalf("Sign() = %d bytes, %v", len(sig), err)
	}
	after, err := os.ReadFile(filepath.Join(storeDir, "store.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Errorf("Open rewrote store.json:\n%s\nwant\n%s", after, before)
	}
}

func TestNewStoreKDF(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "machine.key")
	if err := certstore.CreateMachineKey(keyFile); err != nil {
		t.Fatal(err)
	}
	pass := writeSecret(t, dir, "correct horse battery staple\n", 0o600)
	type params struct {
		Time      uint32 `json:"time"`
		MemoryKiB uint32 `json:"memory_kib"`
		Threads   uint8  `json:"threads"`
	}
	tests := []struct {
		name       string
		opts       *certstore.Options
		wantKDF    string
		wantParams *params
	}{
		// The KDF option does not apply to a machine key.
		{"machine key", fastOpts(certstore.Options{MachineKeyFile: keyFile}), "hkdf-sha256", nil},
		{"passphrase", fastOpts(certstore.Options{PassphraseFile: pass}), "argon2id", &params{1, 64, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			storeDir := filepath.Join(dir, "store-"+strings.ReplaceAll(tt.name, " ", "-"))
			if _, err := certstore.Open(storeDir, tt.opts); err != nil {
				t.Fatalf("Open: %v", err)
			}
			b, err := os.ReadFile(filepath.Join(storeDir, "store.json"))
			if err != nil {
				t.Fatal(err)
			}
			var m struct {
				KDF    string  `json:"kdf"`
				Params *params `json:"params"`
			}
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			if m.KDF != tt.wantKDF || (m.Params == nil) != (tt.wantParams == nil) || (m.Params != nil && *m.Params != *tt.wantParams) {
				t.Errorf("store.json kdf %q params %+v, want %q %+v", m.KDF, m.Params, tt.wantKDF, tt.wantParams)
			}
			// Reopen with the same secret; the wrong KDF would fail the verifier.
			if _, err := certstore.Open(storeDir, tt.opts); err != nil {
				t.Errorf("reopen: %v", err)
			}
		})
	}
}
