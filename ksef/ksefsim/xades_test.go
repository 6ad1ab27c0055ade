package ksefsim_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"

	"github.com/posagent/posagent/internal/testutil"
	"github.com/posagent/posagent/ksef/ksefsim"
)

const (
	nsDS    = "http://www.w3.org/2000/09/xmldsig#"
	nsXAdES = "http://uri.etsi.org/01903/v1.3.2#"
)

type identity struct {
	signer crypto.Signer
	cert   *x509.Certificate
	ec     bool
}

var (
	rsaOnce sync.Once
	rsaKey  *rsa.PrivateKey
)

// newIdentity makes a self-signed certificate naming nip the way KSeF reads
// it: organizationIdentifier VATPL- for RSA (a seal), serialNumber TINPL- for
// EC (a person).
func newIdentity(t testing.TB, nip string, ec bool) identity {
	t.Helper()
	var signer crypto.Signer
	subj := pkix.Name{Country: []string{"PL"}}
	if ec {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		signer = k
		subj.CommonName, subj.SerialNumber = "Jan Testowy", "TINPL-"+nip
	} else {
		rsaOnce.Do(func() {
			var err error
			if rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
				panic(err)
			}
		})
		signer = rsaKey
		subj.CommonName, subj.Organization = "Pieczęć testowa", []string{"Test sp. z o.o."}
		subj.ExtraNames = []pkix.AttributeTypeAndValue{{Type: asn1.ObjectIdentifier{2, 5, 4, 97}, Value: "VATPL-" + nip}}
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: subj,
		NotBefore: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, signer.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return identity{signer: signer, cert: cert, ec: ec}
}

func authRequestXML(challenge, nip string) string {
	return `<?xml version="1.0" encoding="utf-8"?>` +
		`<AuthTokenRequest xmlns="http://ksef.mf.gov.pl/auth/token/2.0">` +
		`<Challenge>` + challenge + `</Challenge>` +
		`<ContextIdentifier><Nip>` + nip + `</Nip></ContextIdentifier>` +
		`<SubjectIdentifierType>certificateSubject</SubjectIdentifierType>` +
		`</AuthTokenRequest>`
}

