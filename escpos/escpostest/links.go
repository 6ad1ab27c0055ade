package escpostest

import (
	"crypto/sha256"
	"encoding/base64"
)

// Sample KSeF verification links of realistic shape and length, for layout and
// decoding tests. The hash is the KOD I example of the KSeF documentation; the
// signatures are deterministic stand-ins of the right size (RSA-2048 PSS: 256 bytes,
// ECDSA P-256 in IEEE P1363 form: 64 bytes), base64url without padding.
const (
	sampleHost   = "https://qr-test.ksef.mf.gov.pl"
	sampleNIP    = "1111111111"
	sampleSerial = "01F20A5D352AE590"
	sampleHash   = "UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE"
)

// KOD1 returns an invoice verification link (KOD I), about 105 characters.
func KOD1() string {
	return sampleHost + "/invoice/" + sampleNIP + "/21-11-2026/" + sampleHash
}

// KOD2RSA returns a certificate link (KOD II) with an RSA-2048 signature, about 475
// characters.
func KOD2RSA() string { return kod2(256) }

// KOD2EC returns a certificate link (KOD II) with an ECDSA P-256 signature, about 220
// characters.
func KOD2EC() string { return kod2(64) }

func kod2(sigLen int) string {
	sig := make([]byte, 0, sigLen)
	seed := sha256.Sum256([]byte("posagent sample signature"))
	for len(sig) < sigLen {
		sig = append(sig, seed[:]...)
		seed = sha256.Sum256(seed[:])
	}
	return sampleHost + "/certificate/Nip/" + sampleNIP + "/" + sampleNIP + "/" + sampleSerial + "/" +
		sampleHash + "/" + base64.RawURLEncoding.EncodeToString(sig[:sigLen])
}
