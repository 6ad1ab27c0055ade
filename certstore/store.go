package certstore

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Options configure Open. Exactly one of PassphraseFile and MachineKeyFile
// must be set; a nil *Options is refused for that reason.
type Options struct {
	// PassphraseFile holds a passphrase (trailing newlines are dropped).
	// Its mode must give group and others no access.
	PassphraseFile string
	// MachineKeyFile holds 64 hex digits, as written by CreateMachineKey.
	// Its mode must give group and others no access.
	MachineKeyFile string
	// KDF sets the argon2id parameters of a new store unlocked by a
	// passphrase; nil means DefaultKDF. A new store unlocked by a machine key
	// uses HKDF-SHA256 and ignores KDF. An existing store keeps the KDF and
	// parameters it was created with.
	KDF *KDFParams
	// Now returns the current time for validity checks; nil means time.Now.
	Now func() time.Time
}

// Store keeps one certificate and sealed key per usage in a directory. It
// is safe for concurrent use within one process; two processes must not
// write the same store at once.
type Store struct {
	dir  string
	now  func() time.Time
	seal *sealer

	mu    sync.Mutex // serialises writers of the usage files
	recMu sync.Mutex // serialises UpdateRecord's read-modify-write
}

// Open opens the store in dir, creating dir (0700) and store.json on first
// use. It fails with a *PermissionError if dir or the secret file lets group
// or others in, and with ErrWrongSecret if the secret does not unlock an
// existing store.
func Open(dir string, opts *Options) (*Store, error) {
	if opts == nil || (opts.PassphraseFile == "") == (opts.MachineKeyFile == "") {
		return nil, ErrNoSecret
	}
	var (
		secret []byte
		err    error
	)
	if opts.MachineKeyFile != "" {
		secret, err = readSecretFile(opts.MachineKeyFile, true)
	} else {
		secret, err = readSecretFile(opts.PassphraseFile, false)
	}
	if err != nil {
		return nil, err
	}
	defer clear(secret)

	if err := os.MkdirAll(dir, dirMode); err != nil {
		return nil, fmt.Errorf("certstore: create store dir: %w", err)
	}
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("certstore: stat store dir: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("certstore: %s is not a directory", dir)
	}
	if err := checkPerm(dir, st.Mode(), dirMode); err != nil {
		return nil, err
	}

	s := &Store{dir: dir, now: opts.Now}
	if s.now == nil {
		s.now = time.Now
	}
	data, err := readStoreFile(dir, metaFile)
	if errors.Is(err, fs.ErrNotExist) {
		var kdf *KDFParams
		if opts.PassphraseFile != "" {
			p := DefaultKDF
			if opts.KDF != nil {
				p = *opts.KDF
			}
			kdf = &p
		}
		sl, cerr := createMeta(dir, secret, kdf)
		switch {
		case cerr == nil:
			s.seal = sl
			return s, nil
		case !errors.Is(cerr, fs.ErrExist):
			return nil, cerr
		}
		// Another process created the store first; use its parameters.
		data, err = readStoreFile(dir, metaFile)
	}
	if err != nil {
		return nil, fmt.Errorf("certstore: read %s: %w", metaFile, err)
	}
	if s.seal, err = openMeta(data, secret); err != nil {
		return nil, err
	}
	return s, nil
}

// createMeta writes store.json for a new store (argon2id with kdf, or
// HKDF-SHA256 when kdf is nil), failing with fs.ErrExist if one appeared
// meanwhile.
func createMeta(dir string, secret []byte, kdf *KDFParams) (*sealer, error) {
	if kdf != nil && !kdf.valid() {
		return nil, fmt.Errorf("certstore: KDF parameters out of range: %+v", *kdf)
	}
	m, sl, err := newMeta(secret, kdf)
	if err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("certstore: encode %s: %w", metaFile, err)
	}
	if err := createFileAtomic(dir, metaFile, append(b, '\n')); err != nil {
		return nil, err
	}
	return sl, nil
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

