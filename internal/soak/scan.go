package soak

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"strings"
)

// pemMarkers are the armour lines of private keys and secret containers.
var pemMarkers = []string{
	"PRIVATE KEY-----", // PKCS#8, and "EC PRIVATE KEY" / "RSA PRIVATE KEY" too
	"BEGIN ENCRYPTED",
	"BEGIN PKCS12",
}

// ScanSecrets reports the first secret found in text: a private key's PEM
// armour, or any of secrets (name → exact string). The error names the
// secret and the offset, never the secret itself.
func ScanSecrets(text string, secrets map[string]string) error {
	for _, m := range pemMarkers {
		if i := strings.Index(text, m); i >= 0 {
			return fmt.Errorf("%w: private key PEM armour %q at offset %d", ErrSecretLeak, m, i)
		}
	}
	lower := strings.ToLower(text)
	for name, v := range secrets {
		if len(v) < 8 {
			return fmt.Errorf("soak: secret %s is shorter than 8 characters: the scan would match noise", name)
		}
		if i := strings.Index(text, v); i >= 0 {
			return fmt.Errorf("%w: %s at offset %d", ErrSecretLeak, name, i)
		}
		if isHex(v) {
			if i := strings.Index(lower, strings.ToLower(v)); i >= 0 {
				return fmt.Errorf("%w: %s at offset %d", ErrSecretLeak, name, i)
			}
		}
	}
	return nil
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}

// KeyForms returns the ways a private key's bytes could show up in a log:
// the base64 body of its PEM, its DER in standard and URL base64 and in hex,
// and the secret scalar (EC D, RSA D and first prime) in hex and base64. Each
// form is cut to a 24-character window from its middle, so that a log line
// holding any longer run of it is caught even if wrapped or truncated.
func KeyForms(keyPEM []byte) (map[string]string, error) {
	blk, _ := pem.Decode(keyPEM)
	if blk == nil {
		return nil, fmt.Errorf("soak: no PEM block in the key")
	}
	key, err := parseKey(blk)
	if err != nil {
		return nil, err
	}
	der := blk.Bytes
	forms := map[string]string{
		"DER base64":    base64.StdEncoding.EncodeToString(der),
		"DER base64url": base64.RawURLEncoding.EncodeToString(der),
		"DER hex":       hex.EncodeToString(der),
		"PEM body line": strings.SplitN(strings.TrimSpace(string(pem.EncodeToMemory(blk))), "\n", 3)[1],
		"PKCS#8 base64": "",
		"scalar hex":    "",
		"scalar base64": "",
		"RSA prime hex": "",
		"RSA prime b64": "",
	}
	if p8, err := x509.MarshalPKCS8PrivateKey(key); err == nil {
		forms["PKCS#8 base64"] = base64.StdEncoding.EncodeToString(p8)
	}
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		if e, err := k.ECDH(); err == nil {
			forms["scalar hex"] = hex.EncodeToString(e.Bytes())
			forms["scalar base64"] = base64.StdEncoding.EncodeToString(e.Bytes())
		}
	case *rsa.PrivateKey:
		forms["scalar hex"] = hex.EncodeToString(k.D.Bytes())
		forms["scalar base64"] = base64.StdEncoding.EncodeToString(k.D.Bytes())
		forms["RSA prime hex"] = hex.EncodeToString(k.Primes[0].Bytes())
		forms["RSA prime b64"] = base64.StdEncoding.EncodeToString(k.Primes[0].Bytes())
	}
	out := map[string]string{}
	for name, f := range forms {
		if f == "" {
			continue
		}
		out["private key "+name] = middle(f, 24)
	}
	return out, nil
}

// middle returns n characters from the middle of s: headers of DER and PEM
// (algorithm identifiers) are shared by every key and would match innocently.
func middle(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := (len(s) - n) / 2
	return s[i : i+n]
}

func parseKey(blk *pem.Block) (any, error) {
	if k, err := x509.ParsePKCS8PrivateKey(blk.Bytes); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(blk.Bytes); err == nil {
		return k, nil
	}
	if k, err := x509.ParsePKCS1PrivateKey(blk.Bytes); err == nil {
		return k, nil
	}
	return nil, fmt.Errorf("soak: unsupported private key type %q", blk.Type)
}
