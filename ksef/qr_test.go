package ksef_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/posagent/posagent/internal/testutil"
	"github.com/posagent/posagent/ksef"
)

const (
	vectorHash = "UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE"
	vectorSig  = "mSkm_XmM9fq7PgAJwiL32L9ujhyguOEV48cDB0ncemD2r9TMGa3lr0iRoFk588agCi8QPsOuscUY1rZ7ff76STbGquO-gZtQys5_fHdf2HUfDqPqVTnUS6HknBu0zLkyf9ygoW7WbH06Ty_8BgQTlOmJFzNWSt9WZa7tAGuAE9JOooNps-KG2PYkkIP4q4jPMp3FKypAygHVnXtS0RDGgOxhhM7LWtFP7D-dWINbh5yXD8Lr-JVbeOpyQjHa6WmMYavCDQJ3X_Z-iS01LZu2s1B3xuOykl1h0sLObCdADrbxOONsXrvQa61Xt_rxyprVraj2Uf9pANQgR4-12HEcMw"
	vectorLink = "https://qr-test.ksef.mf.gov.pl/certificate/Nip/1111111111/1111111111/01F20A5D352AE590/" + vectorHash + "/" + vectorSig
)

func officialCert(t testing.TB) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(testutil.Official("ksef/samples/qr-kod2-test-cert-01F20A5D352AE590.pem"))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatal("no PEM block in the test certificate")
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestVerifyKOD2OfficialVector(t *testing.T) {
	cert := officialCert(t)
	// The vector file must hold the same signature as the constant above.
	txt, err := os.ReadFile(testutil.Official("ksef/samples/qr-kod2-test-vector.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(txt), vectorSig) {
		t.Fatal("signature constant differs from qr-kod2-test-vector.txt")
	}
	if err := ksef.VerifyKOD2(vectorLink, cert); err != nil {
		t.Fatalf("VerifyKOD2(official vector): %v", err)
	}
	if err := ksef.VerifyKOD2(vectorLink, cert.PublicKey); err != nil {
		t.Fatalf("VerifyKOD2(official vector, public key): %v", err)
	}
	l, err := ksef.ParseKOD2(vectorLink)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := l.Signed, "qr-test.ksef.mf.gov.pl/certificate/Nip/1111111111/1111111111/01F20A5D352AE590/"+vectorHash; got != want {
		t.Errorf("Signed = %q, want %q", got, want)
	}
	if l.Env != ksef.EnvTest || l.CertSerial != "01F20A5D352AE590" || len(l.Signature) != 256 {
		t.Errorf("parsed %+v", l)
	}

	// Any change to the signed part must break the signature.
	tampered := strings.Replace(vectorLink, "/Nip/1111111111/1111111111/", "/Nip/1111111111/5265877635/", 1)
	if err := ksef.VerifyKOD2(tampered, cert); !errors.Is(err, ksef.ErrSignature) {
		t.Errorf("VerifyKOD2(tampered) = %v, want ErrSignature", err)
	}
}

// keySigner adapts a generated key to ksef.Signer.
type keySigner struct {
	crypto.Signer
	serial string
}

func (k keySigner) CertSerial() string { return k.serial }

func TestKOD2SignVerify(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	otherEC, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	hash := ksef.InvoiceHash([]byte("<Faktura/>"))
	tests := []struct {
		name    string
		key     crypto.Signer
		sigLen  int
		wrong   crypto.PublicKey
		envName ksef.Environment
	}{
		{"RSA", rsaKey, 342, &otherEC.PublicKey, ksef.EnvTest},
		{"ECDSA", ecKey, 86, &otherEC.PublicKey, ksef.EnvProd},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := keySigner{tt.key, "0123456789ABCDEF"}
			link, err := ksef.KOD2(tt.envName, ksef.CtxNip, "5265877635", "5265877635", hash, s)
			if err != nil {
				t.Fatal(err)
			}
			prefix := "https://" + tt.envName.QRHost() + "/certificate/Nip/5265877635/5265877635/0123456789ABCDEF/"
			if !strings.HasPrefix(link, prefix) {
				t.Fatalf("link %q lacks prefix %q", link, prefix)
			}
			if got := len(link[strings.LastIndexByte(link, '/')+1:]); got != tt.sigLen {
				t.Errorf("signature is %d Base64URL chars, want %d", got, tt.sigLen)
			}
			if strings.ContainsAny(link, "=+") {
				t.Errorf("link %q has padding or non-URL Base64", link)
			}
			if err := ksef.VerifyKOD2(link, tt.key.Public()); err != nil {
				t.Fatalf("VerifyKOD2: %v", err)
			}
			if err := ksef.VerifyKOD2(link, tt.wrong); !errors.Is(err, ksef.ErrSignature) {
				t.Errorf("VerifyKOD2(wrong key) = %v, want ErrSignature", err)
			}
		})
	}
}

