package ksefsim

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"fmt"
	"hash"
	"math/big"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
)

// XML namespaces of the authentication request and its signature.
const (
	NSAuth20 = "http://ksef.mf.gov.pl/auth/token/2.0"
	NSAuth21 = "http://ksef.mf.gov.pl/auth/token/2.1"
	nsDSig   = "http://www.w3.org/2000/09/xmldsig#"
	nsXAdES  = "http://uri.etsi.org/01903/v1.3.2#"

	algEnveloped = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
	typeSignProp = "http://uri.etsi.org/01903#SignedProperties"
)

// AuthTokenRequest is the parsed, unsigned content of an XAdES
// authentication request.
type AuthTokenRequest struct {
	Namespace             string // NSAuth20 or NSAuth21
	Challenge             string
	ContextType           string // Nip | InternalId | NipVatUe | PeppolId
	ContextValue          string
	SubjectIdentifierType string // certificateSubject | certificateFingerprint
}

var (
	reChallenge = regexp.MustCompile(`^\d{8}-CR-[A-F0-9]{10}-[A-F0-9]{10}-[A-F0-9]{2}$`)
	reTNIP      = regexp.MustCompile(`^[1-9]((\d[1-9])|([1-9]\d))\d{7}$`)
	reOrgID     = regexp.MustCompile(`VATPL.*?(\d{10})`)
	reSerialNIP = regexp.MustCompile(`(TINPL|NIP).*?(\d{10})`)
	reCN        = regexp.MustCompile(`^\d{10}$`)
)

var (
	oidOrganizationIdentifier = asn1.ObjectIdentifier{2, 5, 4, 97}
	oidSerialNumber           = asn1.ObjectIdentifier{2, 5, 4, 5}
	oidCommonName             = asn1.ObjectIdentifier{2, 5, 4, 3}
)

// SubjectNIP returns the NIP a certificate's subject names, looking at
// organizationIdentifier (VATPL-), serialNumber (TINPL-/NIP-) and a 10-digit
// CN, in that order; "" when there is none.
func SubjectNIP(cert *x509.Certificate) string {
	var org, serial, cn string
	for _, n := range cert.Subject.Names {
		v, _ := n.Value.(string)
		switch {
		case n.Type.Equal(oidOrganizationIdentifier):
			if m := reOrgID.FindStringSubmatch(v); m != nil {
				org = m[1]
			}
		case n.Type.Equal(oidSerialNumber):
			if m := reSerialNIP.FindStringSubmatch(v); m != nil {
				serial = m[2]
			}
		case n.Type.Equal(oidCommonName):
			if reCN.MatchString(v) {
				cn = v
			}
		}
	}
	for _, v := range []string{org, serial, cn} {
		if v != "" {
			return v
		}
	}
	return ""
}

// ParseAuthTokenRequest checks the document's structure against the
// AuthTokenRequest schema (v2.0 or v2.1) and returns its content. It does
// not look at the signature.
func ParseAuthTokenRequest(doc []byte) (*AuthTokenRequest, error) {
	req, _, err := parseAuthTokenRequest(doc)
	return req, err
}

