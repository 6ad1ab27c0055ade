package certstore_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/certstore"
	"github.com/posagent/posagent/certstore/certstoretest"
)

func fastOpts(o certstore.Options) *certstore.Options {
	kdf := certstoretest.FastKDF
	o.KDF = &kdf
	if o.Now == nil {
		o.Now = fixedNow
	}
	return &o
}

func TestStoreRoundTrip(t *testing.T) {
	keys(t)
	dir := t.TempDir()
	pass := writeSecret(t, dir, "correct horse battery staple\n", 0o600)
	storeDir := filepath.Join(dir, "store")

	s, err := certstore.Open(storeDir, fastOpts(certstore.Options{PassphraseFile: pass}))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	offline := concat(makeCert(t, certSpec{key: ec256}), pkcs8PEM(t, ec256))
	auth := concat(makeCert(t, certSpec{key: rsa2048, keyUsage: x509.KeyUsageDigitalSignature, serial: 0x1234}), pkcs8PEM(t, rsa2048))
	if _, err := s.Import(certstore.Offline, offline, ""); err != nil {
		t.Fatalf("Import offline: %v", err)
	}
	info, err := s.Import(certstore.Authentication, auth, "")
	if err != nil {
		t.Fatalf("Import authentication: %v", err)
	}
	if got, want := info.Serial, "0000000000001234"; got != want {
		t.Errorf("Import().Serial = %q, want %q", got, want)
	}

	// Reopen: everything must come back from disk alone.
	s2, err := certstore.Open(storeDir, fastOpts(certstore.Options{PassphraseFile: pass}))
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	list, err := s2.List()
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(list) != 2 || list[0].Usage != certstore.Offline || list[1].Usage != certstore.Authentication {
		t.Fatalf("List() = %+v, want offline then authentication", list)
	}
	if got, want := list[0].Serial, "01F20A5D352AE590"; got != want {
		t.Errorf("List()[0].Serial = %q, want %q", got, want)
	}
	if got, want := list[0].KeyType, certstore.KeyEC; got != want {
		t.Errorf("List()[0].KeyType = %q, want %q", got, want)
	}
	if got, want := list[0].DaysLeft(now), 365; got != want {
		t.Errorf("DaysLeft = %d, want %d", got, want)
	}
	for _, tt := range []struct {
		usage certstore.Usage
		pub   any
	}{{certstore.Offline, &ec256.PublicKey}, {certstore.Authentication, &rsa2048.PublicKey}} {
		c, err := s2.Load(tt.usage)
		if err != nil {
			t.Fatalf("Load(%v): %v", tt.usage, err)
		}
		if !publicEqual(c.Public(), tt.pub) {
			t.Errorf("Load(%v).Public() is not the imported key", tt.usage)
		}
		if c.Certificate() == nil || c.Usage() != tt.usage {
			t.Errorf("Load(%v) = %v", tt.usage, c)
		}
	}
}

func publicEqual(a, b crypto.PublicKey) bool {
	e, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && e.Equal(b)
}

