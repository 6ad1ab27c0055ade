package certstore

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// MinPassphraseLen is the shortest passphrase Open accepts. argon2id slows
// guessing, but cannot save a passphrase of a few characters.
const MinPassphraseLen = 12

const (
	fileMode = 0o600
	dirMode  = 0o700
	// maxSecretFile bounds how much of a secret file is read.
	maxSecretFile = 4096
)

// CreateMachineKey writes a new random 256-bit machine key, as 64 hex
// digits and a newline, to path with mode 0600. It refuses to overwrite an
// existing file, since that would lock the store it protects.
func CreateMachineKey(path string) error {
	var k [32]byte
	if _, err := rand.Read(k[:]); err != nil {
		return fmt.Errorf("certstore: machine key: %w", err)
	}
	buf := make([]byte, 0, 65)
	buf = hex.AppendEncode(buf, k[:])
	buf = append(buf, '\n')
	clear(k[:])
	defer clear(buf)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
	if err != nil {
		return fmt.Errorf("certstore: create machine key: %w", err)
	}
	if _, err := f.Write(buf); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("certstore: write machine key %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("certstore: sync machine key %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("certstore: close machine key %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}

// readSecretFile reads a passphrase (machine=false) or a machine key file.
// Errors name the path and never the contents.
func readSecretFile(path string, machine bool) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("certstore: open secret file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("certstore: stat secret file: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("certstore: secret file %s is not a regular file", path)
	}
	if err := checkPerm(path, st.Mode(), fileMode); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return nil, fmt.Errorf("certstore: read secret file %s: %w", path, err)
	}
	if len(b) > maxSecretFile {
		clear(b)
		return nil, fmt.Errorf("certstore: secret file %s is larger than %d bytes", path, maxSecretFile)
	}
	secret := bytes.TrimRight(b, "\r\n")
	if len(secret) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrEmptySecret, path)
	}
	if !machine {
		if len(secret) < MinPassphraseLen {
			clear(b)
			return nil, fmt.Errorf("%w: %s holds %d bytes, want at least %d", ErrShortPassphrase, path, len(secret), MinPassphraseLen)
		}
		return secret, nil
	}
	defer clear(b)
	if len(secret) != 64 {
		return nil, fmt.Errorf("%w: %s", ErrBadMachineKey, path)
	}
	k := make([]byte, 32)
	if _, err := hex.Decode(k, secret); err != nil {
		clear(k)
		return nil, fmt.Errorf("%w: %s", ErrBadMachineKey, path)
	}
	return k, nil
}

// checkPerm refuses modes that give group or others any access.
func checkPerm(path string, mode fs.FileMode, want fs.FileMode) error {
	if mode.Perm()&0o077 != 0 {
		return &PermissionError{Path: path, Mode: mode.Perm(), Want: want}
	}
	return nil
}

// writeFileAtomic replaces dir/name with data: temp file, fsync, rename,
// fsync of the directory. Readers see the old or the new file, never part.
func writeFileAtomic(dir, name string, data []byte) (err error) {
	f, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return fmt.Errorf("certstore: write %s: %w", name, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(fileMode); err != nil {
		return fmt.Errorf("certstore: chmod %s: %w", name, err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("certstore: write %s: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("certstore: sync %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("certstore: close %s: %w", name, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("certstore: rename %s: %w", name, err)
	}
	return syncDir(dir)
}

// createFileAtomic writes dir/name like writeFileAtomic but fails with
// fs.ErrExist instead of replacing an existing file: the temp file is
// hard-linked into place, which is atomic and exclusive.
func createFileAtomic(dir, name string, data []byte) (err error) {
	f, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return fmt.Errorf("certstore: write %s: %w", name, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("certstore: write %s: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("certstore: sync %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("certstore: close %s: %w", name, err)
	}
	if err := os.Link(tmp, filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("certstore: create %s: %w", name, err)
	}
	return syncDir(dir)
}

// readStoreFile reads a file of the store, refusing loose permissions.
func readStoreFile(dir, name string) ([]byte, error) {
	path := filepath.Join(dir, name)
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("certstore: stat %s: %w", name, err)
	}
	if err := checkPerm(path, st.Mode(), fileMode); err != nil {
		return nil, err
	}
	return io.ReadAll(f)
}

func removeFile(dir, name string) error {
	if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("certstore: remove %s: %w", name, err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("certstore: open dir for sync: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("certstore: sync dir %s: %w", dir, err)
	}
	return nil
}