// excC14N canonicalizes the element at path (tags, root first) of doc as it
// sits in its document, the way a verifier must.
func excC14N(t testing.TB, doc *etree.Document, find func(*etree.Document) *etree.Element) []byte {
	t.Helper()
	b, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	d := etree.NewDocument()
	if err := d.ReadFromBytes(b); err != nil {
		t.Fatal(err)
	}
	el := find(d)
	ctx, err := etreeutils.NSBuildParentContext(el)
	if err != nil {
		t.Fatal(err)
	}
	det, err := etreeutils.NSDetatch(ctx, el)
	if err != nil {
		t.Fatal(err)
	}
	out, err := dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("").Canonicalize(det)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func sha(b []byte) []byte { h := sha256.Sum256(b); return h[:] }

// signXAdES wraps unsigned in an enveloped XAdES-BES signature: exc-c14n,
// SHA-256, RSA PKCS#1 v1.5 or ECDSA with R||S, SignedProperties with
// SigningTime and SigningCertificate.
func signXAdES(t testing.TB, unsigned string, id identity, signingTime time.Time) []byte {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromString(unsigned); err != nil {
		t.Fatal(err)
	}
	root := doc.Root()
	docDigest := sha(excC14N(t, doc, func(d *etree.Document) *etree.Element { return d.Root() }))

	sig := root.CreateElement("ds:Signature")
	sig.CreateAttr("xmlns:ds", nsDS)
	sig.CreateAttr("Id", "Signature-1")
	si := sig.CreateElement("ds:SignedInfo")
	si.CreateElement("ds:CanonicalizationMethod").CreateAttr("Algorithm", "http://www.w3.org/2001/10/xml-exc-c14n#")
	method := "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	if id.ec {
		method = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
	}
	si.CreateElement("ds:SignatureMethod").CreateAttr("Algorithm", method)
	ref := func(uri, typ string, enveloped bool) *etree.Element {
		r := si.CreateElement("ds:Reference")
		if typ != "" {
			r.CreateAttr("Type", typ)
		}
		r.CreateAttr("URI", uri)
		tr := r.CreateElement("ds:Transforms")
		if enveloped {
			tr.CreateElement("ds:Transform").CreateAttr("Algorithm", "http://www.w3.org/2000/09/xmldsig#enveloped-signature")
		}
		tr.CreateElement("ds:Transform").CreateAttr("Algorithm", "http://www.w3.org/2001/10/xml-exc-c14n#")
		r.CreateElement("ds:DigestMethod").CreateAttr("Algorithm", "http://www.w3.org/2001/04/xmlenc#sha256")
		return r.CreateElement("ds:DigestValue")
	}
	ref("", "", true).SetText(b64(docDigest))
	propsDigest := ref("#SignedProperties-1", "http://uri.etsi.org/01903#SignedProperties", false)
	sv := sig.CreateElement("ds:SignatureValue")
	sig.CreateElement("ds:KeyInfo").CreateElement("ds:X509Data").CreateElement("ds:X509Certificate").SetText(b64(id.cert.Raw))
	qp := sig.CreateElement("ds:Object").CreateElement("xades:QualifyingProperties")
	qp.CreateAttr("xmlns:xades", nsXAdES)
	qp.CreateAttr("Target", "#Signature-1")
	sp := qp.CreateElement("xades:SignedProperties")
	sp.CreateAttr("Id", "SignedProperties-1")
	ssp := sp.CreateElement("xades:SignedSignatureProperties")
	ssp.CreateElement("xades:SigningTime").SetText(signingTime.UTC().Format(time.RFC3339))
	c := ssp.CreateElement("xades:SigningCertificate").CreateElement("xades:Cert")
	cd := c.CreateElement("xades:CertDigest")
	cd.CreateElement("ds:DigestMethod").CreateAttr("Algorithm", "http://www.w3.org/2001/04/xmlenc#sha256")
	cd.CreateElement("ds:DigestValue").SetText(b64(sha(id.cert.Raw)))
	is := c.CreateElement("xades:IssuerSerial")
	is.CreateElement("ds:X509IssuerName").SetText(id.cert.Issuer.String())
	is.CreateElement("ds:X509SerialNumber").SetText(id.cert.SerialNumber.String())

	byID := func(d *etree.Document) *etree.Element {
		return d.FindElement("//[@Id='SignedProperties-1']")
	}
	propsDigest.SetText(b64(sha(excC14N(t, doc, byID))))
	signed := excC14N(t, doc, func(d *etree.Document) *etree.Element { return d.FindElement("//SignedInfo") })
	digest := sha(signed)
	var value []byte
	if id.ec {
		r, s, err := ecdsa.Sign(rand.Reader, id.signer.(*ecdsa.PrivateKey), digest)
		if err != nil {
			t.Fatal(err)
		}
		value = make([]byte, 64)
		r.FillBytes(value[:32])
		s.FillBytes(value[32:])
	} else {
		var err error
		if value, err = id.signer.Sign(rand.Reader, digest, crypto.SHA256); err != nil {
			t.Fatal(err)
		}
	}
	sv.SetText(b64(value))
	out, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestXAdESAuth(t *testing.T) {
	e := newEnv(t, nil)
	for _, ec := range []bool{false, true} {
		name := map[bool]string{false: "RSA", true: "ECDSA"}[ec]
		t.Run(name, func(t *testing.T) {
			e := e.sub(t)
			id := newIdentity(t, testNIP, ec)
			doc := signXAdES(t, authRequestXML(e.challenge().Challenge, testNIP), id, e.clk.Now())
			r := e.do("POST", "/v2/auth/xades-signature", "", doc)
			e.want(r, 202, "AuthenticationInitResponse")
			var init authInit
			r.json(t, &init)
			access := e.redeem(init).AccessToken.Token
			s := e.openOnline(access) // the access token works
			if s.ref == "" {
				t.Fatal("no session")
			}
			xmlsecVerify(t, doc, id)
		})
	}

	id := newIdentity(t, testNIP, true)
	tests := []struct {
		name   string
		doc    func(challenge string) []byte
		code   int
		status int // auth status when the request is accepted
	}{
		{"Unsigned", func(ch string) []byte { return []byte(authRequestXML(ch, testNIP)) }, 9102, 0},
		{"TamperedContext", func(ch string) []byte {
			d := signXAdES(t, authRequestXML(ch, testNIP), id, e.clk.Now())
			return []byte(strings.Replace(string(d), "<Nip>"+testNIP, "<Nip>"+otherNIP, 1))
		}, 9105, 0},
		{"TamperedSigningTime", func(ch string) []byte {
			d := signXAdES(t, authRequestXML(ch, testNIP), id, e.clk.Now())
			return []byte(strings.Replace(string(d), "<xades:SigningTime>2026", "<xades:SigningTime>2025", 1))
		}, 9105, 0},
		{"TamperedSignatureValue", func(ch string) []byte {
			d := string(signXAdES(t, authRequestXML(ch, testNIP), id, e.clk.Now()))
			i := strings.Index(d, "<ds:SignatureValue>") + len("<ds:SignatureValue>")
			flip := map[byte]byte{'A': 'B'}[d[i]]
			if flip == 0 {
				flip = 'A'
			}
			return []byte(d[:i] + string(flip) + d[i+1:])
		}, 9105, 0},
		{"NotXML", func(ch string) []byte { return []byte("<AuthTokenRequest") }, 21001, 0},
		{"WrongRoot", func(ch string) []byte { return []byte(`<Other xmlns="http://ksef.mf.gov.pl/auth/token/2.0"/>`) }, 21401, 0},
		{"OtherSubject", func(ch string) []byte {
			return signXAdES(t, authRequestXML(ch, otherNIP), id, e.clk.Now())
		}, 0, 415},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := e.sub(t)
			r := e.do("POST", "/v2/auth/xades-signature", "", tt.doc(e.challenge().Challenge))
			if tt.code != 0 {
				e.wantCode(r, 400, tt.code)
				return
			}
			e.want(r, 202, "AuthenticationInitResponse")
			var init authInit
			r.json(t, &init)
			if got, r := e.authStatus(init); got != tt.status {
				t.Fatalf("auth status = %d, want %d: %s", got, tt.status, r.body)
			}
		})
	}
	t.Run("ChallengeReplay", func(t *testing.T) {
		e := e.sub(t)
		ch := e.challenge().Challenge
		doc := signXAdES(t, authRequestXML(ch, testNIP), id, e.clk.Now())
		e.want(e.do("POST", "/v2/auth/xades-signature", "", doc), 202, "")
		e.wantCode(e.do("POST", "/v2/auth/xades-signature", "", doc), 400, 21111)
	})
}

