package ksefsim

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/binary"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// KSeF certificate types and states (KsefCertificateType,
// CertificateListItemStatus).
const (
	CertTypeAuthentication = "Authentication"
	CertTypeOffline        = "Offline"

	CertActive  = "Active"
	CertBlocked = "Blocked"
	CertRevoked = "Revoked"
	CertExpired = "Expired"
)

// Defaults of the certificate options: the subject limits of a NIP
// (ksef-api.md §2, limity/limity.md) and the validity observed on TE.
const (
	DefaultCertificateValidity = 2 * 365 * 24 * time.Hour
	DefaultCertificateLimit    = 100
	DefaultEnrollmentLimit     = 300
)

// simCA is the simulator's certification authority: it signs every
// certificate issued through the enrollment endpoints.
type simCA struct {
	KeyDER  []byte `json:"key"` // PKCS#8
	CertDER []byte `json:"cert"`

	key  crypto.Signer
	cert *x509.Certificate
}

// simCert is a certificate the simulator issued.
type simCert struct {
	Serial      string     `json:"serial"`
	Name        string     `json:"name"`
	Type        string     `json:"type"`
	NIP         string     `json:"nip"`
	CommonName  string     `json:"commonName"`
	DER         []byte     `json:"der"`
	KeyHash     string     `json:"keyHash"` // SHA-256 of the SubjectPublicKeyInfo
	ValidFrom   time.Time  `json:"validFrom"`
	ValidTo     time.Time  `json:"validTo"`
	RequestDate time.Time  `json:"requestDate"`
	State       string     `json:"state"` // Active, Blocked or Revoked; Expired is derived
	Reason      string     `json:"reason,omitempty"`
	LastUse     *time.Time `json:"lastUse,omitempty"`
}

// status is the certificate's state at now.
func (c *simCert) status(now time.Time) string {
	if c.State == CertActive && now.After(c.ValidTo) {
		return CertExpired
	}
	return c.State
}

// enrollment is one certificate signing request and its outcome.
type enrollment struct {
	Ref         string    `json:"ref"`
	NIP         string    `json:"nip"`
	RequestDate time.Time `json:"requestDate"`
	ReadyAt     time.Time `json:"readyAt"`
	Code        int       `json:"code"`
	Desc        string    `json:"desc"`
	Details     []string  `json:"details,omitempty"`
	Serial      string    `json:"serial,omitempty"`
}

// Wire types of the certificate endpoints.

type wireLimit struct {
	Remaining int `json:"remaining"`
	Limit     int `json:"limit"`
}

type wireCertLimits struct {
	CanRequest  bool      `json:"canRequest"`
	Enrollment  wireLimit `json:"enrollment"`
	Certificate wireLimit `json:"certificate"`
}

type wireEnrollmentData struct {
	CommonName             string `json:"commonName"`
	CountryName            string `json:"countryName"`
	GivenName              string `json:"givenName,omitempty"`
	Surname                string `json:"surname,omitempty"`
	SerialNumber           string `json:"serialNumber,omitempty"`
	UniqueIdentifier       string `json:"uniqueIdentifier,omitempty"`
	OrganizationName       string `json:"organizationName,omitempty"`
	OrganizationIdentifier string `json:"organizationIdentifier,omitempty"`
}

type wireEnrollRequest struct {
	CertificateName string  `json:"certificateName"`
	CertificateType string  `json:"certificateType"`
	CSR             []byte  `json:"csr"`
	ValidFrom       *string `json:"validFrom"`
}

type wireEnrollResponse struct {
	ReferenceNumber string `json:"referenceNumber"`
	Timestamp       string `json:"timestamp"`
}

type wireEnrollmentStatus struct {
	RequestDate             string     `json:"requestDate"`
	Status                  wireStatus `json:"status"`
	CertificateSerialNumber *string    `json:"certificateSerialNumber,omitempty"`
}