func parseAuthTokenRequest(doc []byte) (*AuthTokenRequest, *etree.Document, error) {
	if bytes.HasPrefix(doc, []byte{0xEF, 0xBB, 0xBF}) {
		doc = doc[3:]
	}
	if !utf8.Valid(doc) {
		return nil, nil, xadesErr(21217, ErrNotAuthRequest, "document is not UTF-8")
	}
	d := etree.NewDocument()
	d.ReadSettings.Permissive = false
	if err := d.ReadFromBytes(doc); err != nil {
		return nil, nil, xadesErr(21001, ErrNotAuthRequest, "not well-formed XML: %v", err)
	}
	for _, tok := range d.Child {
		if _, ok := tok.(*etree.Directive); ok {
			return nil, nil, xadesErr(21001, ErrNotAuthRequest, "DOCTYPE is not allowed")
		}
	}
	root := d.Root()
	if root == nil || root.Tag != "AuthTokenRequest" || (root.NamespaceURI() != NSAuth20 && root.NamespaceURI() != NSAuth21) {
		return nil, nil, xadesErr(21401, ErrNotAuthRequest, "root element is not AuthTokenRequest in %s or %s", NSAuth20, NSAuth21)
	}
	req := &AuthTokenRequest{Namespace: root.NamespaceURI()}
	ns := req.Namespace
	var seq []string
	for _, el := range root.ChildElements() {
		if el.NamespaceURI() == nsDSig && el.Tag == "Signature" {
			continue
		}
		if el.NamespaceURI() != ns {
			return nil, nil, xadesErr(21401, ErrNotAuthRequest, "unexpected element %s", el.FullTag())
		}
		seq = append(seq, el.Tag)
		switch el.Tag {
		case "Challenge":
			req.Challenge = strings.TrimSpace(el.Text())
			if !reChallenge.MatchString(req.Challenge) {
				return nil, nil, xadesErr(21401, ErrNotAuthRequest, "Challenge does not match the schema pattern")
			}
		case "ContextIdentifier":
			kids := el.ChildElements()
			if len(kids) != 1 || kids[0].NamespaceURI() != ns {
				return nil, nil, xadesErr(21401, ErrNotAuthRequest, "ContextIdentifier needs exactly one identifier")
			}
			req.ContextType, req.ContextValue = kids[0].Tag, strings.TrimSpace(kids[0].Text())
			switch req.ContextType {
			case "Nip":
				if !reTNIP.MatchString(req.ContextValue) {
					return nil, nil, xadesErr(21401, ErrNotAuthRequest, "ContextIdentifier/Nip does not match the schema pattern")
				}
			case "InternalId", "NipVatUe", "PeppolId":
			default:
				return nil, nil, xadesErr(21401, ErrNotAuthRequest, "unknown context identifier %s", req.ContextType)
			}
		case "SubjectIdentifierType":
			req.SubjectIdentifierType = strings.TrimSpace(el.Text())
			if req.SubjectIdentifierType != "certificateSubject" && req.SubjectIdentifierType != "certificateFingerprint" {
				return nil, nil, xadesErr(21401, ErrNotAuthRequest, "SubjectIdentifierType %q is not allowed", req.SubjectIdentifierType)
			}
		case "AuthorizationPolicy":
		default:
			return nil, nil, xadesErr(21401, ErrNotAuthRequest, "unexpected element %s", el.Tag)
		}
	}
	got := strings.Join(seq, ",")
	if got != "Challenge,ContextIdentifier,SubjectIdentifierType" && got != "Challenge,ContextIdentifier,SubjectIdentifierType,AuthorizationPolicy" {
		return nil, nil, xadesErr(21401, ErrNotAuthRequest, "element sequence %q does not match the schema", got)
	}
	return req, d, nil
}

