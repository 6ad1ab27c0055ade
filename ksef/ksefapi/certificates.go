package ksefapi

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// CertificateType is a KSeF certificate type (KsefCertificateType). Each KSeF
// certificate has exactly one: Authentication certificates log in with
// XAdES, Offline certificates only sign KOD II (ksef-api.md §2).
type CertificateType string

// The two KSeF certificate types.
const (
	CertAuthentication CertificateType = "Authentication"
	CertOffline        CertificateType = "Offline"
)

// CertificateStatus is the state KSeF reports for a certificate
// (CertificateListItemStatus). Blocked is a suspension on the way to
// revocation.
type CertificateStatus string

// Certificate states.
const (
	CertActive  CertificateStatus = "Active"
	CertBlocked CertificateStatus = "Blocked"
	CertRevoked CertificateStatus = "Revoked"
	CertExpired CertificateStatus = "Expired"
)

// Usable reports whether KSeF accepts a certificate in this state: only an
// Active one authenticates or makes a KOD II that verifies.
func (s CertificateStatus) Usable() bool { return s == CertActive }

// Enrollment status codes (CertificateEnrollmentStatusResponse).
const (
	EnrollmentAccepted  = 100 // accepted for processing
	EnrollmentDone      = 200 // certificate issued
	EnrollmentRejected  = 400 // rejected: key already certified, or a limit reached
	EnrollmentFailed    = 500 // unknown error
	EnrollmentCancelled = 550 // cancelled by the system; try again
)

// Limits is one limit of CertificateLimitsResponse.
type Limits struct {
	Limit     int `json:"limit"`
	Remaining int `json:"remaining"`
}

// CertificateLimits says whether the authenticated subject may enroll now.
type CertificateLimits struct {
	CanRequest  bool   `json:"canRequest"`
	Enrollment  Limits `json:"enrollment"`  // enrollment requests
	Certificate Limits `json:"certificate"` // active certificates
}

// Allows reports whether one more enrollment stays within every limit.
func (l *CertificateLimits) Allows() bool {
	return l.CanRequest && l.Enrollment.Remaining > 0 && l.Certificate.Remaining > 0
}