type wireRetrieveRequest struct {
	CertificateSerialNumbers []string `json:"certificateSerialNumbers"`
}

type wireRetrievedCert struct {
	Certificate             []byte `json:"certificate"`
	CertificateName         string `json:"certificateName"`
	CertificateSerialNumber string `json:"certificateSerialNumber"`
	CertificateType         string `json:"certificateType"`
}

type wireRetrieveResponse struct {
	Certificates []wireRetrievedCert `json:"certificates"`
}

type wireRevokeRequest struct {
	RevocationReason *string `json:"revocationReason"`
}

type wireCertQuery struct {
	CertificateSerialNumber *string `json:"certificateSerialNumber"`
	Name                    *string `json:"name"`
	Type                    *string `json:"type"`
	Status                  *string `json:"status"`
	ExpiresAfter            *string `json:"expiresAfter"`
}

type wireSubjectID struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

type wireCertListItem struct {
	CertificateSerialNumber string        `json:"certificateSerialNumber"`
	Name                    string        `json:"name"`
	Type                    string        `json:"type"`
	CommonName              string        `json:"commonName"`
	Status                  string        `json:"status"`
	SubjectIdentifier       wireSubjectID `json:"subjectIdentifier"`
	ValidFrom               string        `json:"validFrom"`
	ValidTo                 string        `json:"validTo"`
	LastUseDate             *string       `json:"lastUseDate,omitempty"`
	RequestDate             string        `json:"requestDate"`
}

type wireCertQueryResponse struct {
	Certificates []wireCertListItem `json:"certificates"`
	HasMore      bool               `json:"hasMore"`
}

// Certificate exception descriptions (OpenAPI 400 tables of /certificates).
func init() {
	for code, desc := range map[int]string{
		25001: "Brak możliwości pobrania danych do CSR dla wykorzystanego sposobu uwierzytelnienia.",
		25002: "Brak możliwości złożenia wniosku certyfikacyjnego dla wykorzystanego sposobu uwierzytelnienia.",
		25003: "Dane w CSR nie zgadzają się z danymi w użytym wektorze uwierzytelniającym.",
		25004: "Niepoprawny format CSR lub niepoprawny podpis CSR.",
		25005: "Wniosek certyfikacyjny o podanym numerze referencyjnym nie istnieje.",
		25006: "Osiągnięto limit możliwych do złożenia wniosków certyfikacyjnych.",
		25007: "Osiągnięto limit dopuszczalnej liczby posiadanych certyfikatów.",
		25008: "Certyfikat o podanym numerze seryjnym nie istnieje.",
		25009: "Nie można odwołać wskazanego certyfikatu, ponieważ jest już odwołany, zablokowany lub nieważny.",
		25010: "Nieprawidłowy typ lub długość klucza.",
		25011: "Nieprawidłowy algorytm podpisu CSR.",
	} {
		descriptions[code] = desc
	}
}

// ensureCA makes the simulator's CA on first use and parses a stored one.
func (st *state) ensureCA(now time.Time) error {
	if st.CA == nil {
		key, err := ecdsa.GenerateKey(elliptic.P256(), randReader{})
		if err != nil {
			return fmt.Errorf("ksefsim: generate CA key: %w", err)
		}
		tmpl := &x509.Certificate{
			SerialNumber:          new(big.Int).SetBytes(randBytes(8)),
			Subject:               pkix.Name{CommonName: "Centrum Certyfikacji KSeF (ksefsim)", Organization: []string{"Ministerstwo Finansów"}, Country: []string{"PL"}},
			NotBefore:             now.Add(-24 * time.Hour).Truncate(time.Second),
			NotAfter:              now.AddDate(20, 0, 0).Truncate(time.Second),
			KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
			BasicConstraintsValid: true,
			IsCA:                  true,
		}
		der, err := x509.CreateCertificate(randReader{}, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			return fmt.Errorf("ksefsim: self-sign CA: %w", err)
		}
		kd, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return fmt.Errorf("ksefsim: marshal CA key: %w", err)
		}
		st.CA = &simCA{KeyDER: kd, CertDER: der}
	}
	if st.CA.key != nil {
		return nil
	}
	k, err := x509.ParsePKCS8PrivateKey(st.CA.KeyDER)
	if err != nil {
		return fmt.Errorf("%w: CA key: %w", ErrStateFile, err)
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return fmt.Errorf("%w: CA key is %T", ErrStateFile, k)
	}
	cert, err := x509.ParseCertificate(st.CA.CertDER)
	if err != nil {
		return fmt.Errorf("%w: CA certificate: %w", ErrStateFile, err)
	}
	st.CA.key, st.CA.cert = signer, cert
	return nil
}