func TestVerifyAuthTokenRequest(t *testing.T) {
	now := time.Date(2026, 3, 10, 10, 0, 0, 0, time.UTC)
	id := newIdentity(t, testNIP, true)
	ch := "20260310-CR-0123456789-ABCDEF0123-4F"
	doc := signXAdES(t, authRequestXML(ch, testNIP), id, now)
	req, cert, err := ksefsim.VerifyAuthTokenRequest(doc, now)
	if err != nil {
		t.Fatalf("VerifyAuthTokenRequest: %v", err)
	}
	if req.Challenge != ch || req.ContextValue != testNIP || ksefsim.SubjectNIP(cert) != testNIP {
		t.Fatalf("got %+v, subject NIP %q", req, ksefsim.SubjectNIP(cert))
	}
	_, _, err = ksefsim.VerifyAuthTokenRequest(doc, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	if !errors.Is(err, ksefsim.ErrBadCertificate) {
		t.Fatalf("expired certificate: err = %v, want ErrBadCertificate", err)
	}
	var xe *ksefsim.XAdESError
	if !errors.As(err, &xe) || xe.Code != 21115 {
		t.Fatalf("err = %#v, want XAdESError 21115", err)
	}
}

// xmlsecVerify checks the signature with xmlsec1, an independent verifier.
func xmlsecVerify(t *testing.T, doc []byte, id identity) {
	t.Helper()
	bin := testutil.RequireTool(t, "xmlsec1")
	dir := t.TempDir()
	docPath, certPath := filepath.Join(dir, "auth.xml"), filepath.Join(dir, "cert.pem")
	if err := os.WriteFile(docPath, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: id.cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "--verify", "--pubkey-cert-pem", certPath,
		"--id-attr:Id", nsXAdES+":SignedProperties", docPath).CombinedOutput()
	if err != nil {
		t.Fatalf("xmlsec1 --verify: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "OK") {
		t.Fatalf("xmlsec1 did not say OK: %s", out)
	}
}
