package ksefapi

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// XML namespaces and algorithm identifiers of the AuthTokenRequest signature.
const (
	AuthNamespace = "http://ksef.mf.gov.pl/auth/token/2.0"
	nsDS          = "http://www.w3.org/2000/09/xmldsig#"
	nsXAdES       = "http://uri.etsi.org/01903/v1.3.2#"

	algExcC14N      = "http://www.w3.org/2001/10/xml-exc-c14n#"
	algEnveloped    = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
	algSHA256       = "http://www.w3.org/2001/04/xmlenc#sha256"
	algRSASHA256    = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	algECDSASHA256  = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
	typeSignedProps = "http://uri.etsi.org/01903#SignedProperties"

	sigID      = "Signature"
	signedPrID = "SignedProperties"
)

var challengeRE = regexp.MustCompile(`^\d{8}-CR-[A-F0-9]{10}-[A-F0-9]{10}-[A-F0-9]{2}$`)

// BuildAuthTokenRequest returns an unsigned AuthTokenRequest (namespace
// AuthNamespace, valid against schemat_auth_v2-0.xsd).
func BuildAuthTokenRequest(challenge string, id ContextIdentifier, subject SubjectIdentifierType) ([]byte, error) {
	if !challengeRE.MatchString(challenge) {
		return nil, fmt.Errorf("%w: challenge %q does not match the KSeF pattern", ErrInvalidInput, challenge)
	}
	if err := validateContext(id); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidInput, err)
	}
	if subject != SubjectCertificate && subject != SubjectFingerprint {
		return nil, fmt.Errorf("%w: subject identifier type %q", ErrInvalidInput, subject)
	}
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	root := doc.CreateElement("AuthTokenRequest")
	root.CreateAttr("xmlns", AuthNamespace)
	root.CreateElement("Challenge").SetText(challenge)
	root.CreateElement("ContextIdentifier").CreateElement(string(id.Type)).SetText(id.Value)
	root.CreateElement("SubjectIdentifierType").SetText(string(subject))
	return doc.WriteToBytes()
}

// SignXAdES adds an enveloped XAdES-BES signature to the root element of doc:
// exclusive C14N, SHA-256 digests, one Reference to the whole document
// (enveloped-signature + exc-c14n) and one to SignedProperties (SigningTime,
// SigningCertificate with CertDigest and IssuerSerial), the certificate in
// KeyInfo. RSA keys sign with rsa-sha256 (PKCS#1 v1.5); ECDSA keys with
// ecdsa-sha256, the SignatureValue being r||s as XML-DSig requires.
func SignXAdES(doc []byte, signer crypto.Signer, cert *x509.Certificate, now time.Time) ([]byte, error) {
	if signer == nil || cert == nil {
		return nil, fmt.Errorf("%w: signer and certificate are required", ErrInvalidInput)
	}
	var sigAlg string
	switch signer.Public().(type) {
	case *rsa.PublicKey:
		sigAlg = algRSASHA256
	case *ecdsa.PublicKey:
		sigAlg = algECDSASHA256
	default:
		return nil, fmt.Errorf("%w: signer key %T", ErrInvalidInput, signer.Public())
	}
	d := etree.NewDocument()
	if err := d.ReadFromBytes(doc); err != nil {
		return nil, fmt.Errorf("%w: parse XML: %w", ErrInvalidInput, err)
	}
	root := d.Root()
	if root == nil {
		return nil, fmt.Errorf("%w: XML has no root element", ErrInvalidInput)
	}
	docDigest, err := digestElement(root.Copy())
	if err != nil {
		return nil, err
	}

	sig := etree.NewElement("ds:Signature")
	sig.CreateAttr("xmlns:ds", nsDS)
	sig.CreateAttr("Id", sigID)
	si := sig.CreateElement("ds:SignedInfo")
	si.CreateElement("ds:CanonicalizationMethod").CreateAttr("Algorithm", algExcC14N)
	si.CreateElement("ds:SignatureMethod").CreateAttr("Algorithm", sigAlg)
	ref1 := si.CreateElement("ds:Reference")
	ref1.CreateAttr("URI", "")
	tr := ref1.CreateElement("ds:Transforms")
	tr.CreateElement("ds:Transform").CreateAttr("Algorithm", algEnveloped)
	tr.CreateElement("ds:Transform").CreateAttr("Algorithm", algExcC14N)
	ref1.CreateElement("ds:DigestMethod").CreateAttr("Algorithm", algSHA256)
	ref1.CreateElement("ds:DigestValue").SetText(docDigest)
	ref2 := si.CreateElement("ds:Reference")
	ref2.CreateAttr("Type", typeSignedProps)
	ref2.CreateAttr("URI", "#"+signedPrID)
	ref2.CreateElement("ds:Transforms").CreateElement("ds:Transform").CreateAttr("Algorithm", algExcC14N)
	ref2.CreateElement("ds:DigestMethod").CreateAttr("Algorithm", algSHA256)
	spDigest := ref2.CreateElement("ds:DigestValue")
	sigValue := sig.CreateElement("ds:SignatureValue")
	sig.CreateElement("ds:KeyInfo").CreateElement("ds:X509Data").CreateElement("ds:X509Certificate").
		SetText(base64.StdEncoding.EncodeToString(cert.Raw))
	qp := sig.CreateElement("ds:Object").CreateElement("xades:QualifyingProperties")
	qp.CreateAttr("xmlns:xades", nsXAdES)
	qp.CreateAttr("Target", "#"+sigID)
	sp := qp.CreateElement("xades:SignedProperties")
	sp.CreateAttr("Id", signedPrID)
	ssp := sp.CreateElement("xades:SignedSignatureProperties")
	ssp.CreateElement("xades:SigningTime").SetText(now.UTC().Format("2006-01-02T15:04:05Z"))
	xc := ssp.CreateElement("xades:SigningCertificate").CreateElement("xades:Cert")
	cd := xc.CreateElement("xades:CertDigest")
	cd.CreateElement("ds:DigestMethod").CreateAttr("Algorithm", algSHA256)
	certSum := sha256.Sum256(cert.Raw)
	cd.CreateElement("ds:DigestValue").SetText(base64.StdEncoding.EncodeToString(certSum[:]))
	is := xc.CreateElement("xades:IssuerSerial")
	is.CreateElement("ds:X509IssuerName").SetText(cert.Issuer.String())
	is.CreateElement("ds:X509SerialNumber").SetText(cert.SerialNumber.String())

	root.AddChild(sig)

	v, err := digestElement(inContext(sp))
	if err != nil {
		return nil, err
	}
	spDigest.SetText(v)

	canon, err := canonicalize(inContext(si))
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(canon)
	raw, err := signer.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("ksefapi: xades sign: %w", err)
	}
	if pub, ok := signer.Public().(*ecdsa.PublicKey); ok {
		if raw, err = ecdsaDERToP1363(raw, (pub.Curve.Params().BitSize+7)/8); err != nil {
			return nil, err
		}
	}
	sigValue.SetText(base64.StdEncoding.EncodeToString(raw))
	return d.WriteToBytes()
}