// randReader reads crypto/rand through randBytes, which panics on failure.
type randReader struct{}

func (randReader) Read(p []byte) (int, error) { copy(p, randBytes(len(p))); return len(p), nil }

// CACertificatePEM returns the certificate of the simulator's CA, which signs
// every certificate issued through the enrollment endpoints.
func (s *Server) CACertificatePEM() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.st.CA.CertDER})
}

// issuedBy reports whether cert was signed by the simulator's CA.
func (st *state) issuedBy(cert *x509.Certificate) bool {
	return st.CA != nil && st.CA.cert != nil && cert.CheckSignatureFrom(st.CA.cert) == nil
}

// SetCertificateStatus sets an issued certificate to Active, Blocked
// (suspended) or Revoked, as KSeF's own processes do. Revoked is final.
func (s *Server) SetCertificateStatus(serial, status string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.st.Certs[serial]
	switch {
	case c == nil:
		return fmt.Errorf("%w: no certificate %q", ErrOptions, serial)
	case status != CertActive && status != CertBlocked && status != CertRevoked:
		return fmt.Errorf("%w: status %q (want Active, Blocked or Revoked)", ErrOptions, status)
	case c.State == CertRevoked && status != CertRevoked:
		return fmt.Errorf("%w: certificate %s is revoked", ErrOptions, serial)
	}
	c.State = status
	return nil
}

// loginOp is the authentication operation behind the caller's access token.
func (s *Server) loginOp(c *call) *authOp { return s.st.AuthOps[c.authRef] }

func (s *Server) handleCertLimits(c *call) (*response, error) {
	enrolls, active := s.certCounts(c.nip, c.now)
	l := wireCertLimits{
		Enrollment:  wireLimit{Limit: s.opts.EnrollmentLimit, Remaining: max(0, s.opts.EnrollmentLimit-enrolls)},
		Certificate: wireLimit{Limit: s.opts.CertificateLimit, Remaining: max(0, s.opts.CertificateLimit-active)},
	}
	op := s.loginOp(c)
	l.CanRequest = op != nil && op.Method == methodXAdES && l.Enrollment.Remaining > 0 && l.Certificate.Remaining > 0
	return jsonResp(http.StatusOK, l), nil
}

// certCounts returns the subject's enrollment requests and active certificates.
func (s *Server) certCounts(nip string, now time.Time) (enrolls, active int) {
	for _, e := range s.st.Enrolls {
		if e.NIP == nip {
			enrolls++
		}
	}
	for _, c := range s.st.Certs {
		if c.NIP == nip && c.status(now) == CertActive {
			active++
		}
	}
	return enrolls, active
}

func (s *Server) handleEnrollmentData(c *call) (*response, error) {
	op := s.loginOp(c)
	if op == nil || op.Subject == nil {
		return nil, badRequest(25001)
	}
	return jsonResp(http.StatusOK, op.Subject), nil
}