// VerifyAuthTokenRequest parses an XAdES-signed AuthTokenRequest and
// verifies its enveloped signature: the SignedInfo signature (RSA PKCS#1
// v1.5, RSA-PSS or ECDSA with R||S), every reference digest (the document
// itself with the enveloped-signature transform, and the XAdES
// SignedProperties), and the SigningCertificate digest. The certificate must
// be valid at now, RSA ≥ 2048 or EC ≥ 256 bits, and name a NIP. Errors are
// *XAdESError values carrying the KSeF code.
func VerifyAuthTokenRequest(doc []byte, now time.Time) (*AuthTokenRequest, *x509.Certificate, error) {
	req, d, err := parseAuthTokenRequest(doc)
	if err != nil {
		return nil, nil, err
	}
	root := d.Root()
	var sigs []*etree.Element
	var walk func(el *etree.Element)
	walk = func(el *etree.Element) {
		for _, c := range el.ChildElements() {
			if c.Tag == "Signature" && c.NamespaceURI() == nsDSig {
				sigs = append(sigs, c)
			}
			walk(c)
		}
	}
	walk(root)
	switch {
	case len(sigs) == 0:
		return nil, nil, xadesErr(9102, ErrNoSignature, "no ds:Signature in the document")
	case len(sigs) > 1:
		return nil, nil, xadesErr(9103, ErrManySignatures, "%d signatures", len(sigs))
	case sigs[0].Parent() != root:
		return nil, nil, xadesErr(9101, ErrBadSignature, "the signature must be enveloped in AuthTokenRequest")
	}
	sig := sigs[0]
	cert, err := signingCert(sig, now)
	if err != nil {
		return nil, nil, err
	}
	si := child(sig, nsDSig, "SignedInfo")
	if si == nil {
		return nil, nil, xadesErr(9105, ErrBadSignature, "missing SignedInfo")
	}
	cm := child(si, nsDSig, "CanonicalizationMethod")
	sm := child(si, nsDSig, "SignatureMethod")
	sv := child(sig, nsDSig, "SignatureValue")
	if cm == nil || sm == nil || sv == nil {
		return nil, nil, xadesErr(9105, ErrBadSignature, "SignedInfo lacks CanonicalizationMethod or SignatureMethod, or SignatureValue is missing")
	}
	canonSI, err := canonicalize(si, []string{cm.SelectAttrValue("Algorithm", "")}, "")
	if err != nil {
		return nil, nil, err
	}
	sigVal, err := base64.StdEncoding.DecodeString(stripSpace(sv.Text()))
	if err != nil {
		return nil, nil, xadesErr(9105, ErrBadSignature, "SignatureValue is not Base64")
	}
	if err := verifySignatureValue(sm.SelectAttrValue("Algorithm", ""), cert, canonSI, sigVal); err != nil {
		return nil, nil, err
	}
	// The signature holds: now every reference must match what it covers.
	var coversDoc, coversProps bool
	for _, ref := range children(si, nsDSig, "Reference") {
		uri := ref.SelectAttrValue("URI", "")
		var algs []string
		if tr := child(ref, nsDSig, "Transforms"); tr != nil {
			for _, t := range children(tr, nsDSig, "Transform") {
				algs = append(algs, t.SelectAttrValue("Algorithm", ""))
			}
		}
		var target *etree.Element
		switch {
		case uri == "":
			target = root.Copy()
			if !contains(algs, algEnveloped) {
				return nil, nil, xadesErr(9105, ErrBadSignature, "whole-document reference without the enveloped-signature transform")
			}
			target.RemoveChildAt(sig.Index())
			coversDoc = true
		case strings.HasPrefix(uri, "#"):
			target = findByID(root, uri[1:])
			if target == nil {
				return nil, nil, xadesErr(9105, ErrBadSignature, "reference %q resolves to nothing", uri)
			}
			if target.Tag == "SignedProperties" && target.NamespaceURI() == nsXAdES {
				coversProps = true
				if err := checkSignedProperties(target, cert); err != nil {
					return nil, nil, err
				}
			}
		default:
			return nil, nil, xadesErr(9105, ErrBadSignature, "external reference %q (detached signatures are rejected)", uri)
		}
		canon, err := canonicalize(target, algs, "")
		if err != nil {
			return nil, nil, err
		}
		dm := child(ref, nsDSig, "DigestMethod")
		dv := child(ref, nsDSig, "DigestValue")
		if dm == nil || dv == nil {
			return nil, nil, xadesErr(9105, ErrBadSignature, "reference %q lacks DigestMethod or DigestValue", uri)
		}
		h, err := digestFor(dm.SelectAttrValue("Algorithm", ""))
		if err != nil {
			return nil, nil, err
		}
		h.Write(canon)
		want, err := base64.StdEncoding.DecodeString(stripSpace(dv.Text()))
		if err != nil || subtle.ConstantTimeCompare(h.Sum(nil), want) != 1 {
			return nil, nil, xadesErr(9105, ErrBadSignature, "digest of reference %q does not match", uri)
		}
	}
	if !coversDoc {
		return nil, nil, xadesErr(9105, ErrBadSignature, "no reference covers the document")
	}
	if !coversProps {
		return nil, nil, xadesErr(9105, ErrBadSignature, "no reference covers xades:SignedProperties (XAdES-BES required)")
	}
	return req, cert, nil
}

