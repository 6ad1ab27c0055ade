package certstore

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/hkdf"
)

// KDFParams are the argon2id parameters that turn a passphrase into the
// AES-256 key. They are fixed when a store is created and kept in
// store.json with the salt.
type KDFParams struct {
	Time      uint32 `json:"time"`       // passes
	MemoryKiB uint32 `json:"memory_kib"` // memory in KiB
	Threads   uint8  `json:"threads"`
}

// DefaultKDF follows the second recommendation of RFC 9106 with fewer lanes,
// sized for a POS terminal: 64 MiB, 3 passes; it runs once per Open.
var DefaultKDF = KDFParams{Time: 3, MemoryKiB: 64 * 1024, Threads: 2}

// Bounds on the parameters read back from store.json, so a damaged file
// cannot make Open allocate without limit.
const (
	maxKDFTime      = 64
	maxKDFMemoryKiB = 1 << 20 // 1 GiB
	minSaltLen      = 16
	metaVersion     = 1
	metaFile        = "store.json"
	sealedKeyType   = "POSAGENT SEALED PRIVATE KEY"
	checkPlaintext  = "posagent certstore verifier"

	// kdfArgon2id stretches a passphrase, a human secret worth slowing
	// guesses on. kdfHKDF expands a machine key, which is already 256 random
	// bits: a memory-hard KDF would add nothing but 64 MiB of resident pages.
	kdfArgon2id = "argon2id"
	kdfHKDF     = "hkdf-sha256"
	hkdfInfo    = "posagent/certstore/v1 key-encryption key"
)

func (p KDFParams) valid() bool {
	return p.Time >= 1 && p.Time <= maxKDFTime && p.MemoryKiB >= 8*uint32(max(p.Threads, 1)) &&
		p.MemoryKiB <= maxKDFMemoryKiB && p.Threads >= 1
}

// meta is store.json.
type meta struct {
	Version int        `json:"version"`
	KDF     string     `json:"kdf"`
	Params  *KDFParams `json:"params,omitempty"` // argon2id only
	Salt    []byte     `json:"salt"`
	Cipher  string     `json:"cipher"`
	Check   []byte     `json:"check"` // checkPlaintext sealed under the derived key
}

// sealer encrypts and authenticates key material with AES-256-GCM. The
// additional data binds each sealed blob to its place in the store.
type sealer struct{ aead cipher.AEAD }

// newSealer derives the key with argon2id when p is set and with
// HKDF-SHA256 when p is nil.
func newSealer(secret, salt []byte, p *KDFParams) (*sealer, error) {
	var k []byte
	if p != nil {
		k = argon2.IDKey(secret, salt, p.Time, p.MemoryKiB, p.Threads, 32)
	} else {
		k = make([]byte, 32)
		if _, err := io.ReadFull(hkdf.New(sha256.New, secret, salt, []byte(hkdfInfo)), k); err != nil {
			return nil, fmt.Errorf("certstore: hkdf: %w", err)
		}
	}
	defer clear(k)
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, fmt.Errorf("certstore: cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("certstore: gcm: %w", err)
	}
	return &sealer{aead: aead}, nil
}

func aad(label string, bind []byte) []byte {
	b := append([]byte("posagent/certstore/v1\x00"), label...)
	b = append(b, 0)
	return append(b, bind...)
}

// seal returns nonce || ciphertext || tag.
func (s *sealer) seal(plaintext []byte, label string, bind []byte) ([]byte, error) {
	out := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plaintext)+s.aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		return nil, fmt.Errorf("certstore: nonce: %w", err)
	}
	return s.aead.Seal(out, out, plaintext, aad(label, bind)), nil
}

func (s *sealer) open(blob []byte, label string, bind []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(blob) < n+s.aead.Overhead() {
		return nil, errOpen
	}
	pt, err := s.aead.Open(nil, blob[:n], blob[n:], aad(label, bind))
	if err != nil {
		return nil, errOpen
	}
	return pt, nil
}

// newMeta creates the parameters and verifier of a new store: argon2id with
// p, or HKDF-SHA256 when p is nil.
func newMeta(secret []byte, p *KDFParams) (*meta, *sealer, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return nil, nil, fmt.Errorf("certstore: salt: %w", err)
	}
	s, err := newSealer(secret, salt, p)
	if err != nil {
		return nil, nil, err
	}
	check, err := s.seal([]byte(checkPlaintext), "check", nil)
	if err != nil {
		return nil, nil, err
	}
	kdf := kdfHKDF
	if p != nil {
		kdf = kdfArgon2id
	}
	return &meta{Version: metaVersion, KDF: kdf, Params: p, Salt: salt, Cipher: "AES-256-GCM", Check: check}, s, nil
}

// openMeta derives the key from an existing store.json and checks it
// against the verifier.
func openMeta(data, secret []byte) (*sealer, error) {
	var m meta
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%w: %s: not valid JSON", ErrCorrupt, metaFile)
	}
	if m.Version != metaVersion || (m.KDF != kdfArgon2id && m.KDF != kdfHKDF) || m.Cipher != "AES-256-GCM" {
		return nil, fmt.Errorf("%w: %s: unsupported version %d, kdf %q, cipher %q", ErrCorrupt, metaFile, m.Version, clip(m.KDF, 20), clip(m.Cipher, 20))
	}
	// A store keeps the KDF it was created with, whatever secret opens it.
	switch {
	case len(m.Salt) < minSaltLen:
		return nil, fmt.Errorf("%w: %s: salt shorter than %d bytes", ErrCorrupt, metaFile, minSaltLen)
	case m.KDF == kdfArgon2id && (m.Params == nil || !m.Params.valid()):
		return nil, fmt.Errorf("%w: %s: KDF parameters out of range", ErrCorrupt, metaFile)
	case m.KDF == kdfHKDF && m.Params != nil:
		return nil, fmt.Errorf("%w: %s: %s takes no parameters", ErrCorrupt, metaFile, kdfHKDF)
	}
	s, err := newSealer(secret, m.Salt, m.Params)
	if err != nil {
		return nil, err
	}
	pt, err := s.open(m.Check, "check", nil)
	if err != nil || string(pt) != checkPlaintext {
		return nil, ErrWrongSecret
	}
	return s, nil
}