// VerifyXAdES checks a document signed like SignXAdES produces: both
// references' digests, the SignedInfo signature against the KeyInfo
// certificate, and the SigningCertificate digest. It returns the signer's
// certificate; trusting it is the caller's decision.
func VerifyXAdES(doc []byte) (*x509.Certificate, error) {
	d := etree.NewDocument()
	if err := d.ReadFromBytes(doc); err != nil {
		return nil, fmt.Errorf("%w: parse XML: %w", ErrSignature, err)
	}
	root := d.Root()
	if root == nil {
		return nil, fmt.Errorf("%w: no root element", ErrSignature)
	}
	var sig *etree.Element
	for _, ch := range root.ChildElements() {
		if ch.Tag == "Signature" && ch.NamespaceURI() == nsDS {
			if sig != nil {
				return nil, fmt.Errorf("%w: more than one Signature", ErrSignature)
			}
			sig = ch
		}
	}
	if sig == nil {
		return nil, fmt.Errorf("%w: no enveloped ds:Signature", ErrSignature)
	}
	si := child(sig, "SignedInfo")
	certEl := sig.FindElement("./KeyInfo/X509Data/X509Certificate")
	sv := child(sig, "SignatureValue")
	if si == nil || certEl == nil || sv == nil {
		return nil, fmt.Errorf("%w: SignedInfo, SignatureValue or X509Certificate missing", ErrSignature)
	}
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(certEl.Text()), ""))
	if err != nil {
		return nil, fmt.Errorf("%w: certificate base64: %w", ErrSignature, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: certificate: %w", ErrSignature, err)
	}
	if cm := child(si, "CanonicalizationMethod"); cm == nil || cm.SelectAttrValue("Algorithm", "") != algExcC14N {
		return nil, fmt.Errorf("%w: canonicalization must be exc-c14n", ErrSignature)
	}
	var docRef, propRef bool
	for _, ref := range si.ChildElements() {
		if ref.Tag != "Reference" {
			continue
		}
		if dm := child(ref, "DigestMethod"); dm == nil || dm.SelectAttrValue("Algorithm", "") != algSHA256 {
			return nil, fmt.Errorf("%w: digest method must be SHA-256", ErrSignature)
		}
		uri := ref.SelectAttrValue("URI", "")
		var target *etree.Element
		if uri == "" {
			target = root.Copy()
			for _, ch := range target.ChildElements() {
				if ch.Tag == "Signature" && ch.Space == sig.Space {
					target.RemoveChild(ch)
				}
			}
			docRef = true
		} else if id, ok := strings.CutPrefix(uri, "#"); ok {
			el := root.FindElement(fmt.Sprintf("//[@Id='%s']", id))
			if el == nil {
				return nil, fmt.Errorf("%w: reference %s not found", ErrSignature, uri)
			}
			target = inContext(el)
			if ref.SelectAttrValue("Type", "") == typeSignedProps && el.Tag == "SignedProperties" {
				propRef = true
				if err := checkSigningCert(el, cert); err != nil {
					return nil, err
				}
			}
		} else {
			return nil, fmt.Errorf("%w: unsupported reference URI %q", ErrSignature, uri)
		}
		for _, t := range ref.FindElements("./Transforms/Transform") {
			switch t.SelectAttrValue("Algorithm", "") {
			case algEnveloped, algExcC14N:
			default:
				return nil, fmt.Errorf("%w: unsupported transform %q", ErrSignature, t.SelectAttrValue("Algorithm", ""))
			}
		}
		got, err := digestElement(target)
		if err != nil {
			return nil, err
		}
		dv := child(ref, "DigestValue")
		if dv == nil || strings.TrimSpace(dv.Text()) != got {
			return nil, fmt.Errorf("%w: digest of reference %q does not match", ErrSignature, uri)
		}
	}
	if !docRef || !propRef {
		return nil, fmt.Errorf("%w: references to the document and to SignedProperties are required", ErrSignature)
	}
	canon, err := canonicalize(inContext(si))
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(canon)
	sigBytes, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(sv.Text()), ""))
	if err != nil {
		return nil, fmt.Errorf("%w: SignatureValue base64: %w", ErrSignature, err)
	}
	alg := ""
	if sm := child(si, "SignatureMethod"); sm != nil {
		alg = sm.SelectAttrValue("Algorithm", "")
	}
	switch pub := cert.PublicKey.(type) {
	case *rsa.PublicKey:
		if alg != algRSASHA256 {
			return nil, fmt.Errorf("%w: signature method %q for an RSA key", ErrSignature, alg)
		}
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sigBytes); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrSignature, err)
		}
	case *ecdsa.PublicKey:
		n := (pub.Curve.Params().BitSize + 7) / 8
		if alg != algECDSASHA256 || len(sigBytes) != 2*n {
			return nil, fmt.Errorf("%w: ECDSA signature must be ecdsa-sha256 r||s of %d bytes", ErrSignature, 2*n)
		}
		r, s := new(big.Int).SetBytes(sigBytes[:n]), new(big.Int).SetBytes(sigBytes[n:])
		if !ecdsa.Verify(pub, sum[:], r, s) {
			return nil, fmt.Errorf("%w: ECDSA verification failed", ErrSignature)
		}
	default:
		return nil, fmt.Errorf("%w: certificate key %T", ErrSignature, cert.PublicKey)
	}
	return cert, nil
}