func signingCert(sig *etree.Element, now time.Time) (*x509.Certificate, error) {
	var certEl *etree.Element
	if ki := child(sig, nsDSig, "KeyInfo"); ki != nil {
		if xd := child(ki, nsDSig, "X509Data"); xd != nil {
			certEl = child(xd, nsDSig, "X509Certificate")
		}
	}
	if certEl == nil {
		return nil, xadesErr(21115, ErrBadCertificate, "KeyInfo/X509Data/X509Certificate is missing")
	}
	der, err := base64.StdEncoding.DecodeString(stripSpace(certEl.Text()))
	if err != nil {
		return nil, xadesErr(21115, ErrBadCertificate, "X509Certificate is not Base64")
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, xadesErr(21115, ErrBadCertificate, "X509Certificate does not parse: %v", err)
	}
	if now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		return nil, xadesErr(21115, ErrBadCertificate, "certificate is not valid at %s", now.UTC().Format(time.RFC3339))
	}
	switch pub := cert.PublicKey.(type) {
	case *rsa.PublicKey:
		if pub.N.BitLen() < 2048 {
			return nil, xadesErr(21115, ErrBadCertificate, "RSA key of %d bits (want ≥ 2048)", pub.N.BitLen())
		}
	case *ecdsa.PublicKey:
		if pub.Curve.Params().BitSize < 256 {
			return nil, xadesErr(21115, ErrBadCertificate, "EC key of %d bits (want ≥ 256)", pub.Curve.Params().BitSize)
		}
	default:
		return nil, xadesErr(21115, ErrBadCertificate, "unsupported key type %T", cert.PublicKey)
	}
	if SubjectNIP(cert) == "" {
		return nil, xadesErr(21115, ErrBadCertificate, "subject names no NIP (organizationIdentifier VATPL-, serialNumber TINPL-/NIP- or CN)")
	}
	return cert, nil
}

func checkSignedProperties(sp *etree.Element, cert *x509.Certificate) error {
	ssp := child(sp, nsXAdES, "SignedSignatureProperties")
	if ssp == nil || child(ssp, nsXAdES, "SigningTime") == nil {
		return xadesErr(9105, ErrBadSignature, "SignedProperties lacks SigningTime")
	}
	sc := child(ssp, nsXAdES, "SigningCertificateV2")
	if sc == nil {
		sc = child(ssp, nsXAdES, "SigningCertificate")
	}
	if sc == nil {
		return xadesErr(9105, ErrBadSignature, "SignedProperties lacks SigningCertificate")
	}
	for _, c := range children(sc, nsXAdES, "Cert") {
		cd := child(c, nsXAdES, "CertDigest")
		if cd == nil {
			continue
		}
		dm, dv := child(cd, nsDSig, "DigestMethod"), child(cd, nsDSig, "DigestValue")
		if dm == nil || dv == nil {
			continue
		}
		h, err := digestFor(dm.SelectAttrValue("Algorithm", ""))
		if err != nil {
			return err
		}
		h.Write(cert.Raw)
		want, err := base64.StdEncoding.DecodeString(stripSpace(dv.Text()))
		if err == nil && subtle.ConstantTimeCompare(h.Sum(nil), want) == 1 {
			return nil
		}
	}
	return xadesErr(9105, ErrBadSignature, "SigningCertificate digest does not match the KeyInfo certificate")
}

// canonicalize serializes el (with the namespaces it inherits) by the last
// canonicalization among algs; inclusive C14N 1.0 when none is given.
func canonicalize(el *etree.Element, algs []string, _ string) ([]byte, error) {
	var c dsig.Canonicalizer = dsig.MakeC14N10RecCanonicalizer()
	for _, a := range algs {
		switch dsig.AlgorithmID(a) {
		case dsig.CanonicalXML10ExclusiveAlgorithmId:
			c = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
		case dsig.CanonicalXML10ExclusiveWithCommentsAlgorithmId:
			c = dsig.MakeC14N10ExclusiveWithCommentsCanonicalizerWithPrefixList("")
		case dsig.CanonicalXML10RecAlgorithmId:
			c = dsig.MakeC14N10RecCanonicalizer()
		case dsig.CanonicalXML10WithCommentsAlgorithmId:
			c = dsig.MakeC14N10WithCommentsCanonicalizer()
		case dsig.CanonicalXML11AlgorithmId:
			c = dsig.MakeC14N11Canonicalizer()
		case dsig.CanonicalXML11WithCommentsAlgorithmId:
			c = dsig.MakeC14N11WithCommentsCanonicalizer()
		case algEnveloped:
		default:
			return nil, xadesErr(9105, ErrBadSignature, "unsupported transform or canonicalization %q", a)
		}
	}
	ctx, err := etreeutils.NSBuildParentContext(el)
	if err != nil {
		return nil, xadesErr(9101, ErrBadSignature, "namespaces: %v", err)
	}
	det, err := etreeutils.NSDetatch(ctx, el)
	if err != nil {
		return nil, xadesErr(9101, ErrBadSignature, "namespaces: %v", err)
	}
	out, err := c.Canonicalize(det)
	if err != nil {
		return nil, xadesErr(9101, ErrBadSignature, "canonicalize: %v", err)
	}
	return out, nil
}