// subjectData returns the enrollment data of a login certificate: its
// subject attributes as KSeF hands them back for the CSR.
func subjectData(cert *x509.Certificate, nip string) *wireEnrollmentData {
	d := &wireEnrollmentData{}
	fields := d.fields()
	for _, n := range cert.Subject.Names {
		v, _ := n.Value.(string)
		for _, f := range fields {
			if n.Type.Equal(f.oid) {
				*f.value = v
			}
		}
	}
	if d.CommonName == "" {
		d.CommonName = nip
	}
	if d.CountryName == "" {
		d.CountryName = "PL"
	}
	return d
}

var (
	oidCountryName      = asn1.ObjectIdentifier{2, 5, 4, 6}
	oidGivenName        = asn1.ObjectIdentifier{2, 5, 4, 42}
	oidSurname          = asn1.ObjectIdentifier{2, 5, 4, 4}
	oidUniqueIdentifier = asn1.ObjectIdentifier{2, 5, 4, 45}
	oidOrganizationName = asn1.ObjectIdentifier{2, 5, 4, 10}
)

// dataField is one attribute of the enrollment data with its OID.
type dataField struct {
	oid   asn1.ObjectIdentifier
	value *string
}

// fields lists d's attributes with their OIDs, for reading them from a
// certificate's subject and comparing them with a CSR's.
func (d *wireEnrollmentData) fields() []dataField {
	return []dataField{
		{oidCommonName, &d.CommonName},
		{oidCountryName, &d.CountryName},
		{oidGivenName, &d.GivenName},
		{oidSurname, &d.Surname},
		{oidSerialNumber, &d.SerialNumber},
		{oidUniqueIdentifier, &d.UniqueIdentifier},
		{oidOrganizationName, &d.OrganizationName},
		{oidOrganizationIdentifier, &d.OrganizationIdentifier},
	}
}

// attrs are the (type, value) pairs of the enrollment data, as "oid=value".
func (d *wireEnrollmentData) attrs() []string {
	var out []string
	for _, f := range d.fields() {
		if *f.value != "" {
			out = append(out, f.oid.String()+"="+*f.value)
		}
	}
	sort.Strings(out)
	return out
}

// certNameRe is the certificateName pattern of EnrollCertificateRequest.
var certNameRe = regexp.MustCompile(`^[a-zA-Z0-9_\- ąćęłńóśźżĄĆĘŁŃÓŚŹŻ]{5,100}$`)

func (s *Server) handleEnroll(c *call) (*response, error) {
	op := s.loginOp(c)
	if op == nil || op.Method != methodXAdES || op.Subject == nil {
		return nil, badRequest(25002)
	}
	var req wireEnrollRequest
	if err := decodeJSON(c.body, &req); err != nil {
		return nil, err
	}
	if !certNameRe.MatchString(req.CertificateName) {
		return nil, badRequest(21405, "certificateName: 5-100 znaków: litery, cyfry, _, - i spacja.")
	}
	if req.CertificateType != CertTypeAuthentication && req.CertificateType != CertTypeOffline {
		return nil, badRequest(21405, "certificateType: dozwolone wartości to Authentication i Offline.")
	}
	validFrom := c.now
	if req.ValidFrom != nil {
		t, err := time.Parse(time.RFC3339Nano, *req.ValidFrom)
		if err != nil {
			return nil, badRequest(21405, "validFrom: nieprawidłowa data.")
		}
		validFrom = t
	}
	csr, err := parseCSR(req.CSR)
	if err != nil {
		return nil, err
	}
	var got []string
	for _, n := range csr.Subject.Names {
		v, _ := n.Value.(string)
		got = append(got, n.Type.String()+"="+v)
	}
	sort.Strings(got)
	if want := op.Subject.attrs(); !slices.Equal(got, want) {
		return nil, badRequest(25003, fmt.Sprintf("Oczekiwano atrybutów %s, otrzymano %s.", strings.Join(want, ", "), strings.Join(got, ", ")))
	}
	enrolls, active := s.certCounts(c.nip, c.now)
	if enrolls >= s.opts.EnrollmentLimit {
		return nil, badRequest(25006)
	}
	if active >= s.opts.CertificateLimit {
		return nil, badRequest(25007)
	}
	e := &enrollment{Ref: newRef(c.now, "EH"), NIP: c.nip, RequestDate: c.now, ReadyAt: c.now.Add(s.opts.ProcessingDelay),
		Code: 200, Desc: "Wniosek obsłużony (certyfikat wygenerowany)"}
	s.st.Enrolls[e.Ref] = e
	spki := sha256.Sum256(csr.RawSubjectPublicKeyInfo)
	keyHash := base64.StdEncoding.EncodeToString(spki[:])
	for _, other := range s.st.Certs {
		if other.KeyHash == keyHash && other.NIP != c.nip {
			e.Code, e.Desc, e.Details = 400, "Wniosek odrzucony", []string{"Klucz publiczny został już certyfikowany przez inny podmiot."}
			return jsonResp(http.StatusAccepted, wireEnrollResponse{ReferenceNumber: e.Ref, Timestamp: ts(c.now)}), nil
		}
	}
	cert, err := s.issue(csr, req.CertificateType, validFrom)
	if err != nil {
		return nil, err
	}
	cert.Name, cert.NIP, cert.KeyHash, cert.RequestDate = req.CertificateName, c.nip, keyHash, c.now
	s.st.Certs[cert.Serial] = cert
	e.Serial = cert.Serial
	return jsonResp(http.StatusAccepted, wireEnrollResponse{ReferenceNumber: e.Ref, Timestamp: ts(c.now)}), nil
}

