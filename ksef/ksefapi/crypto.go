package ksefapi

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// sessionKey is the per-session AES-256 key and IV.
type sessionKey struct {
	key [32]byte
	iv  [16]byte
}

func newSessionKey() (*sessionKey, error) {
	var k sessionKey
	if _, err := rand.Read(k.key[:]); err != nil {
		return nil, fmt.Errorf("ksefapi: session key: %w", err)
	}
	if _, err := rand.Read(k.iv[:]); err != nil {
		return nil, fmt.Errorf("ksefapi: session iv: %w", err)
	}
	return &k, nil
}

// encryptionInfo wraps the AES key with RSA-OAEP SHA-256 under pub (EncryptionInfo).
func (k *sessionKey) encryptionInfo(pub PublicKey) (encryptionInfo, error) {
	wrapped, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub.RSA, k.key[:], nil)
	if err != nil {
		return encryptionInfo{}, fmt.Errorf("ksefapi: wrap session key: %w", err)
	}
	return encryptionInfo{
		EncryptedSymmetricKey: base64.StdEncoding.EncodeToString(wrapped),
		InitializationVector:  base64.StdEncoding.EncodeToString(k.iv[:]),
		PublicKeyID:           pub.PublicKeyID,
	}, nil
}

type encryptionInfo struct {
	EncryptedSymmetricKey string `json:"encryptedSymmetricKey"`
	InitializationVector  string `json:"initializationVector"`
	PublicKeyID           string `json:"publicKeyId,omitempty"`
}

// encryptToken is RSA-OAEP SHA-256 over "token|timestampMs" (the KSeF-token login).
func encryptToken(pub *rsa.PublicKey, token string, timestampMs int64) ([]byte, error) {
	msg := []byte(token + "|" + strconv.FormatInt(timestampMs, 10))
	out, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, msg, nil)
	if err != nil {
		return nil, fmt.Errorf("ksefapi: encrypt token: %w", err) // the error never contains msg
	}
	return out, nil
}

// EncryptCBC returns AES-256-CBC with PKCS#7 padding of plain: ciphertext only,
// the IV travels separately.
func EncryptCBC(key, iv, plain []byte) ([]byte, error) {
	var buf bytes.Buffer
	w, err := newCBCWriter(&buf, key, iv)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(plain); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// DecryptCBC reverses EncryptCBC and checks the padding.
func DecryptCBC(key, iv, ct []byte) ([]byte, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("ksefapi: aes: %w", err)
	}
	if len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, errors.New("ksefapi: ciphertext is not a whole number of blocks")
	}
	out := make([]byte, len(ct))
	cipher.NewCBCDecrypter(b, iv).CryptBlocks(out, ct)
	n := int(out[len(out)-1])
	if n == 0 || n > aes.BlockSize || n > len(out) {
		return nil, errors.New("ksefapi: bad PKCS#7 padding")
	}
	for _, p := range out[len(out)-n:] {
		if int(p) != n {
			return nil, errors.New("ksefapi: bad PKCS#7 padding")
		}
	}
	return out[:len(out)-n], nil
}

// cbcWriter streams AES-256-CBC with PKCS#7 padding written at Close, so batch
// parts of 100 MB never sit in memory.
type cbcWriter struct {
	w    io.Writer
	mode cipher.BlockMode
	buf  []byte // pending bytes, fewer than one block after each Write
	out  []byte
}

func newCBCWriter(w io.Writer, key, iv []byte) (*cbcWriter, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("ksefapi: aes: %w", err)
	}
	if len(iv) != aes.BlockSize {
		return nil, fmt.Errorf("ksefapi: IV is %d bytes, want %d", len(iv), aes.BlockSize)
	}
	return &cbcWriter{w: w, mode: cipher.NewCBCEncrypter(b, iv)}, nil
}

func (c *cbcWriter) Write(p []byte) (int, error) {
	n := len(p)
	c.buf = append(c.buf, p...)
	full := len(c.buf) - len(c.buf)%aes.BlockSize
	if full == 0 {
		return n, nil
	}
	if cap(c.out) < full {
		c.out = make([]byte, full)
	}
	out := c.out[:full]
	c.mode.CryptBlocks(out, c.buf[:full])
	if _, err := c.w.Write(out); err != nil {
		return 0, err
	}
	c.buf = append(c.buf[:0], c.buf[full:]...)
	return n, nil
}

// Close writes the final padded block. It does not close the underlying writer.
func (c *cbcWriter) Close() error {
	pad := aes.BlockSize - len(c.buf)%aes.BlockSize
	c.buf = append(c.buf, bytes.Repeat([]byte{byte(pad)}, pad)...)
	out := make([]byte, len(c.buf))
	c.mode.CryptBlocks(out, c.buf)
	c.buf = c.buf[:0]
	_, err := c.w.Write(out)
	return err
}

func sha256b64(b []byte) string {
	s := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(s[:])
}

// jsonUnmarshalStrict decodes one JSON value and rejects trailing data.
func jsonUnmarshalStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after JSON value")
	}
	return nil
}