func TestKOD2Errors(t *testing.T) {
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	var h [32]byte
	tests := []struct {
		name     string
		ctx, val string
		seller   string
		s        ksef.Signer
		want     error
	}{
		{"lowercase serial", "Nip", "5265877635", "5265877635", keySigner{ecKey, "0123456789abcdef"}, ksef.ErrCertSerial},
		{"short serial", "Nip", "5265877635", "5265877635", keySigner{ecKey, "0123"}, ksef.ErrCertSerial},
		{"P-384", "Nip", "5265877635", "5265877635", keySigner{p384, "0123456789ABCDEF"}, ksef.ErrKeyType},
		{"RSA-1024", "Nip", "5265877635", "5265877635", keySigner{small, "0123456789ABCDEF"}, ksef.ErrKeyType},
		{"bad seller", "Nip", "5265877635", "12345", keySigner{ecKey, "0123456789ABCDEF"}, ksef.ErrNIP},
		{"bad ctx", "nip", "5265877635", "5265877635", keySigner{ecKey, "0123456789ABCDEF"}, nil},
		{"slash in value", "InternalId", "5265877635/1", "5265877635", keySigner{ecKey, "0123456789ABCDEF"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			link, err := ksef.KOD2(ksef.EnvTest, tt.ctx, tt.val, tt.seller, h, tt.s)
			if err == nil {
				t.Fatalf("KOD2 = %q, want error", link)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("KOD2 err = %v, want %v", err, tt.want)
			}
		})
	}
}