// parseCSR parses a PKCS#10 request and refuses what KSeF refuses: a bad
// request or signature (25004), a signature algorithm (25011) or a key
// (25010) it does not accept.
func parseCSR(der []byte) (*x509.CertificateRequest, error) {
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil || csr.CheckSignature() != nil {
		return nil, badRequest(25004)
	}
	// The keys and CSR signatures KSeF accepts: the description of POST
	// /certificates/enrollments in open-api.json (ksef-api.md §2 step 3):
	// RSA of exactly 2048 bits or EC P-256, signed with RSA PKCS#1 v1.5,
	// RSA-PSS or ECDSA over SHA-1/256/384/512.
	switch csr.SignatureAlgorithm {
	case x509.SHA1WithRSA, x509.SHA256WithRSA, x509.SHA384WithRSA, x509.SHA512WithRSA,
		x509.SHA256WithRSAPSS, x509.SHA384WithRSAPSS, x509.SHA512WithRSAPSS,
		x509.ECDSAWithSHA1, x509.ECDSAWithSHA256, x509.ECDSAWithSHA384, x509.ECDSAWithSHA512:
	default:
		return nil, badRequest(25011)
	}
	switch k := csr.PublicKey.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() != 2048 {
			return nil, badRequest(25010, fmt.Sprintf("Klucz RSA ma %d bitów, wymagane 2048.", k.N.BitLen()))
		}
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, badRequest(25010, "Dozwolona jest tylko krzywa P-256.")
		}
	default:
		return nil, badRequest(25010)
	}
	return csr, nil
}

// issue signs a certificate for csr with the keyUsage of typ: Digital
// Signature for Authentication, Non-Repudiation for Offline (ksef-api.md §2).
func (s *Server) issue(csr *x509.CertificateRequest, typ string, validFrom time.Time) (*simCert, error) {
	if err := s.st.ensureCA(s.now()); err != nil {
		return nil, err
	}
	var serial uint64
	for serial == 0 || s.st.Certs[fmt.Sprintf("%016X", serial)] != nil {
		serial = binary.BigEndian.Uint64(randBytes(8)) >> 1 // positive, as DER wants
	}
	ku := x509.KeyUsageDigitalSignature
	if typ == CertTypeOffline {
		ku = x509.KeyUsageContentCommitment
	}
	from := validFrom.UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber:          new(big.Int).SetUint64(serial),
		RawSubject:            csr.RawSubject,
		NotBefore:             from,
		NotAfter:              from.Add(s.opts.CertificateValidity),
		KeyUsage:              ku,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(randReader{}, tmpl, s.st.CA.cert, csr.PublicKey, s.st.CA.key)
	if err != nil {
		return nil, fmt.Errorf("ksefsim: issue certificate: %w", err)
	}
	cn := ""
	for _, n := range csr.Subject.Names {
		if n.Type.Equal(oidCommonName) {
			cn, _ = n.Value.(string)
		}
	}
	return &simCert{Serial: fmt.Sprintf("%016X", serial), Type: typ, CommonName: cn, DER: der,
		ValidFrom: tmpl.NotBefore, ValidTo: tmpl.NotAfter, State: CertActive}, nil
}

