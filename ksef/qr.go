package ksef

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"fmt"
	"math/big"
	"strings"
)

// Signer signs KOD II links. It is a crypto.Signer over the private key of a
// KSeF Offline certificate, plus that certificate's serial number as 16
// uppercase hex digits. certstore provides implementations.
type Signer interface {
	crypto.Signer
	CertSerial() string
}

// Context identifier types accepted in KOD II links.
const (
	CtxNip        = "Nip"
	CtxInternalID = "InternalId"
	CtxNipVatUe   = "NipVatUe"
	CtxPeppolID   = "PeppolId"
)

var b64 = base64.RawURLEncoding.Strict()

// pssOptions are the RSASSA-PSS parameters KSeF requires for KOD II.
var pssOptions = &rsa.PSSOptions{SaltLength: 32, Hash: crypto.SHA256}

// KOD1 returns the invoice verification link
// https://{host}/invoice/{sellerNIP}/{DD-MM-YYYY}/{hash as Base64URL}.
// Its label on paper is the KSeF number once known, else "OFFLINE".
func KOD1(env Environment, sellerNIP string, p1 Date, hash [32]byte) string {
	return "https://" + env.QRHost() + "/invoice/" + sellerNIP + "/" + p1.DMY() + "/" + b64.EncodeToString(hash[:])
}

// KOD2 returns the certificate link of an offline invoice,
// https://{host}/certificate/{ctxType}/{ctxValue}/{sellerNIP}/{serial}/{hash}/{signature},
// where the signature covers the link without "https://" up to the hash. RSA
// keys (≥2048 bits) sign with RSASSA-PSS SHA-256, MGF1-SHA-256, salt 32; ECDSA
// P-256 keys sign SHA-256 and the signature is written as r||s (64 bytes).
func KOD2(env Environment, ctxType, ctxValue, sellerNIP string, hash [32]byte, s Signer) (string, error) {
	if !env.Valid() {
		return "", fmt.Errorf("kod2: %w", ErrEnvironment)
	}
	if err := checkContext(ctxType, ctxValue); err != nil {
		return "", err
	}
	if !isTenDigits(sellerNIP) {
		return "", fmt.Errorf("kod2: %w %q: want 10 digits", ErrNIP, sellerNIP)
	}
	serial := s.CertSerial()
	if !validSerial(serial) {
		return "", fmt.Errorf("kod2: %w %q: want 16 uppercase hex digits", ErrCertSerial, serial)
	}
	signed := env.QRHost() + "/certificate/" + ctxType + "/" + ctxValue + "/" + sellerNIP + "/" + serial + "/" + b64.EncodeToString(hash[:])
	digest := sha256.Sum256([]byte(signed))
	var sig []byte
	switch pub := s.Public().(type) {
	case *rsa.PublicKey:
		if pub.N.BitLen() < 2048 {
			return "", fmt.Errorf("kod2: %w: RSA key of %d bits, want at least 2048", ErrKeyType, pub.N.BitLen())
		}
		raw, err := s.Sign(rand.Reader, digest[:], pssOptions)
		if err != nil {
			return "", fmt.Errorf("kod2 sign: %w", err)
		}
		sig = raw
	case *ecdsa.PublicKey:
		if pub.Curve != elliptic.P256() {
			return "", fmt.Errorf("kod2: %w: ECDSA curve %s, want P-256", ErrKeyType, pub.Curve.Params().Name)
		}
		der, err := s.Sign(rand.Reader, digest[:], crypto.SHA256)
		if err != nil {
			return "", fmt.Errorf("kod2 sign: %w", err)
		}
		if sig, err = derToP1363(der); err != nil {
			return "", fmt.Errorf("kod2 sign: %w", err)
		}
	default:
		return "", fmt.Errorf("kod2: %w: %T", ErrKeyType, pub)
	}
	return "https://" + signed + "/" + b64.EncodeToString(sig), nil
}

// KOD1Link is a parsed KOD I link.
type KOD1Link struct {
	Env       Environment
	SellerNIP string
	P1        Date
	Hash      [32]byte
}

// KOD2Link is a parsed KOD II link. Signed is the exact string the signature covers.
type KOD2Link struct {
	Env        Environment
	CtxType    string
	CtxValue   string
	SellerNIP  string
	CertSerial string
	Hash       [32]byte
	Signature  []byte
	Signed     string
}

// ParseKOD1 parses a link produced by KOD1.
func ParseKOD1(link string) (KOD1Link, error) {
	env, segs, err := splitLink(link, "invoice", 3)
	if err != nil {
		return KOD1Link{}, err
	}
	if !isTenDigits(segs[0]) {
		return KOD1Link{}, fmt.Errorf("%w: seller NIP %q", ErrLink, segs[0])
	}
	d, err := parseDMY(segs[1])
	if err != nil {
		return KOD1Link{}, fmt.Errorf("%w: date %q", ErrLink, segs[1])
	}
	h, err := decodeHash(segs[2])
	if err != nil {
		return KOD1Link{}, err
	}
	return KOD1Link{Env: env, SellerNIP: segs[0], P1: d, Hash: h}, nil
}

