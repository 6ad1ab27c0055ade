package ksefapi

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"
)

// KeyUsage is what an MF public-key certificate may be used for.
type KeyUsage string

// The two usages of GET /security/public-key-certificates.
const (
	UsageKsefToken    KeyUsage = "KsefTokenEncryption"
	UsageSymmetricKey KeyUsage = "SymmetricKeyEncryption"
)

// PublicKey is one MF public-key certificate (PublicKeyCertificate).
type PublicKey struct {
	Certificate   *x509.Certificate
	CertificateID string
	PublicKeyID   string
	ValidFrom     time.Time
	ValidTo       time.Time
	Usage         []KeyUsage
	RSA           *rsa.PublicKey
}

type publicKeyJSON struct {
	Certificate   []byte     `json:"certificate"` // Base64 DER
	CertificateID string     `json:"certificateId"`
	PublicKeyID   string     `json:"publicKeyId"`
	ValidFrom     time.Time  `json:"validFrom"`
	ValidTo       time.Time  `json:"validTo"`
	Usage         []KeyUsage `json:"usage"`
}

// ParsePublicKeys decodes the body of GET /security/public-key-certificates.
// Entries that are not RSA certificates are rejected: both usages are RSA-OAEP.
func ParsePublicKeys(body []byte) ([]PublicKey, error) {
	var raw []publicKeyJSON
	if err := jsonUnmarshalStrict(body, &raw); err != nil {
		return nil, fmt.Errorf("ksefapi: public keys: %w", err)
	}
	out := make([]PublicKey, 0, len(raw))
	for i, r := range raw {
		cert, err := x509.ParseCertificate(r.Certificate)
		if err != nil {
			return nil, fmt.Errorf("ksefapi: public key %d: certificate: %w", i, err)
		}
		pub, ok := cert.PublicKey.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("ksefapi: public key %d: not an RSA key (%T)", i, cert.PublicKey)
		}
		id := r.PublicKeyID
		if id == "" { // publicKeyId = Base64(SHA-256(SubjectPublicKeyInfo))
			sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
			id = base64.StdEncoding.EncodeToString(sum[:])
		}
		out = append(out, PublicKey{
			Certificate: cert, CertificateID: r.CertificateID, PublicKeyID: id,
			ValidFrom: r.ValidFrom, ValidTo: r.ValidTo, Usage: r.Usage, RSA: pub,
		})
	}
	return out, nil
}

// SelectKey picks the key for usage that is valid at now, preferring the latest
// ValidFrom (the rule of ksef-api.md §3).
func SelectKey(keys []PublicKey, usage KeyUsage, now time.Time) (PublicKey, error) {
	var best *PublicKey
	for i := range keys {
		k := &keys[i]
		if !slices.Contains(k.Usage, usage) || now.Before(k.ValidFrom) || !now.Before(k.ValidTo) {
			continue
		}
		if best == nil || k.ValidFrom.After(best.ValidFrom) {
			best = k
		}
	}
	if best == nil {
		return PublicKey{}, fmt.Errorf("%w %s", ErrNoPublicKey, usage)
	}
	return *best, nil
}

// keyCache holds the MF key list between fetches.
type keyCache struct {
	ttl time.Duration

	mu      sync.Mutex // guards keys and fetched
	keys    []PublicKey
	fetched time.Time
}

func (k *keyCache) invalidate() {
	k.mu.Lock()
	k.keys, k.fetched = nil, time.Time{}
	k.mu.Unlock()
}

// PublicKeys returns the MF public keys, from the cache when fresh.
func (c *Client) PublicKeys(ctx context.Context) ([]PublicKey, error) {
	now := c.now()
	c.keys.mu.Lock()
	if c.keys.keys != nil && now.Sub(c.keys.fetched) < c.keys.ttl {
		keys := c.keys.keys
		c.keys.mu.Unlock()
		return keys, nil
	}
	c.keys.mu.Unlock()

	_, body, err := c.doRaw(ctx, call{op: "public keys", method: http.MethodGet, path: "/security/public-key-certificates"})
	if err != nil {
		return nil, err
	}
	keys, err := ParsePublicKeys(body)
	if err != nil {
		return nil, err
	}
	c.keys.mu.Lock()
	c.keys.keys, c.keys.fetched = keys, now
	c.keys.mu.Unlock()
	return keys, nil
}

// publicKey returns the key for usage valid now; a cached list with no valid key
// is re-fetched once (the MF may have rotated keys).
func (c *Client) publicKey(ctx context.Context, usage KeyUsage) (PublicKey, error) {
	keys, err := c.PublicKeys(ctx)
	if err != nil {
		return PublicKey{}, err
	}
	k, err := SelectKey(keys, usage, c.now())
	if err == nil {
		return k, nil
	}
	c.keys.invalidate()
	if keys, err = c.PublicKeys(ctx); err != nil {
		return PublicKey{}, err
	}
	return SelectKey(keys, usage, c.now())
}

// withKey runs fn with the key for usage; on 21470 (unknown or retired key) it
// re-fetches the key list and runs fn once more.
func withKey[T any](ctx context.Context, c *Client, usage KeyUsage, fn func(PublicKey) (T, error)) (T, error) {
	k, err := c.publicKey(ctx, usage)
	if err != nil {
		var zero T
		return zero, err
	}
	v, err := fn(k)
	if !errors.Is(err, ErrUnknownPublicKey) {
		return v, err
	}
	c.log.Info("ksef public key rejected, refetching", "publicKeyId", k.PublicKeyID)
	c.keys.invalidate()
	if k, err = c.publicKey(ctx, usage); err != nil {
		var zero T
		return zero, err
	}
	return fn(k)
}