func TestStoreFilesAndPermissions(t *testing.T) {
	keys(t)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "machine.key")
	if err := certstore.CreateMachineKey(keyFile); err != nil {
		t.Fatal(err)
	}
	storeDir := filepath.Join(dir, "store")
	s, err := certstore.Open(storeDir, fastOpts(certstore.Options{MachineKeyFile: keyFile}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Import(certstore.Offline, concat(makeCert(t, certSpec{key: ec256}), pkcs8PEM(t, ec256)), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateCSR(certstore.Authentication, certstore.Subject{CommonName: "x", CountryName: "PL"}, ""); err != nil {
		t.Fatal(err)
	}

	mode := func(p string) fs.FileMode {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return st.Mode().Perm()
	}
	if got := mode(keyFile); got != 0o600 {
		t.Errorf("machine key mode = %04o, want 0600", got)
	}
	if got := mode(storeDir); got != 0o700 {
		t.Errorf("store dir mode = %04o, want 0700", got)
	}
	entries, err := os.ReadDir(storeDir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		if got := mode(filepath.Join(storeDir, e.Name())); got != 0o600 {
			t.Errorf("%s mode = %04o, want 0600", e.Name(), got)
		}
	}
	if got, want := strings.Join(names, " "), "authentication.pending.pem offline.pem store.json"; got != want {
		t.Errorf("store files = %q, want %q (no temp files left)", got, want)
	}

	// The key is sealed: neither its PKCS#8 encoding nor its scalar is on disk.
	secret := [][]byte{mustPKCS8(t, ec256), ecScalar(t, ec256)}
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(storeDir, n))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secret {
			if bytes.Contains(b, s) || bytes.Contains(b, []byte(strings.TrimSpace(string(pkcs8PEM(t, ec256))))) {
				t.Errorf("%s holds the private key in clear", n)
			}
		}
	}

	// CreateMachineKey never overwrites the key that unlocks a store.
	if err := certstore.CreateMachineKey(keyFile); !errors.Is(err, fs.ErrExist) {
		t.Errorf("CreateMachineKey over existing file: error = %v, want fs.ErrExist", err)
	}

	// A store file opened up to others is refused on Load.
	if err := os.Chmod(filepath.Join(storeDir, "offline.pem"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(certstore.Offline); !errors.Is(err, certstore.ErrInsecurePermissions) {
		t.Errorf("Load with 0644 file: error = %v, want ErrInsecurePermissions", err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	good := writeSecret(t, dir, "long enough passphrase\n", 0o600)
	storeDir := filepath.Join(dir, "store")
	if _, err := certstore.Open(storeDir, fastOpts(certstore.Options{PassphraseFile: good})); err != nil {
		t.Fatalf("Open: %v", err)
	}
	file := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	loose := file("loose", "long enough passphrase\n", 0o644)
	groupOnly := file("group", "long enough passphrase\n", 0o640)
	wrong := file("wrong", "Passphrase-wrong\n", 0o600)
	short := file("short", "elevenchars\n", 0o600)
	empty := file("empty", "\n", 0o600)
	shortMachine := file("short.key", "abcd\n", 0o600)
	nonHexMachine := file("nonhex.key", strings.Repeat("zz", 32)+"\n", 0o600)
	longMachine := file("long.key", strings.Repeat("ab", 40)+"\n", 0o600)
	otherMachine := filepath.Join(dir, "other.key")
	if err := certstore.CreateMachineKey(otherMachine); err != nil {
		t.Fatal(err)
	}
	openDir := filepath.Join(dir, "open")
	if err := os.Mkdir(openDir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(openDir, 0o755)

	tests := []struct {
		name string
		dir  string
		opts *certstore.Options
		want error
	}{
		{"nil options", storeDir, nil, certstore.ErrNoSecret},
		{"no secret", storeDir, &certstore.Options{}, certstore.ErrNoSecret},
		{"both secrets", storeDir, &certstore.Options{PassphraseFile: good, MachineKeyFile: otherMachine}, certstore.ErrNoSecret},
		{"passphrase 0644", storeDir, &certstore.Options{PassphraseFile: loose}, certstore.ErrInsecurePermissions},
		{"passphrase 0640", storeDir, &certstore.Options{PassphraseFile: groupOnly}, certstore.ErrInsecurePermissions},
		{"missing passphrase file", storeDir, &certstore.Options{PassphraseFile: filepath.Join(dir, "nope")}, fs.ErrNotExist},
		{"empty passphrase", storeDir, &certstore.Options{PassphraseFile: empty}, certstore.ErrEmptySecret},
		{"11-byte passphrase", storeDir, &certstore.Options{PassphraseFile: short}, certstore.ErrShortPassphrase},
		{"wrong passphrase", storeDir, &certstore.Options{PassphraseFile: wrong}, certstore.ErrWrongSecret},
		{"machine key of another store", storeDir, &certstore.Options{MachineKeyFile: otherMachine}, certstore.ErrWrongSecret},
		{"short machine key", storeDir, &certstore.Options{MachineKeyFile: shortMachine}, certstore.ErrBadMachineKey},
		{"long machine key", storeDir, &certstore.Options{MachineKeyFile: longMachine}, certstore.ErrBadMachineKey},
		{"non-hex machine key", storeDir, &certstore.Options{MachineKeyFile: nonHexMachine}, certstore.ErrBadMachineKey},
		{"store dir 0755", openDir, &certstore.Options{PassphraseFile: good}, certstore.ErrInsecurePermissions},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := certstore.Open(tt.dir, tt.opts)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Open() error = %v, want %v", err, tt.want)
			}
			if s != nil {
				t.Error("Open() returned a store with an error")
			}
		})
	}

	t.Run("PermissionError names the fix", func(t *testing.T) {
		_, err := certstore.Open(storeDir, &certstore.Options{PassphraseFile: loose})
		var pe *certstore.PermissionError
		if !errors.As(err, &pe) || pe.Mode != 0o644 || pe.Path != loose {
			t.Fatalf("error %v, want *PermissionError for %s 0644", err, loose)
		}
		if !strings.Contains(err.Error(), "chmod 600 "+loose) {
			t.Errorf("Error() = %q, want a chmod hint", err)
		}
	})
	t.Run("corrupt store.json", func(t *testing.T) {
		d := filepath.Join(dir, "corrupt")
		if _, err := certstore.Open(d, fastOpts(certstore.Options{PassphraseFile: good})); err != nil {
			t.Fatal(err)
		}
		for _, content := range []string{"{", `{"version":1,"kdf":"argon2id","params":{"time":1,"memory_kib":4294967295,"threads":1},"salt":"AAAAAAAAAAAAAAAAAAAAAA==","cipher":"AES-256-GCM"}`, `{"version":2}`,
			`{"version":1,"kdf":"argon2id","salt":"AAAAAAAAAAAAAAAAAAAAAA==","cipher":"AES-256-GCM"}`,
			`{"version":1,"kdf":"hkdf-sha256","params":{"time":1,"memory_kib":64,"threads":1},"salt":"AAAAAAAAAAAAAAAAAAAAAA==","cipher":"AES-256-GCM"}`,
			`{"version":1,"kdf":"hkdf-sha256","salt":"AAAA","cipher":"AES-256-GCM"}`,
			`{"version":1,"kdf":"scrypt","salt":"AAAAAAAAAAAAAAAAAAAAAA==","cipher":"AES-256-GCM"}`} {
			if err := os.WriteFile(filepath.Join(d, "store.json"), []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := certstore.Open(d, &certstore.Options{PassphraseFile: good}); !errors.Is(err, certstore.ErrCorrupt) {
				t.Errorf("Open with store.json %.20q: error = %v, want ErrCorrupt", content, err)
			}
		}
	})
}

func TestDefaultKDF(t *testing.T) {
	if testing.Short() {
		t.Skip("argon2id with 64 MiB")
	}
	dir := t.TempDir()
	pass := writeSecret(t, dir, "long enough passphrase", 0o600)
	start := time.Now()
	if _, err := certstore.Open(filepath.Join(dir, "s"), &certstore.Options{PassphraseFile: pass}); err != nil {
		t.Fatal(err)
	}
	t.Logf("Open with DefaultKDF took %v", time.Since(start))
	b, err := os.ReadFile(filepath.Join(dir, "s", "store.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"memory_kib": 65536`)) || !bytes.Contains(b, []byte(`"kdf": "argon2id"`)) {
		t.Errorf("store.json = %s, want argon2id with 64 MiB", b)
	}
}

func TestStoreTamper(t *testing.T) {
	keys(t)
	setup := func(t *testing.T) (*certstore.Store, string) {
		s := certstoretest.NewStore(t, fixedNow)
		if _, err := s.Import(certstore.Offline, concat(makeCert(t, certSpec{key: ec256}), pkcs8PEM(t, ec256)), ""); err != nil {
			t.Fatal(err)
		}
		return s, filepath.Join(s.Dir(), "offline.pem")
	}
	t.Run("flipped ciphertext byte", func(t *testing.T) {
		s, p := setup(t)
		b, _ := os.ReadFile(p)
		certBlock, rest := pem.Decode(b)
		keyBlock, _ := pem.Decode(rest)
		keyBlock.Bytes[20] ^= 0x01 // inside the ciphertext, past the 12-byte nonce
		os.WriteFile(p, concat(pem.EncodeToMemory(certBlock), pem.EncodeToMemory(keyBlock)), 0o600)
		if _, err := s.Load(certstore.Offline); !errors.Is(err, certstore.ErrCorrupt) {
			t.Errorf("Load() error = %v, want ErrCorrupt", err)
		}
	})
	t.Run("certificate swapped", func(t *testing.T) {
		s, p := setup(t)
		b, _ := os.ReadFile(p)
		other := makeCert(t, certSpec{key: ec256, serial: 99}) // same key, other certificate
		end := bytes.Index(b, []byte("-----END CERTIFICATE-----\n")) + len("-----END CERTIFICATE-----\n")
		os.WriteFile(p, concat(other, b[end:]), 0o600)
		if _, err := s.Load(certstore.Offline); !errors.Is(err, certstore.ErrCorrupt) {
			t.Errorf("Load() error = %v, want ErrCorrupt", err)
		}
	})
	t.Run("truncated file", func(t *testing.T) {
		s, p := setup(t)
		b, _ := os.ReadFile(p)
		os.WriteFile(p, b[:len(b)/2], 0o600)
		if _, err := s.Load(certstore.Offline); !errors.Is(err, certstore.ErrCorrupt) {
			t.Errorf("Load() error = %v, want ErrCorrupt", err)
		}
		if _, err := s.List(); !errors.Is(err, certstore.ErrCorrupt) {
			t.Errorf("List() error = %v, want ErrCorrupt", err)
		}
	})
	t.Run("offline file moved to authentication", func(t *testing.T) {
		s, p := setup(t)
		os.Rename(p, filepath.Join(s.Dir(), "authentication.pem"))
		if _, err := s.Load(certstore.Authentication); !errors.Is(err, certstore.ErrCorrupt) {
			t.Errorf("Load() error = %v, want ErrCorrupt", err)
		}
	})
}

func TestStoreFailedImportChangesNothing(t *testing.T) {
	keys(t)
	s := certstoretest.NewStore(t, fixedNow)
	good := concat(makeCert(t, certSpec{key: ec256}), pkcs8PEM(t, ec256))
	if _, err := s.Import(certstore.Offline, good, ""); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(s.Dir(), "offline.pem"))
	bad := [][]byte{
		concat(makeCert(t, certSpec{key: ec256}), pkcs8PEM(t, ec256b)),
		concat(makeCert(t, certSpec{key: ec256b, keyUsage: x509.KeyUsageDigitalSignature}), pkcs8PEM(t, ec256b)),
		[]byte("garbage"),
	}
	for _, b := range bad {
		if _, err := s.Import(certstore.Offline, b, ""); err == nil {
			t.Fatal("Import of bad input succeeded")
		}
	}
	after, _ := os.ReadFile(filepath.Join(s.Dir(), "offline.pem"))
	if !bytes.Equal(before, after) {
		t.Error("a failed Import changed offline.pem")
	}
	if _, err := s.Load(certstore.Authentication); !errors.Is(err, certstore.ErrNotFound) {
		t.Errorf("Load(authentication) error = %v, want ErrNotFound", err)
	}
	c, err := s.Load(certstore.Offline)
	if err != nil || !publicEqual(c.Public(), &ec256.PublicKey) {
		t.Errorf("Load(offline) = %v, %v; want the first key", c, err)
	}
}

func TestStoreReplaceAndRemove(t *testing.T) {
	keys(t)
	s := certstoretest.NewStore(t, fixedNow)
	for _, k := range []*struct{ serial int64 }{{1}, {2}} {
		if _, err := s.Import(certstore.Offline, concat(makeCert(t, certSpec{key: ec256, serial: k.serial}), pkcs8PEM(t, ec256)), ""); err != nil {
			t.Fatal(err)
		}
	}
	c, err := s.Load(certstore.Offline)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.CertSerial(), "0000000000000002"; got != want {
		t.Errorf("after replace CertSerial() = %q, want %q", got, want)
	}
	if err := s.Remove(certstore.Offline); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(certstore.Offline); err != nil {
		t.Errorf("second Remove: %v", err)
	}
	if list, err := s.List(); err != nil || len(list) != 0 {
		t.Errorf("List() after Remove = %v, %v; want empty", list, err)
	}
}

func TestLoadChecksValidity(t *testing.T) {
	keys(t)
	clock := now
	s := certstoretest.NewStore(t, func() time.Time { return clock })
	if _, err := s.Import(certstore.Offline, concat(makeCert(t, certSpec{key: ec256, notAfter: now.Add(48 * time.Hour)}), pkcs8PEM(t, ec256)), ""); err != nil {
		t.Fatal(err)
	}
	clock = now.Add(72 * time.Hour)
	if _, err := s.Load(certstore.Offline); !errors.Is(err, certstore.ErrExpired) {
		t.Errorf("Load() after expiry error = %v, want ErrExpired", err)
	}
	list, err := s.List()
	if err != nil || len(list) != 1 {
		t.Fatalf("List() = %v, %v", list, err)
	}
	if got := list[0].DaysLeft(clock); got != -1 {
		t.Errorf("DaysLeft = %d, want -1", got)
	}
}

// ecScalar is k's private scalar as fixed-length big-endian bytes.
func ecScalar(t *testing.T, k *ecdsa.PrivateKey) []byte {
	t.Helper()
	b, err := k.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
