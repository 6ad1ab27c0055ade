package ksefapi

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/posagent/posagent/ksef"
)

// FormCode identifies the invoice schema of a session.
type FormCode struct {
	SystemCode    string `json:"systemCode"`
	SchemaVersion string `json:"schemaVersion"`
	Value         string `json:"value"`
}

// FormFA3 is the FA(3) form code (note the space in "FA (3)").
var FormFA3 = FormCode{SystemCode: "FA (3)", SchemaVersion: "1-0E", Value: "FA"}

// MaxInvoiceSize is the default KSeF limit for an invoice without
// attachments (ksef.MaxInvoiceSize).
const MaxInvoiceSize = ksef.MaxInvoiceSize

// OnlineSession is an open interactive session. Its key never leaves the
// process; a session lost in a restart is left to expire and a new one opened.
type OnlineSession struct {
	c          *Client
	Reference  string
	ValidUntil time.Time
	key        *sessionKey

	mu     sync.Mutex // guards closed
	closed bool
}

type openOnlineRequest struct {
	FormCode   FormCode       `json:"formCode"`
	Encryption encryptionInfo `json:"encryption"`
}

type openSessionResponse struct {
	ReferenceNumber    string              `json:"referenceNumber"`
	ValidUntil         time.Time           `json:"validUntil"`
	PartUploadRequests []PartUploadRequest `json:"partUploadRequests"`
}

// OpenOnline opens an interactive FA(3) session with a fresh AES-256 key.
func (c *Client) OpenOnline(ctx context.Context) (*OnlineSession, error) {
	key, err := newSessionKey()
	if err != nil {
		return nil, err
	}
	resp, err := withKey(ctx, c, UsageSymmetricKey, func(k PublicKey) (*openSessionResponse, error) {
		enc, err := key.encryptionInfo(k)
		if err != nil {
			return nil, err
		}
		var r openSessionResponse
		_, err = c.do(ctx, call{op: "open online session", method: http.MethodPost, path: "/sessions/online",
			body: openOnlineRequest{FormCode: FormFA3, Encryption: enc}, auth: accessBearer}, &r)
		if err != nil {
			return nil, err
		}
		return &r, nil
	})
	if err != nil {
		return nil, err
	}
	if resp.ReferenceNumber == "" {
		return nil, &APIError{Op: "open online session", Status: http.StatusCreated, Description: "referenceNumber missing"}
	}
	return &OnlineSession{c: c, Reference: resp.ReferenceNumber, ValidUntil: resp.ValidUntil, key: key}, nil
}

// SendOptions are the per-invoice flags of Send.
type SendOptions struct {
	// OfflineMode declares the invoice as issued offline.
	OfflineMode bool
	// HashOfCorrected is the raw SHA-256 of the rejected original for a technical
	// correction (sent as standard Base64); nil otherwise. It requires OfflineMode.
	HashOfCorrected []byte
}

type sendInvoiceRequest struct {
	InvoiceHash             string  `json:"invoiceHash"`
	InvoiceSize             int64   `json:"invoiceSize"`
	EncryptedInvoiceHash    string  `json:"encryptedInvoiceHash"`
	EncryptedInvoiceSize    int64   `json:"encryptedInvoiceSize"`
	EncryptedInvoiceContent []byte  `json:"encryptedInvoiceContent"`
	OfflineMode             bool    `json:"offlineMode"`
	HashOfCorrectedInvoice  *string `json:"hashOfCorrectedInvoice"`
}