func certFile(u Usage) string    { return u.String() + ".pem" }
func pendingFile(u Usage) string { return u.String() + ".pending.pem" }

// Import parses data as Parse does, checks it for usage, and installs the
// certificate and its key, replacing any certificate of that usage. Nothing
// is written when a check fails.
func (s *Store) Import(usage Usage, data []byte, password string) (*Info, error) {
	c, err := Parse(usage, data, password, s.now())
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.install(usage, c.cert, c.key); err != nil {
		return nil, err
	}
	info := c.Info()
	return &info, nil
}

// ImportCertificate installs a certificate issued for the key of the last
// CreateCSR of usage. cert is PEM or DER (POST /certificates/retrieve returns
// Base64 DER; decode it first). It fails with ErrNoPendingKey when no CSR
// key waits and ErrKeyMismatch when the certificate is for another key.
func (s *Store) ImportCertificate(usage Usage, cert []byte) (*Info, error) {
	if err := usage.check(); err != nil {
		return nil, err
	}
	der := cert
	if b, _ := pem.Decode(cert); b != nil {
		if b.Type != "CERTIFICATE" {
			return nil, &ParseError{Format: "pem", Reason: fmt.Sprintf("want a CERTIFICATE block, got %q", clip(b.Type, 40)), Err: ErrMalformed}
		}
		der = b.Bytes
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, &ParseError{Format: "x509", Reason: "certificate cannot be parsed", Err: ErrMalformed}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key, err := s.readPending(usage)
	if err != nil {
		return nil, err
	}
	if !publicKeysEqual(c.PublicKey, key.Public()) {
		return nil, ErrKeyMismatch
	}
	if err := checkCert(usage, c, s.now()); err != nil {
		return nil, err
	}
	if err := s.install(usage, c, key); err != nil {
		return nil, err
	}
	// A crash before this removal leaves the pending key; importing the same
	// certificate again then succeeds again.
	if err := removeFile(s.dir, pendingFile(usage)); err != nil {
		return nil, err
	}
	info := infoOf(usage, c)
	return &info, nil
}

// CreateCSR makes a new key of type kt ("" means KeyEC), seals it in the
// store as the pending key of usage (replacing an older pending key), and
// returns a CSR for subj to send to KSeF enrollment.
func (s *Store) CreateCSR(usage Usage, subj Subject, kt KeyType) (*CSR, error) {
	if err := usage.check(); err != nil {
		return nil, err
	}
	if _, err := subj.rdnSequence(); err != nil {
		return nil, err
	}
	key, err := newKey(kt)
	if err != nil {
		return nil, err
	}
	csr, err := NewCSR(key, subj)
	if err != nil {
		return nil, err
	}
	block, err := s.sealKey(key, "pending/"+usage.String(), nil, usage)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := writeFileAtomic(s.dir, pendingFile(usage), pem.EncodeToMemory(block)); err != nil {
		return nil, err
	}
	return csr, nil
}

// List returns the installed certificates in the order of Usages. It reads
// only public data and does not decrypt keys.
func (s *Store) List() ([]Info, error) {
	var out []Info
	for _, u := range Usages {
		c, _, err := s.readCertFile(u)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, infoOf(u, c))
	}
	return out, nil
}

// Load decrypts the key of usage and returns the certificate ready to sign.
// It fails with ErrNotFound when none is installed and with a
// *ValidityError when the certificate is not valid now.
func (s *Store) Load(usage Usage) (*Cert, error) {
	return s.load(usage, true)
}

func (s *Store) load(usage Usage, validity bool) (*Cert, error) {
	if err := usage.check(); err != nil {
		return nil, err
	}
	c, blob, err := s.readCertFile(usage)
	if err != nil {
		return nil, err
	}
	key, err := s.openKey(blob, usage.String(), certBinding(c))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: key does not decrypt", ErrCorrupt, certFile(usage))
	}
	if !publicKeysEqual(c.PublicKey, key.Public()) {
		return nil, fmt.Errorf("%w: %s: %w", ErrCorrupt, certFile(usage), ErrKeyMismatch)
	}
	if err := checkUsage(usage, c); err != nil {
		return nil, err
	}
	if validity {
		if err := checkValidity(c, s.now()); err != nil {
			return nil, err
		}
	}
	return &Cert{usage: usage, cert: c, key: key}, nil
}