func digestFor(alg string) (hash.Hash, error) {
	switch alg {
	case "http://www.w3.org/2001/04/xmlenc#sha256":
		return sha256.New(), nil
	case "http://www.w3.org/2001/04/xmldsig-more#sha384":
		return sha512.New384(), nil
	case "http://www.w3.org/2001/04/xmlenc#sha512":
		return sha512.New(), nil
	case "http://www.w3.org/2000/09/xmldsig#sha1":
		return sha1.New(), nil
	}
	return nil, xadesErr(9105, ErrBadSignature, "unsupported digest %q", alg)
}

func verifySignatureValue(alg string, cert *x509.Certificate, signed, sig []byte) error {
	type method struct {
		hash crypto.Hash
		kind string // rsa | pss | ecdsa
	}
	methods := map[string]method{
		"http://www.w3.org/2000/09/xmldsig#rsa-sha1":             {crypto.SHA1, "rsa"},
		"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256":      {crypto.SHA256, "rsa"},
		"http://www.w3.org/2001/04/xmldsig-more#rsa-sha384":      {crypto.SHA384, "rsa"},
		"http://www.w3.org/2001/04/xmldsig-more#rsa-sha512":      {crypto.SHA512, "rsa"},
		"http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1": {crypto.SHA256, "pss"},
		"http://www.w3.org/2007/05/xmldsig-more#sha384-rsa-MGF1": {crypto.SHA384, "pss"},
		"http://www.w3.org/2007/05/xmldsig-more#sha512-rsa-MGF1": {crypto.SHA512, "pss"},
		"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256":    {crypto.SHA256, "ecdsa"},
		"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384":    {crypto.SHA384, "ecdsa"},
		"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512":    {crypto.SHA512, "ecdsa"},
	}
	m, ok := methods[alg]
	if !ok {
		return xadesErr(9105, ErrBadSignature, "unsupported SignatureMethod %q", alg)
	}
	h := m.hash.New()
	h.Write(signed)
	digest := h.Sum(nil)
	var err error
	switch pub := cert.PublicKey.(type) {
	case *rsa.PublicKey:
		switch m.kind {
		case "rsa":
			err = rsa.VerifyPKCS1v15(pub, m.hash, digest, sig)
		case "pss":
			err = rsa.VerifyPSS(pub, m.hash, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
		default:
			err = fmt.Errorf("method %s needs an EC key", alg)
		}
	case *ecdsa.PublicKey:
		size := (pub.Curve.Params().BitSize + 7) / 8
		if m.kind != "ecdsa" {
			err = fmt.Errorf("method %s needs an RSA key", alg)
		} else if len(sig) != 2*size {
			err = fmt.Errorf("ECDSA SignatureValue of %d bytes, want R||S of %d", len(sig), 2*size)
		} else if !ecdsa.Verify(pub, digest, new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])) {
			err = fmt.Errorf("ECDSA verification failed")
		}
	}
	if err != nil {
		return xadesErr(9105, ErrBadSignature, "SignedInfo signature: %v", err)
	}
	return nil
}

func child(el *etree.Element, ns, tag string) *etree.Element {
	for _, c := range el.ChildElements() {
		if c.Tag == tag && c.NamespaceURI() == ns {
			return c
		}
	}
	return nil
}

func children(el *etree.Element, ns, tag string) []*etree.Element {
	var out []*etree.Element
	for _, c := range el.ChildElements() {
		if c.Tag == tag && c.NamespaceURI() == ns {
			out = append(out, c)
		}
	}
	return out
}

// findByID finds the element whose Id (or ID, id) attribute is id.
func findByID(el *etree.Element, id string) *etree.Element {
	for _, a := range el.Attr {
		if a.Space == "" && (a.Key == "Id" || a.Key == "ID" || a.Key == "id") && a.Value == id {
			return el
		}
	}
	for _, c := range el.ChildElements() {
		if f := findByID(c, id); f != nil {
			return f
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func stripSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '\n' || r == '\r' || r == '\t' {
			return -1
		}
		return r
	}, s)
}