// Send encrypts one invoice and sends it; it returns the invoice reference
// number. The XML bytes are sent unchanged (their hash is KOD I's). An
// APIError matching ErrSessionFull means: open a new session and send there.
func (s *OnlineSession) Send(ctx context.Context, xml []byte, opts SendOptions) (string, error) {
	if s == nil || s.c == nil || s.key == nil {
		return "", fmt.Errorf("%w: session was not opened by OpenOnline", ErrInvalidInput)
	}
	req, err := s.buildSend(xml, opts)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return "", ErrSessionClosed
	}
	var r struct {
		ReferenceNumber string `json:"referenceNumber"`
	}
	_, err = s.c.do(ctx, call{op: "send invoice", method: http.MethodPost,
		path: "/sessions/online/" + url.PathEscape(s.Reference) + "/invoices", body: req, auth: accessBearer}, &r)
	if err != nil {
		return "", err
	}
	if r.ReferenceNumber == "" {
		return "", &APIError{Op: "send invoice", Status: http.StatusAccepted, Description: "referenceNumber missing"}
	}
	return r.ReferenceNumber, nil
}

func (s *OnlineSession) buildSend(xml []byte, opts SendOptions) (*sendInvoiceRequest, error) {
	if len(xml) == 0 {
		return nil, fmt.Errorf("%w: empty invoice", ErrInvalidInput)
	}
	if len(xml) > ksef.MaxInvoiceWithAttachmentsSize { // the largest limit; KSeF enforces the exact one
		return nil, fmt.Errorf("%w: invoice of %d bytes exceeds %d", ErrInvalidInput, len(xml), ksef.MaxInvoiceWithAttachmentsSize)
	}
	var corrected *string
	if opts.HashOfCorrected != nil {
		if len(opts.HashOfCorrected) != sha256.Size {
			return nil, fmt.Errorf("%w: HashOfCorrected is %d bytes, want 32", ErrInvalidInput, len(opts.HashOfCorrected))
		}
		if !opts.OfflineMode {
			return nil, fmt.Errorf("%w: a technical correction must be sent with OfflineMode", ErrInvalidInput)
		}
		h := base64.StdEncoding.EncodeToString(opts.HashOfCorrected)
		corrected = &h
	}
	ct, err := EncryptCBC(s.key.key[:], s.key.iv[:], xml)
	if err != nil {
		return nil, err
	}
	h := ksef.InvoiceHash(xml) // the same hash KOD I carries
	return &sendInvoiceRequest{
		InvoiceHash:             base64.StdEncoding.EncodeToString(h[:]),
		InvoiceSize:             int64(len(xml)),
		EncryptedInvoiceHash:    sha256b64(ct),
		EncryptedInvoiceSize:    int64(len(ct)),
		EncryptedInvoiceContent: ct,
		OfflineMode:             opts.OfflineMode,
		HashOfCorrectedInvoice:  corrected,
	}, nil
}

// Close closes the session, which starts generation of the session UPO.
func (s *OnlineSession) Close(ctx context.Context) error {
	if s == nil || s.c == nil {
		return fmt.Errorf("%w: session was not opened by OpenOnline", ErrInvalidInput)
	}
	_, err := s.c.do(ctx, call{op: "close online session", method: http.MethodPost,
		path: "/sessions/online/" + url.PathEscape(s.Reference) + "/close", auth: accessBearer}, nil)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return nil
}

// SendInvoice is s.Send for callers that hold the Client behind an interface
// (so a fake can stand in for both). s must come from this client's OpenOnline.
func (c *Client) SendInvoice(ctx context.Context, s *OnlineSession, xml []byte, opts SendOptions) (string, error) {
	if s == nil || s.c != c {
		return "", fmt.Errorf("%w: session belongs to another client", ErrInvalidInput)
	}
	return s.Send(ctx, xml, opts)
}

// CloseOnline is s.Close, for callers that hold the Client behind an interface.
func (c *Client) CloseOnline(ctx context.Context, s *OnlineSession) error {
	if s == nil || s.c != c {
		return fmt.Errorf("%w: session belongs to another client", ErrInvalidInput)
	}
	return s.Close(ctx)
}

// Session status codes (SessionStatusResponse.status.code).
const (
	SessionOpen       = 100
	SessionProcessing = 150
	SessionClosed     = 170
	SessionDone       = 200
)