// Pending reports whether a CSR key of usage waits for its certificate.
func (s *Store) Pending(usage Usage) (bool, error) {
	if err := usage.check(); err != nil {
		return false, err
	}
	_, err := os.Stat(filepath.Join(s.dir, pendingFile(usage)))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, fmt.Errorf("certstore: stat pending key: %w", err)
}

// Remove deletes the certificate and key of usage; a missing one is not an error.
func (s *Store) Remove(usage Usage) error {
	if err := usage.check(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return removeFile(s.dir, certFile(usage))
}

// install writes certificate and sealed key as one file, in one rename.
func (s *Store) install(usage Usage, c *x509.Certificate, key crypto.Signer) error {
	block, err := s.sealKey(key, usage.String(), certBinding(c), usage)
	if err != nil {
		return err
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	data = append(data, pem.EncodeToMemory(block)...)
	return writeFileAtomic(s.dir, certFile(usage), data)
}

// certBinding ties a sealed key to its certificate, so swapping the
// certificate block in the file is detected.
func certBinding(c *x509.Certificate) []byte {
	h := sha256.Sum256(c.Raw)
	return h[:]
}

func (s *Store) sealKey(key crypto.Signer, label string, bind []byte, u Usage) (*pem.Block, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("certstore: marshal key: %w", err)
	}
	defer clear(der)
	blob, err := s.seal.seal(der, label, bind)
	if err != nil {
		return nil, err
	}
	return &pem.Block{
		Type:    sealedKeyType,
		Headers: map[string]string{"Cipher": "AES-256-GCM", "Usage": u.String()},
		Bytes:   blob,
	}, nil
}

func (s *Store) openKey(blob []byte, label string, bind []byte) (crypto.Signer, error) {
	der, err := s.seal.open(blob, label, bind)
	if err != nil {
		return nil, err
	}
	defer clear(der)
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, errOpen
	}
	return asSigner(k)
}

// readCertFile returns the certificate and the sealed key blob of usage.
func (s *Store) readCertFile(u Usage) (*x509.Certificate, []byte, error) {
	name := certFile(u)
	data, err := readStoreFile(s.dir, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("%w %s", ErrNotFound, u)
	}
	if err != nil {
		return nil, nil, err
	}
	var (
		cert *x509.Certificate
		blob []byte
	)
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		switch {
		case b.Type == "CERTIFICATE" && cert == nil:
			if cert, err = x509.ParseCertificate(b.Bytes); err != nil {
				return nil, nil, fmt.Errorf("%w: %s: certificate cannot be parsed", ErrCorrupt, name)
			}
		case b.Type == sealedKeyType && blob == nil:
			blob = b.Bytes
		default:
			return nil, nil, fmt.Errorf("%w: %s: unexpected block", ErrCorrupt, name)
		}
	}
	if cert == nil || blob == nil {
		return nil, nil, fmt.Errorf("%w: %s: certificate or key missing", ErrCorrupt, name)
	}
	return cert, blob, nil
}

func (s *Store) readPending(u Usage) (crypto.Signer, error) {
	name := pendingFile(u)
	data, err := readStoreFile(s.dir, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w %s", ErrNoPendingKey, u)
	}
	if err != nil {
		return nil, err
	}
	b, _ := pem.Decode(data)
	if b == nil || b.Type != sealedKeyType {
		return nil, fmt.Errorf("%w: %s: no sealed key", ErrCorrupt, name)
	}
	key, err := s.openKey(b.Bytes, "pending/"+u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: key does not decrypt", ErrCorrupt, name)
	}
	return key, nil
}
