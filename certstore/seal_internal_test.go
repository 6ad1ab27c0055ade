package certstore

import (
	"bytes"
	"errors"
	"testing"
)

func TestSealer(t *testing.T) {
	p := &KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}
	salt := bytes.Repeat([]byte{7}, 16)
	s, err := newSealer([]byte("secret one"), salt, p)
	if err != nil {
		t.Fatal(err)
	}
	other, err := newSealer([]byte("secret two"), salt, p)
	if err != nil {
		t.Fatal(err)
	}
	otherSalt, err := newSealer([]byte("secret one"), bytes.Repeat([]byte{8}, 16), p)
	if err != nil {
		t.Fatal(err)
	}
	plain := []byte("PKCS#8 bytes")
	blob, err := s.seal(plain, "offline", []byte{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(blob, plain) {
		t.Fatal("sealed blob holds the plaintext")
	}
	if again, _ := s.seal(plain, "offline", []byte{1, 2, 3}); bytes.Equal(again[:12], blob[:12]) {
		t.Error("two seals share a nonce")
	}
	got, err := s.open(blob, "offline", []byte{1, 2, 3})
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("open() = %q, %v; want %q", got, err, plain)
	}

	flipped := bytes.Clone(blob)
	flipped[len(flipped)-1] ^= 1
	tests := []struct {
		name  string
		s     *sealer
		blob  []byte
		label string
		bind  []byte
	}{
		{"other secret", other, blob, "offline", []byte{1, 2, 3}},
		{"other salt", otherSalt, blob, "offline", []byte{1, 2, 3}},
		{"other label", s, blob, "authentication", []byte{1, 2, 3}},
		{"other binding", s, blob, "offline", []byte{1, 2, 4}},
		{"flipped tag", s, flipped, "offline", []byte{1, 2, 3}},
		{"truncated", s, blob[:20], "offline", []byte{1, 2, 3}},
		{"empty", s, nil, "offline", []byte{1, 2, 3}},
	}
	for _, tt := range tests {
		if _, err := tt.s.open(tt.blob, tt.label, tt.bind); !errors.Is(err, errOpen) {
			t.Errorf("%s: open() error = %v, want errOpen", tt.name, err)
		}
	}
}

func TestSealerHKDF(t *testing.T) {
	secret := bytes.Repeat([]byte{0x42}, 32)
	salt := bytes.Repeat([]byte{7}, 16)
	h, err := newSealer(secret, salt, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := newSealer(secret, salt, &KDFParams{Time: 1, MemoryKiB: 64, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	blob, err := h.seal([]byte("key"), "offline", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := h.open(blob, "offline", nil); err != nil || string(got) != "key" {
		t.Fatalf("open() = %q, %v; want %q", got, err, "key")
	}
	// The two KDFs must give different keys for the same secret and salt.
	if _, err := a.open(blob, "offline", nil); !errors.Is(err, errOpen) {
		t.Errorf("argon2id sealer opened an HKDF blob: %v", err)
	}
}