// SessionStatus is GET /sessions/{referenceNumber}.
type SessionStatus struct {
	Status                 StatusInfo `json:"status"`
	DateCreated            time.Time  `json:"dateCreated"`
	DateUpdated            time.Time  `json:"dateUpdated"`
	ValidUntil             *time.Time `json:"validUntil"`
	UPO                    *UPOPages  `json:"upo"`
	InvoiceCount           *int       `json:"invoiceCount"`
	SuccessfulInvoiceCount *int       `json:"successfulInvoiceCount"`
	FailedInvoiceCount     *int       `json:"failedInvoiceCount"`
}

// UPOPages lists the pages of a session UPO.
type UPOPages struct {
	Pages []struct {
		ReferenceNumber           string    `json:"referenceNumber"`
		DownloadURL               string    `json:"downloadUrl"`
		DownloadURLExpirationDate time.Time `json:"downloadUrlExpirationDate"`
	} `json:"pages"`
}

// SessionStatus returns the status of an online or batch session.
func (c *Client) SessionStatus(ctx context.Context, ref string) (*SessionStatus, error) {
	if ref == "" {
		return nil, fmt.Errorf("%w: empty session reference", ErrInvalidInput)
	}
	var st SessionStatus
	if _, err := c.do(ctx, call{op: "session status", method: http.MethodGet, path: "/sessions/" + url.PathEscape(ref), auth: accessBearer}, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// WaitSession polls a closed session until it is processed (200) and returns
// its final status; a failure code (≥ 300) is returned as *StatusError along
// with the status.
func (c *Client) WaitSession(ctx context.Context, ref string) (*SessionStatus, error) {
	var last *SessionStatus
	err := c.pollUntil(ctx, func(ctx context.Context) (bool, error) {
		st, err := c.SessionStatus(ctx, ref)
		if err != nil {
			return false, err
		}
		last = st
		switch code := st.Status.Code; {
		case code == SessionDone:
			return true, nil
		case code >= 300:
			return false, &StatusError{Op: "session", Code: code, Description: st.Status.Description, Details: st.Status.Details}
		}
		return false, nil
	})
	return last, err
}

// Invoice status codes (SessionInvoiceStatusResponse.status.code).
const (
	InvoiceAccepted   = 100
	InvoiceProcessing = 150
	InvoiceSuccess    = 200
	InvoiceDuplicate  = 440
)

// InvoiceStatus is the state of one invoice in a session
// (SessionInvoiceStatusResponse).
type InvoiceStatus struct {
	OrdinalNumber   int        `json:"ordinalNumber"`
	InvoiceNumber   string     `json:"invoiceNumber,omitempty"`
	KsefNumber      string     `json:"ksefNumber,omitempty"`
	ReferenceNumber string     `json:"referenceNumber"`
	InvoiceHash     string     `json:"invoiceHash"`
	InvoiceFileName string     `json:"invoiceFileName,omitempty"`
	AcquisitionDate *time.Time `json:"acquisitionDate,omitempty"`
	InvoicingDate   time.Time  `json:"invoicingDate"`
	InvoicingMode   string     `json:"invoicingMode,omitempty"` // Online or Offline
	UpoDownloadURL  string     `json:"upoDownloadUrl,omitempty"`
	Status          StatusInfo `json:"status"`
}

// Code is the invoice status code.
func (s *InvoiceStatus) Code() int { return s.Status.Code }

// Final reports whether KSeF has finished with the invoice (success or failure).
func (s *InvoiceStatus) Final() bool { return s.Status.Code >= 200 }

// OriginalKsefNumber is the KSeF number of the invoice this one duplicates
// (status 440), or "".
func (s *InvoiceStatus) OriginalKsefNumber() string { return s.Status.Extensions["originalKsefNumber"] }

// OriginalSessionReferenceNumber is the session of the duplicated original (status 440), or "".
func (s *InvoiceStatus) OriginalSessionReferenceNumber() string {
	return s.Status.Extensions["originalSessionReferenceNumber"]
}

// Err returns nil for accepted, in-progress or successful invoices and a
// *StatusError for any failure code.
func (s *InvoiceStatus) Err() error {
	if s.Status.Code < 300 {
		return nil
	}
	return &StatusError{Op: "invoice", Code: s.Status.Code, Description: s.Status.Description,
		Details: s.Status.Details, Extensions: s.Status.Extensions}
}

// ParseInvoiceStatus decodes one SessionInvoiceStatusResponse.
func ParseInvoiceStatus(body []byte) (*InvoiceStatus, error) {
	var st InvoiceStatus
	if err := jsonUnmarshalStrict(body, &st); err != nil {
		return nil, fmt.Errorf("ksefapi: invoice status: %w", err)
	}
	if st.ReferenceNumber == "" || st.Status.Code == 0 {
		return nil, fmt.Errorf("ksefapi: invoice status: referenceNumber or status.code missing")
	}
	return &st, nil
}

// InvoiceStatus returns the state of one invoice of a session.
func (c *Client) InvoiceStatus(ctx context.Context, sessionRef, invoiceRef string) (*InvoiceStatus, error) {
	if sessionRef == "" || invoiceRef == "" {
		return nil, fmt.Errorf("%w: empty reference", ErrInvalidInput)
	}
	_, body, err := c.doRaw(ctx, call{op: "invoice status", method: http.MethodGet,
		path: "/sessions/" + url.PathEscape(sessionRef) + "/invoices/" + url.PathEscape(invoiceRef), auth: accessBearer})
	if err != nil {
		return nil, err
	}
	st, err := ParseInvoiceStatus(body)
	if err != nil {
		return nil, &APIError{Op: "invoice status", Status: http.StatusOK, Description: "malformed response body", Err: err}
	}
	return st, nil
}

// ListOptions select a page of a session's invoices.
type ListOptions struct {
	Failed            bool   // list only failed invoices (/invoices/failed)
	PageSize          int    // 10..1000; 0 means the server default
	ContinuationToken string // from the previous page
}

// InvoicePage is one page of SessionInvoicesResponse.
type InvoicePage struct {
	ContinuationToken string          `json:"continuationToken"`
	Invoices          []InvoiceStatus `json:"invoices"`
}

// ListInvoices returns one page of a session's invoices; pass the page's
// ContinuationToken back for the next one ("" means last page).
func (c *Client) ListInvoices(ctx context.Context, sessionRef string, opts ListOptions) (*InvoicePage, error) {
	if sessionRef == "" {
		return nil, fmt.Errorf("%w: empty session reference", ErrInvalidInput)
	}
	if opts.PageSize != 0 && (opts.PageSize < 10 || opts.PageSize > 1000) {
		return nil, fmt.Errorf("%w: page size %d outside 10..1000", ErrInvalidInput, opts.PageSize)
	}
	path := "/sessions/" + url.PathEscape(sessionRef) + "/invoices"
	if opts.Failed {
		path += "/failed"
	}
	var q url.Values
	if opts.PageSize != 0 {
		q = url.Values{"pageSize": {strconv.Itoa(opts.PageSize)}}
	}
	var h http.Header
	if opts.ContinuationToken != "" {
		h = http.Header{"X-Continuation-Token": {opts.ContinuationToken}}
	}
	var p InvoicePage
	if _, err := c.do(ctx, call{op: "list invoices", method: http.MethodGet, path: path, query: q, header: h, auth: accessBearer}, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// AllInvoices follows the continuation tokens and returns every invoice of the
// session (or every failed one).
func (c *Client) AllInvoices(ctx context.Context, sessionRef string, failed bool) ([]InvoiceStatus, error) {
	var all []InvoiceStatus
	opts := ListOptions{Failed: failed, PageSize: 1000}
	for range 10_000 { // a session holds at most 10 000 invoices; this bounds a misbehaving server
		p, err := c.ListInvoices(ctx, sessionRef, opts)
		if err != nil {
			return nil, err
		}
		all = append(all, p.Invoices...)
		if p.ContinuationToken == "" {
			return all, nil
		}
		opts.ContinuationToken = p.ContinuationToken
	}
	return nil, fmt.Errorf("ksefapi: list invoices: continuation never ended")
}