func (s *Server) handleEnrollmentStatus(c *call) (*response, error) {
	e := s.st.Enrolls[c.r.PathValue("ref")]
	if e == nil || e.NIP != c.nip {
		return nil, badRequest(25005)
	}
	out := wireEnrollmentStatus{RequestDate: ts(e.RequestDate), Status: wireStatus{Code: 100, Description: "Wniosek przyjęty do realizacji"}}
	if !c.now.Before(e.ReadyAt) {
		out.Status = wireStatus{Code: e.Code, Description: e.Desc, Details: e.Details}
		if e.Serial != "" {
			out.CertificateSerialNumber = ptr(e.Serial)
		}
	}
	return jsonResp(http.StatusOK, out), nil
}

var serialRe = regexp.MustCompile(`^[0-9A-F]{16}$`)

func (s *Server) handleRetrieve(c *call) (*response, error) {
	var req wireRetrieveRequest
	if err := decodeJSON(c.body, &req); err != nil {
		return nil, err
	}
	if n := len(req.CertificateSerialNumbers); n < 1 || n > 10 {
		return nil, badRequest(21405, "certificateSerialNumbers: od 1 do 10 numerów.")
	}
	out := wireRetrieveResponse{Certificates: []wireRetrievedCert{}}
	for _, sn := range req.CertificateSerialNumbers {
		if !serialRe.MatchString(sn) {
			return nil, badRequest(21405, "certificateSerialNumbers: numer "+strconv.Quote(sn)+" nie jest 16 cyframi szesnastkowymi.")
		}
		if cert := s.st.Certs[sn]; cert != nil && cert.NIP == c.nip {
			out.Certificates = append(out.Certificates, wireRetrievedCert{Certificate: cert.DER, CertificateName: cert.Name,
				CertificateSerialNumber: cert.Serial, CertificateType: cert.Type})
		}
	}
	return jsonResp(http.StatusOK, out), nil
}

func (s *Server) handleRevoke(c *call) (*response, error) {
	// open-api.json, POST /certificates/{certificateSerialNumber}/revoke:
	// "Operacja nie jest dostępna dla podmiotu uwierzytelnionego tokenem
	// KSeF" (403, reasonCode auth-method-not-allowed).
	if op := s.loginOp(c); op == nil || op.Method != methodXAdES {
		return nil, &apiError{status: http.StatusForbidden, code: 403, reason: "auth-method-not-allowed",
			desc: "Operacja nie jest dostępna dla podmiotu uwierzytelnionego tokenem KSeF."}
	}
	sn := c.r.PathValue("serial")
	if !serialRe.MatchString(sn) {
		return nil, badRequest(21405, "certificateSerialNumber: 16 cyfr szesnastkowych.")
	}
	var req wireRevokeRequest
	if len(c.body) > 0 {
		if err := decodeJSON(c.body, &req); err != nil {
			return nil, err
		}
	}
	if r := req.RevocationReason; r != nil && *r != "Unspecified" && *r != "Superseded" && *r != "KeyCompromise" {
		return nil, badRequest(21405, "revocationReason: dozwolone wartości to Unspecified, Superseded i KeyCompromise.")
	}
	cert := s.st.Certs[sn]
	if cert == nil || cert.NIP != c.nip {
		return nil, badRequest(25008)
	}
	if cert.status(c.now) != CertActive {
		return nil, badRequest(25009)
	}
	cert.State = CertRevoked
	if req.RevocationReason != nil {
		cert.Reason = *req.RevocationReason
	}
	return &response{status: http.StatusNoContent}, nil
}