// ParseKOD2 parses a link produced by KOD2 without checking the signature.
func ParseKOD2(link string) (KOD2Link, error) {
	env, segs, err := splitLink(link, "certificate", 6)
	if err != nil {
		return KOD2Link{}, err
	}
	if err := checkContext(segs[0], segs[1]); err != nil {
		return KOD2Link{}, fmt.Errorf("%w: %w", ErrLink, err)
	}
	if !isTenDigits(segs[2]) {
		return KOD2Link{}, fmt.Errorf("%w: seller NIP %q", ErrLink, segs[2])
	}
	if !validSerial(segs[3]) {
		return KOD2Link{}, fmt.Errorf("%w: certificate serial %q", ErrLink, segs[3])
	}
	h, err := decodeHash(segs[4])
	if err != nil {
		return KOD2Link{}, err
	}
	sig, err := decodeB64URL(segs[5])
	if err != nil || len(sig) == 0 {
		return KOD2Link{}, fmt.Errorf("%w: signature is not Base64URL", ErrLink)
	}
	signed := strings.TrimPrefix(link, "https://")
	signed = signed[:len(signed)-len(segs[5])-1]
	return KOD2Link{Env: env, CtxType: segs[0], CtxValue: segs[1], SellerNIP: segs[2], CertSerial: segs[3],
		Hash: h, Signature: sig, Signed: signed}, nil
}

// VerifyKOD2 parses link and checks its signature against pub, which may be
// an *rsa.PublicKey, an *ecdsa.PublicKey (P-256) or an *x509.Certificate.
// ECDSA signatures are accepted as r||s and, as KSeF also allows, as ASN.1 DER.
func VerifyKOD2(link string, pub crypto.PublicKey) error {
	l, err := ParseKOD2(link)
	if err != nil {
		return err
	}
	if c, ok := pub.(*x509.Certificate); ok {
		pub = c.PublicKey
	}
	digest := sha256.Sum256([]byte(l.Signed))
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if err := rsa.VerifyPSS(k, crypto.SHA256, digest[:], l.Signature, pssOptions); err != nil {
			return fmt.Errorf("%w: RSASSA-PSS", ErrSignature)
		}
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return fmt.Errorf("%w: ECDSA curve %s, want P-256", ErrKeyType, k.Curve.Params().Name)
		}
		if len(l.Signature) == 64 {
			r := new(big.Int).SetBytes(l.Signature[:32])
			s := new(big.Int).SetBytes(l.Signature[32:])
			if !ecdsa.Verify(k, digest[:], r, s) {
				return fmt.Errorf("%w: ECDSA r||s", ErrSignature)
			}
			return nil
		}
		if !ecdsa.VerifyASN1(k, digest[:], l.Signature) {
			return fmt.Errorf("%w: ECDSA", ErrSignature)
		}
	default:
		return fmt.Errorf("%w: %T", ErrKeyType, pub)
	}
	return nil
}

// splitLink checks the scheme, host and kind of a QR link and returns its n
// remaining path segments.
func splitLink(link, kind string, n int) (Environment, []string, error) {
	rest, ok := strings.CutPrefix(link, "https://")
	if !ok {
		return 0, nil, fmt.Errorf("%w: want https://", ErrLink)
	}
	segs := strings.Split(rest, "/")
	if len(segs) != n+2 {
		return 0, nil, fmt.Errorf("%w: want %d path segments after %q, got %d", ErrLink, n, kind, len(segs)-2)
	}
	env, ok := environmentForHost(segs[0])
	if !ok {
		return 0, nil, fmt.Errorf("%w: unknown host %q", ErrLink, segs[0])
	}
	if segs[1] != kind {
		return 0, nil, fmt.Errorf("%w: want /%s/, got /%s/", ErrLink, kind, segs[1])
	}
	for _, s := range segs[2:] {
		if s == "" {
			return 0, nil, fmt.Errorf("%w: empty path segment", ErrLink)
		}
	}
	return env, segs[2:], nil
}

func decodeHash(s string) ([32]byte, error) {
	var h [32]byte
	b, err := decodeB64URL(s)
	if err != nil || len(b) != 32 {
		return h, fmt.Errorf("%w: hash %q is not 32 bytes of Base64URL", ErrLink, s)
	}
	copy(h[:], b)
	return h, nil
}

// decodeB64URL decodes unpadded Base64URL. encoding/base64 skips CR and LF
// even in strict mode, so a link with a line break inside its hash would
// parse to the same hash as the clean link: such text is refused first.
func decodeB64URL(s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return nil, fmt.Errorf("%w: %q is not a Base64URL character", ErrLink, c)
		}
	}
	return b64.DecodeString(s)
}

func parseDMY(s string) (Date, error) {
	if len(s) != 10 || s[2] != '-' || s[5] != '-' {
		return Date{}, ErrDate
	}
	return ParseDate(s[6:] + "-" + s[3:5] + "-" + s[:2])
}

func checkContext(typ, val string) error {
	switch typ {
	case CtxNip, CtxInternalID, CtxNipVatUe, CtxPeppolID:
	default:
		return fmt.Errorf("kod2: unknown context type %q (want Nip, InternalId, NipVatUe or PeppolId)", typ)
	}
	if val == "" || strings.ContainsAny(val, "/?#% ") {
		return fmt.Errorf("kod2: context value %q is empty or not URL-safe", val)
	}
	if typ == CtxNip && !isTenDigits(val) {
		return fmt.Errorf("kod2: context NIP %q: %w", val, ErrNIP)
	}
	return nil
}

func isTenDigits(s string) bool { return len(s) == 10 && allDigits(s) }

func validSerial(s string) bool { return len(s) == 16 && upperHex(s) }

// derToP1363 turns an ASN.1 ECDSA signature into fixed-width r||s for P-256.
func derToP1363(der []byte) ([]byte, error) {
	var sig struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &sig)
	if err != nil || len(rest) != 0 || sig.R == nil || sig.S == nil || sig.R.Sign() <= 0 || sig.S.Sign() <= 0 {
		return nil, fmt.Errorf("malformed ECDSA signature from signer")
	}
	if sig.R.BitLen() > 256 || sig.S.BitLen() > 256 {
		return nil, fmt.Errorf("ECDSA signature too long for P-256")
	}
	out := make([]byte, 64)
	sig.R.FillBytes(out[:32])
	sig.S.FillBytes(out[32:])
	return out, nil
}