// CertificateLimits returns the subject's enrollment and certificate limits
// (GET /certificates/limits).
func (c *Client) CertificateLimits(ctx context.Context) (*CertificateLimits, error) {
	var l CertificateLimits
	if _, err := c.do(ctx, call{op: "certificate limits", method: http.MethodGet, path: "/certificates/limits", auth: accessBearer}, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// EnrollmentData holds the subject attributes a CSR must carry verbatim
// (CertificateEnrollmentDataResponse); KSeF rejects a CSR whose attributes
// differ (25003). Empty fields are absent.
type EnrollmentData struct {
	CommonName             string `json:"commonName"`
	CountryName            string `json:"countryName"`
	GivenName              string `json:"givenName,omitempty"`
	Surname                string `json:"surname,omitempty"`
	SerialNumber           string `json:"serialNumber,omitempty"`
	UniqueIdentifier       string `json:"uniqueIdentifier,omitempty"`
	OrganizationName       string `json:"organizationName,omitempty"`
	OrganizationIdentifier string `json:"organizationIdentifier,omitempty"`
}

// EnrollmentData returns the attributes for the CSR. KSeF derives them from
// the certificate the client logged in with; after a token login it refuses
// (25001), so enrollment needs XAdES authentication.
func (c *Client) EnrollmentData(ctx context.Context) (*EnrollmentData, error) {
	var d EnrollmentData
	if _, err := c.do(ctx, call{op: "enrollment data", method: http.MethodGet, path: "/certificates/enrollments/data", auth: accessBearer}, &d); err != nil {
		return nil, err
	}
	if d.CommonName == "" || d.CountryName == "" {
		return nil, &APIError{Op: "enrollment data", Status: http.StatusOK, Description: "commonName or countryName missing"}
	}
	return &d, nil
}

// EnrollRequest asks KSeF for a certificate.
type EnrollRequest struct {
	Name      string          // certificateName: 5-100 of letters (Polish too), digits, _ - and space
	Type      CertificateType // Authentication or Offline
	CSR       []byte          // PKCS#10, DER
	ValidFrom time.Time       // zero: valid from issue
}

// certNameRe is the certificateName pattern of EnrollCertificateRequest.
var certNameRe = regexp.MustCompile(`^[a-zA-Z0-9_\- ąćęłńóśźżĄĆĘŁŃÓŚŹŻ]{5,100}$`)

type enrollRequest struct {
	CertificateName string          `json:"certificateName"`
	CertificateType CertificateType `json:"certificateType"`
	CSR             []byte          `json:"csr"`
	ValidFrom       *time.Time      `json:"validFrom,omitempty"`
}

// Enrollment is the 202 answer of POST /certificates/enrollments.
type Enrollment struct {
	ReferenceNumber string    `json:"referenceNumber"`
	Timestamp       time.Time `json:"timestamp"`
}

// Enroll sends a certificate signing request (POST /certificates/enrollments).
// The certificate is issued asynchronously: follow it with WaitEnrollment.
func (c *Client) Enroll(ctx context.Context, r EnrollRequest) (*Enrollment, error) {
	if !certNameRe.MatchString(r.Name) {
		return nil, fmt.Errorf("%w: certificate name %q must be 5-100 letters, digits, '_', '-' or spaces", ErrInvalidInput, r.Name)
	}
	if r.Type != CertAuthentication && r.Type != CertOffline {
		return nil, fmt.Errorf("%w: certificate type %q (want Authentication or Offline)", ErrInvalidInput, r.Type)
	}
	if len(r.CSR) == 0 {
		return nil, fmt.Errorf("%w: empty CSR", ErrInvalidInput)
	}
	req := enrollRequest{CertificateName: r.Name, CertificateType: r.Type, CSR: r.CSR}
	if !r.ValidFrom.IsZero() {
		req.ValidFrom = &r.ValidFrom
	}
	var e Enrollment
	if _, err := c.do(ctx, call{op: "enroll certificate", method: http.MethodPost, path: "/certificates/enrollments", body: req,
		auth: accessBearer, wantCode: http.StatusAccepted}, &e); err != nil {
		return nil, err
	}
	if e.ReferenceNumber == "" {
		return nil, &APIError{Op: "enroll certificate", Status: http.StatusAccepted, Description: "referenceNumber missing"}
	}
	return &e, nil
}

// EnrollmentStatus is CertificateEnrollmentStatusResponse.
type EnrollmentStatus struct {
	RequestDate             time.Time  `json:"requestDate"`
	Status                  StatusInfo `json:"status"`
	CertificateSerialNumber string     `json:"certificateSerialNumber,omitempty"`
}

// EnrollmentStatus returns the state of an enrollment; KSeF keeps it for 30
// days.
func (c *Client) EnrollmentStatus(ctx context.Context, ref string) (*EnrollmentStatus, error) {
	if ref == "" {
		return nil, fmt.Errorf("%w: empty enrollment reference", ErrInvalidInput)
	}
	var st EnrollmentStatus
	if _, err := c.do(ctx, call{op: "enrollment status", method: http.MethodGet, path: "/certificates/enrollments/" + url.PathEscape(ref), auth: accessBearer}, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// WaitEnrollment polls an enrollment until KSeF issued the certificate and
// returns its serial number. A rejection (400), an error (500) or a
// cancellation (550) is a *StatusError; the last two are Retryable, with a
// new enrollment: the status of this one is final.
func (c *Client) WaitEnrollment(ctx context.Context, ref string) (string, error) {
	var (
		serial string
		failed error // a final failure; pollUntil would poll through a retryable 550
	)
	err := c.pollUntil(ctx, func(ctx context.Context) (bool, error) {
		st, err := c.EnrollmentStatus(ctx, ref)
		if err != nil {
			return false, err
		}
		switch code := st.Status.Code; {
		case code == EnrollmentDone:
			if !serialRe.MatchString(st.CertificateSerialNumber) {
				return false, &APIError{Op: "enrollment status", Status: http.StatusOK, Description: "certificate issued without a valid serial number"}
			}
			serial = st.CertificateSerialNumber
			return true, nil
		case code < EnrollmentDone:
			return false, nil
		default:
			failed = &StatusError{Op: "enrollment", Code: code, Description: st.Status.Description, Details: st.Status.Details}
			return true, nil
		}
	})
	if err == nil {
		err = failed
	}
	return serial, err
}

// serialRe is the certificateSerialNumber pattern: 16 uppercase hex digits.
var serialRe = regexp.MustCompile(`^[0-9A-F]{16}$`)

// ValidSerial reports whether s is a KSeF certificate serial number (16
// uppercase hexadecimal digits).
func ValidSerial(s string) bool { return serialRe.MatchString(s) }

// checkSerial refuses, before any request, a serial number KSeF cannot know.
func checkSerial(s string) error {
	if !ValidSerial(s) {
		return fmt.Errorf("%w: serial number %q is not 16 uppercase hex digits", ErrInvalidInput, clipText(s, 40))
	}
	return nil
}

// RetrievedCertificate is one certificate of POST /certificates/retrieve.
type RetrievedCertificate struct {
	Name        string
	Serial      string
	Type        CertificateType
	DER         []byte
	Certificate *x509.Certificate
}

type retrieveRequest struct {
	CertificateSerialNumbers []string `json:"certificateSerialNumbers"`
}

// maxRetrieve is the most serials one retrieve request may name.
const maxRetrieve = 10

// ParseRetrievedCertificates decodes a RetrieveCertificatesResponse and parses
// each certificate, checking that its serial number is the one KSeF names.
func ParseRetrievedCertificates(body []byte) ([]RetrievedCertificate, error) {
	var r struct {
		Certificates []struct {
			Certificate             string          `json:"certificate"`
			CertificateName         string          `json:"certificateName"`
			CertificateSerialNumber string          `json:"certificateSerialNumber"`
			CertificateType         CertificateType `json:"certificateType"`
		} `json:"certificates"`
	}
	if err := jsonUnmarshalStrict(body, &r); err != nil {
		return nil, fmt.Errorf("ksefapi: retrieve certificates: %w", err)
	}
	out := make([]RetrievedCertificate, 0, len(r.Certificates))
	for i, it := range r.Certificates {
		if !ValidSerial(it.CertificateSerialNumber) {
			return nil, fmt.Errorf("ksefapi: retrieve certificates: item %d: serial number %q is not 16 uppercase hex digits", i, clipText(it.CertificateSerialNumber, 40))
		}
		if it.CertificateType != CertAuthentication && it.CertificateType != CertOffline {
			return nil, fmt.Errorf("ksefapi: retrieve certificates: %s: unknown type %q", it.CertificateSerialNumber, clipText(string(it.CertificateType), 40))
		}
		der, err := base64.StdEncoding.DecodeString(it.Certificate)
		if err != nil {
			return nil, fmt.Errorf("ksefapi: retrieve certificates: %s: certificate is not Base64: %w", it.CertificateSerialNumber, err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("ksefapi: retrieve certificates: %s: certificate does not parse: %w", it.CertificateSerialNumber, err)
		}
		if got := SerialOf(cert); got != it.CertificateSerialNumber {
			return nil, fmt.Errorf("ksefapi: retrieve certificates: %s: the certificate's serial number is %s", it.CertificateSerialNumber, got)
		}
		out = append(out, RetrievedCertificate{Name: it.CertificateName, Serial: it.CertificateSerialNumber, Type: it.CertificateType, DER: der, Certificate: cert})
	}
	return out, nil
}

// SerialOf returns a certificate's serial number as KSeF writes it: uppercase
// hex, left-padded to 16 digits.
func SerialOf(c *x509.Certificate) string {
	s := strings.ToUpper(c.SerialNumber.Text(16))
	if len(s) < 16 {
		s = strings.Repeat("0", 16-len(s)) + s
	}
	return s
}

func clipText(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// RetrieveCertificates downloads certificates by serial number (at most 10
// per call; POST /certificates/retrieve).
func (c *Client) RetrieveCertificates(ctx context.Context, serials ...string) ([]RetrievedCertificate, error) {
	if len(serials) == 0 || len(serials) > maxRetrieve {
		return nil, fmt.Errorf("%w: %d serial numbers (want 1-%d)", ErrInvalidInput, len(serials), maxRetrieve)
	}
	for _, s := range serials {
		if err := checkSerial(s); err != nil {
			return nil, err
		}
	}
	_, body, err := c.doRaw(ctx, call{op: "retrieve certificates", method: http.MethodPost, path: "/certificates/retrieve",
		body: retrieveRequest{CertificateSerialNumbers: serials}, auth: accessBearer})
	if err != nil {
		return nil, err
	}
	certs, err := ParseRetrievedCertificates(body)
	if err != nil {
		return nil, &APIError{Op: "retrieve certificates", Status: http.StatusOK, Description: "malformed response body", Err: err}
	}
	return certs, nil
}

// RevocationReason says why a certificate is revoked (CertificateRevocationReason).
type RevocationReason string

// Revocation reasons.
const (
	RevokeUnspecified   RevocationReason = "Unspecified"
	RevokeSuperseded    RevocationReason = "Superseded"
	RevokeKeyCompromise RevocationReason = "KeyCompromise"
)

type revokeRequest struct {
	RevocationReason RevocationReason `json:"revocationReason,omitempty"`
}

// RevokeCertificate revokes one of the subject's certificates (POST
// /certificates/{serial}/revoke). KSeF refuses it after a token login.
// A revoked Offline certificate makes every KOD II it signed fail to verify.
func (c *Client) RevokeCertificate(ctx context.Context, serial string, reason RevocationReason) error {
	if err := checkSerial(serial); err != nil {
		return err
	}
	_, _, err := c.doRaw(ctx, call{op: "revoke certificate", method: http.MethodPost, path: "/certificates/" + serial + "/revoke",
		body: revokeRequest{RevocationReason: reason}, auth: accessBearer, wantCode: http.StatusNoContent})
	return err
}

// CertificateQuery filters QueryCertificates; zero fields do not filter.
type CertificateQuery struct {
	Serial       string            `json:"certificateSerialNumber,omitempty"`
	Name         string            `json:"name,omitempty"`
	Type         CertificateType   `json:"type,omitempty"`
	Status       CertificateStatus `json:"status,omitempty"`
	ExpiresAfter *time.Time        `json:"expiresAfter,omitempty"`
}

// CertificateInfo is CertificateListItem: what KSeF knows about a certificate.
type CertificateInfo struct {
	Serial            string            `json:"certificateSerialNumber"`
	Name              string            `json:"name"`
	Type              CertificateType   `json:"type"`
	CommonName        string            `json:"commonName"`
	Status            CertificateStatus `json:"status"`
	SubjectIdentifier struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	} `json:"subjectIdentifier"`
	ValidFrom   time.Time  `json:"validFrom"`
	ValidTo     time.Time  `json:"validTo"`
	LastUseDate *time.Time `json:"lastUseDate,omitempty"`
	RequestDate time.Time  `json:"requestDate"`
}

// certPageSize is the page size QueryCertificates asks for (the maximum).
const certPageSize = 50

// QueryCertificates lists the subject's certificates that match q, newest
// request first, following the pages (POST /certificates/query).
func (c *Client) QueryCertificates(ctx context.Context, q CertificateQuery) ([]CertificateInfo, error) {
	if q.Serial != "" {
		if err := checkSerial(q.Serial); err != nil {
			return nil, err
		}
	}
	var all []CertificateInfo
	for page := 0; page < 1000; page++ { // 50 000 certificates bounds a misbehaving server
		var r struct {
			Certificates []CertificateInfo `json:"certificates"`
			HasMore      bool              `json:"hasMore"`
		}
		query := url.Values{"pageSize": {strconv.Itoa(certPageSize)}, "pageOffset": {strconv.Itoa(page)}}
		if _, err := c.do(ctx, call{op: "query certificates", method: http.MethodPost, path: "/certificates/query", query: query,
			body: q, auth: accessBearer}, &r); err != nil {
			return nil, err
		}
		all = append(all, r.Certificates...)
		if !r.HasMore || len(r.Certificates) == 0 {
			return all, nil
		}
	}
	return nil, fmt.Errorf("ksefapi: query certificates: paging never ended")
}

// CertificateStatusOf returns what KSeF reports for one certificate, by
// serial number; ok is false when KSeF does not know it (a certificate KSeF
// did not issue, such as a qualified seal or a self-signed test one).
func (c *Client) CertificateStatusOf(ctx context.Context, serial string) (info *CertificateInfo, ok bool, err error) {
	list, err := c.QueryCertificates(ctx, CertificateQuery{Serial: serial})
	if err != nil {
		return nil, false, err
	}
	for i := range list {
		if list[i].Serial == serial {
			return &list[i], true, nil
		}
	}
	return nil, false, nil
}