func checkSigningCert(sp *etree.Element, cert *x509.Certificate) error {
	dv := sp.FindElement(".//SigningCertificate/Cert/CertDigest/DigestValue")
	if dv == nil {
		return fmt.Errorf("%w: SigningCertificate/CertDigest missing", ErrSignature)
	}
	sum := sha256.Sum256(cert.Raw)
	if strings.TrimSpace(dv.Text()) != base64.StdEncoding.EncodeToString(sum[:]) {
		return fmt.Errorf("%w: SigningCertificate digest does not match KeyInfo certificate", ErrSignature)
	}
	if sp.FindElement(".//SigningTime") == nil {
		return fmt.Errorf("%w: SigningTime missing", ErrSignature)
	}
	return nil
}

func child(el *etree.Element, tag string) *etree.Element {
	for _, ch := range el.ChildElements() {
		if ch.Tag == tag {
			return ch
		}
	}
	return nil
}

// inContext copies el and declares on the copy every namespace in scope from its
// ancestors, so exclusive C14N of the copy equals exclusive C14N of el in place
// (exc-c14n then drops the declarations that are not visibly used).
func inContext(el *etree.Element) *etree.Element {
	cp := el.Copy()
	for p := el.Parent(); p != nil; p = p.Parent() {
		for _, a := range p.Attr {
			isNS := a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns")
			if isNS && cp.SelectAttr(a.FullKey()) == nil {
				cp.CreateAttr(a.FullKey(), a.Value)
			}
		}
	}
	return cp
}

func canonicalize(el *etree.Element) ([]byte, error) {
	b, err := dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("").Canonicalize(el)
	if err != nil {
		return nil, fmt.Errorf("ksefapi: exc-c14n: %w", err)
	}
	return b, nil
}

func digestElement(el *etree.Element) (string, error) {
	b, err := canonicalize(el)
	if err != nil {
		return "", err
	}
	return sha256b64(b), nil
}

// ecdsaDERToP1363 turns an ASN.1 ECDSA signature into fixed-width r||s.
func ecdsaDERToP1363(der []byte, size int) ([]byte, error) {
	var sig struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &sig)
	if err != nil || len(rest) != 0 || sig.R == nil || sig.S == nil {
		return nil, errors.New("ksefapi: ECDSA signer returned a malformed signature")
	}
	out := make([]byte, 2*size)
	if sig.R.BitLen() > 8*size || sig.S.BitLen() > 8*size {
		return nil, errors.New("ksefapi: ECDSA signature wider than the curve")
	}
	sig.R.FillBytes(out[:size])
	sig.S.FillBytes(out[size:])
	return out, nil
}