// derSigner returns what an ECDSA crypto.Signer returns natively (ASN.1 DER);
// a link carrying DER must still verify, as KSeF accepts both forms.
func TestVerifyKOD2AcceptsDER(t *testing.T) {
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	link, err := ksef.KOD2(ksef.EnvDemo, ksef.CtxNip, "5265877635", "5265877635", [32]byte{1}, keySigner{ecKey, "0123456789ABCDEF"})
	if err != nil {
		t.Fatal(err)
	}
	l, _ := ksef.ParseKOD2(link)
	der, err := ecKey.Sign(rand.Reader, sha256Sum(l.Signed), crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	derLink := "https://" + l.Signed + "/" + b64url(der)
	if err := ksef.VerifyKOD2(derLink, &ecKey.PublicKey); err != nil {
		t.Errorf("VerifyKOD2(DER) = %v", err)
	}
}

func TestKOD1(t *testing.T) {
	hash := ksef.InvoiceHash([]byte("x"))
	link := ksef.KOD1(ksef.EnvProd, "5265877635", ksef.MustParseDate("2026-02-01"), hash)
	want := "https://qr.ksef.mf.gov.pl/invoice/5265877635/01-02-2026/LXEWQrcmsEQBYnyp-6wy9chTD7GQPMTbAiWHF5IaSIE"
	if link != want {
		t.Errorf("KOD1 = %q, want %q", link, want)
	}
	l, err := ksef.ParseKOD1(link)
	if err != nil {
		t.Fatal(err)
	}
	if l.Env != ksef.EnvProd || l.SellerNIP != "5265877635" || l.P1 != ksef.MustParseDate("2026-02-01") || l.Hash != hash {
		t.Errorf("ParseKOD1 = %+v", l)
	}
	// The docs' literal example parses.
	if _, err := ksef.ParseKOD1("https://qr-test.ksef.mf.gov.pl/invoice/1111111111/01-02-2026/" + vectorHash); err != nil {
		t.Errorf("ParseKOD1(docs example): %v", err)
	}
}

func TestParseLinkErrors(t *testing.T) {
	bad := []string{
		"http://qr.ksef.mf.gov.pl/invoice/5265877635/01-02-2026/" + vectorHash,
		"https://qr.example.com/invoice/5265877635/01-02-2026/" + vectorHash,
		"https://qr.ksef.mf.gov.pl/invoice/5265877635/2026-02-01/" + vectorHash,
		"https://qr.ksef.mf.gov.pl/invoice/5265877635/31-02-2026/" + vectorHash,
		"https://qr.ksef.mf.gov.pl/invoice/5265877635/01-02-2026/" + vectorHash + "=",
		"https://qr.ksef.mf.gov.pl/invoice/5265877635/01-02-2026/" + vectorHash[:42],
		"https://qr.ksef.mf.gov.pl/invoice/5265877635/01-02-2026/" + vectorHash + "/",
		"https://qr.ksef.mf.gov.pl/certificate/5265877635/01-02-2026/" + vectorHash,
	}
	for _, s := range bad {
		if _, err := ksef.ParseKOD1(s); !errors.Is(err, ksef.ErrLink) {
			t.Errorf("ParseKOD1(%q) = %v, want ErrLink", s, err)
		}
	}
	if _, err := ksef.ParseKOD2(strings.Replace(vectorLink, "01F20A5D352AE590", "01f20a5d352ae590", 1)); !errors.Is(err, ksef.ErrLink) {
		t.Errorf("ParseKOD2(lowercase serial) = %v, want ErrLink", err)
	}
}

func FuzzParseKOD(f *testing.F) {
	f.Add(vectorLink)
	f.Add("https://qr-test.ksef.mf.gov.pl/invoice/1111111111/01-02-2026/" + vectorHash)
	// encoding/base64 skips CR/LF: these once parsed to the clean link's hash.
	f.Add("https://qr-test.ksef.mf.gov.pl/invoice/1111111111/01-02-2026/" + vectorHash[:21] + "\r" + vectorHash[21:])
	f.Add(vectorLink[:len(vectorLink)-10] + "\n" + vectorLink[len(vectorLink)-10:])
	f.Fuzz(func(t *testing.T, s string) {
		if l, err := ksef.ParseKOD1(s); err == nil {
			if got := ksef.KOD1(l.Env, l.SellerNIP, l.P1, l.Hash); got != s {
				t.Fatalf("KOD1 round trip %q -> %q", s, got)
			}
		}
		if l, err := ksef.ParseKOD2(s); err == nil {
			if got := "https://" + l.Signed + "/" + b64url(l.Signature); got != s {
				t.Fatalf("KOD2 round trip %q -> %q", s, got)
			}
		}
	})
}

func TestParseLinkRejectsLineBreaks(t *testing.T) {
	clean := "https://qr-test.ksef.mf.gov.pl/invoice/1111111111/01-02-2026/" + vectorHash
	if _, err := ksef.ParseKOD1(clean); err != nil {
		t.Fatalf("ParseKOD1(clean) = %v", err)
	}
	for _, bad := range []string{
		clean[:len(clean)-5] + "\r" + clean[len(clean)-5:],
		clean[:len(clean)-5] + "\n" + clean[len(clean)-5:],
	} {
		if _, err := ksef.ParseKOD1(bad); !errors.Is(err, ksef.ErrLink) {
			t.Errorf("ParseKOD1(%q) = %v, want ErrLink", bad, err)
		}
	}
	bad := vectorLink[:len(vectorLink)-10] + "\r" + vectorLink[len(vectorLink)-10:]
	if _, err := ksef.ParseKOD2(bad); !errors.Is(err, ksef.ErrLink) {
		t.Errorf("ParseKOD2 with CR in the signature = %v, want ErrLink", err)
	}
}

func ExampleKOD1() {
	xml := []byte("<Faktura/>") // in real use: the exact stored invoice bytes
	link := ksef.KOD1(ksef.EnvTest, "5265877635", ksef.MustParseDate("2026-11-21"), ksef.InvoiceHash(xml))
	fmt.Println(link)
	// Output: https://qr-test.ksef.mf.gov.pl/invoice/5265877635/21-11-2026/XWAwbj918SGCaDlMnqGTNpRl32IykC0imJOL6KKYyFs
}