func (s *Server) handleQueryCerts(c *call) (*response, error) {
	q := c.r.URL.Query()
	size, offset := 10, 0
	if v := q.Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 10 || n > 50 {
			return nil, badRequest(21405, "pageSize: od 10 do 50.")
		}
		size = n
	}
	if v := q.Get("pageOffset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, badRequest(21405, "pageOffset: liczba nieujemna.")
		}
		offset = n
	}
	var f wireCertQuery
	if len(c.body) > 0 {
		if err := decodeJSON(c.body, &f); err != nil {
			return nil, err
		}
	}
	var after time.Time
	if f.ExpiresAfter != nil {
		t, err := time.Parse(time.RFC3339Nano, *f.ExpiresAfter)
		if err != nil {
			return nil, badRequest(21405, "expiresAfter: nieprawidłowa data.")
		}
		after = t
	}
	var list []*simCert
	for _, cert := range s.st.Certs {
		switch {
		case cert.NIP != c.nip,
			f.CertificateSerialNumber != nil && *f.CertificateSerialNumber != cert.Serial,
			f.Name != nil && !strings.Contains(cert.Name, *f.Name),
			f.Type != nil && *f.Type != cert.Type,
			f.Status != nil && *f.Status != cert.status(c.now),
			!after.IsZero() && !cert.ValidTo.After(after):
			continue
		}
		list = append(list, cert)
	}
	// requestDate descending, as the OpenAPI's x-sort says.
	sort.Slice(list, func(i, j int) bool {
		if !list[i].RequestDate.Equal(list[j].RequestDate) {
			return list[i].RequestDate.After(list[j].RequestDate)
		}
		return list[i].Serial < list[j].Serial
	})
	out := wireCertQueryResponse{Certificates: []wireCertListItem{}}
	start := min(offset*size, len(list))
	end := min(start+size, len(list))
	for _, cert := range list[start:end] {
		it := wireCertListItem{CertificateSerialNumber: cert.Serial, Name: cert.Name, Type: cert.Type, CommonName: cert.CommonName,
			Status: cert.status(c.now), SubjectIdentifier: wireSubjectID{Type: "Nip", Value: cert.NIP},
			ValidFrom: ts(cert.ValidFrom), ValidTo: ts(cert.ValidTo), RequestDate: ts(cert.RequestDate)}
		if cert.LastUse != nil {
			it.LastUseDate = ptr(ts(*cert.LastUse))
		}
		out.Certificates = append(out.Certificates, it)
	}
	out.HasMore = end < len(list)
	return jsonResp(http.StatusOK, out), nil
}

// ksefCertCheck returns why a login certificate issued by the simulator
// cannot authenticate (auth status 460), or "" when it can.
func (s *Server) ksefCertCheck(cert *x509.Certificate, now time.Time) (simc *simCert, why string) {
	serial := strings.ToUpper(cert.SerialNumber.Text(16))
	serial = strings.Repeat("0", max(0, 16-len(serial))) + serial
	simc = s.st.Certs[serial]
	switch {
	case simc == nil:
		return nil, "Niepoprawny certyfikat"
	case simc.Type != CertTypeAuthentication:
		return simc, "Niepoprawny certyfikat: certyfikat typu Offline nie służy do uwierzytelniania"
	}
	switch simc.status(now) {
	case CertRevoked:
		return simc, "Certyfikat odwołany"
	case CertBlocked:
		return simc, "Certyfikat zawieszony"
	case CertExpired:
		return simc, "Nieważny certyfikat"
	}
	return simc, ""
}
