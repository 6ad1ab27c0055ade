package certstore

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzFormatName(f *testing.F) {
	f.Add([]byte{0x30, 0x00})
	f.Add([]byte{0x30, 0x0d, 0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x06, 0x13, 0x02, 'P', 'L'})
	f.Add([]byte{0x30, 0x80})
	f.Fuzz(func(t *testing.T, raw []byte) {
		if s := formatName(raw); !utf8.ValidString(s) {
			t.Fatalf("formatName() = %q, not UTF-8", s)
		}
	})
}

func FuzzOpenMeta(f *testing.F) {
	f.Add([]byte(`{"version":1,"kdf":"argon2id","params":{"time":1,"memory_kib":8,"threads":1},"salt":"AAAAAAAAAAAAAAAAAAAAAA==","cipher":"AES-256-GCM","check":"AAAA"}`))
	f.Add([]byte(`{"version":1,"kdf":"argon2id","params":{"time":1,"memory_kib":1048577,"threads":1}}`))
	f.Add([]byte(`{"version":1,"kdf":"hkdf-sha256","salt":"AAAAAAAAAAAAAAAAAAAAAA==","cipher":"AES-256-GCM","check":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := openMeta(data, []byte("secret")); err == nil {
			t.Fatal("openMeta accepted a verifier it never sealed")
		} else if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrWrongSecret) {
			t.Fatalf("openMeta() error = %v, want ErrCorrupt or ErrWrongSecret", err)
		}
	})
}

func FuzzReadSecretFile(f *testing.F) {
	f.Add([]byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"))
	f.Add([]byte("a long enough passphrase\r\n"))
	f.Add([]byte(strings.Repeat("ab", 40)))
	f.Add([]byte("\n"))
	path := filepath.Join(f.TempDir(), "secret")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if k, err := readSecretFile(path, true); err == nil && len(k) != 32 {
			t.Fatalf("machine key of %d bytes accepted", len(k))
		} else if err != nil && !errors.Is(err, ErrBadMachineKey) && !errors.Is(err, ErrEmptySecret) && len(data) <= maxSecretFile {
			t.Fatalf("machine key error = %v", err)
		}
		if p, err := readSecretFile(path, false); err == nil && len(p) < MinPassphraseLen {
			t.Fatalf("passphrase of %d bytes accepted", len(p))
		}
	})
}
