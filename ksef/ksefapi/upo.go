package ksefapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// UPONamespace is the namespace of UPO v4-3.
const UPONamespace = "http://upo.schematy.mf.gov.pl/KSeF/v4-3"

// UPO is an official acknowledgement of receipt (Potwierdzenie, v4-3): one
// invoice, or one page of a session's invoices.
type UPO struct {
	ReceivingEntity        string        `xml:"NazwaPodmiotuPrzyjmujacego"` // not checked: TE says "… - środowisko testowe (TE)"
	SessionReferenceNumber string        `xml:"NumerReferencyjnySesji"`
	ContextNip             string        `xml:"Uwierzytelnienie>IdKontekstu>Nip"`
	ContextInternalID      string        `xml:"Uwierzytelnienie>IdKontekstu>IdWewnetrzny"`
	AuthDocumentHash       string        `xml:"Uwierzytelnienie>SkrotDokumentuUwierzytelniajacego"`
	Page                   int           `xml:"OpisPotwierdzenia>Strona"`
	PageCount              int           `xml:"OpisPotwierdzenia>LiczbaStron"`
	SchemaName             string        `xml:"NazwaStrukturyLogicznej"`
	FormCode               string        `xml:"KodFormularza"`
	Documents              []UPODocument `xml:"Dokument"`
}

// UPODocument is one acknowledged invoice.
type UPODocument struct {
	SellerNip     string `xml:"NipSprzedawcy"`
	KsefNumber    string `xml:"NumerKSeFDokumentu"`
	InvoiceNumber string `xml:"NumerFaktury"`
	IssueDate     string `xml:"DataWystawieniaFaktury"`  // YYYY-MM-DD
	SentAt        string `xml:"DataPrzeslaniaDokumentu"` // xsd:dateTime, kept as text
	KsefNumberAt  string `xml:"DataNadaniaNumeruKSeF"`
	InvoiceHash   string `xml:"SkrotDokumentu"` // standard Base64 SHA-256
	InvoicingMode string `xml:"TrybWysylki"`    // Online or Offline
}

// ParseUPO decodes a UPO v4-3 document. It checks the namespace and that every
// document entry has a KSeF number and a hash; it does not reject the TE
// variant of NazwaPodmiotuPrzyjmujacego.
func ParseUPO(b []byte) (*UPO, error) {
	dec := xml.NewDecoder(bytes.NewReader(b))
	var root struct {
		XMLName xml.Name
		UPO
	}
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("ksefapi: UPO: %w", err)
	}
	if root.XMLName.Space != UPONamespace || root.XMLName.Local != "Potwierdzenie" {
		return nil, fmt.Errorf("ksefapi: UPO: root {%s}%s, want {%s}Potwierdzenie", root.XMLName.Space, root.XMLName.Local, UPONamespace)
	}
	u := root.UPO
	if u.SessionReferenceNumber == "" {
		return nil, fmt.Errorf("ksefapi: UPO: NumerReferencyjnySesji missing")
	}
	if len(u.Documents) == 0 {
		return nil, fmt.Errorf("ksefapi: UPO: no Dokument")
	}
	for i, d := range u.Documents {
		if d.KsefNumber == "" || d.InvoiceHash == "" {
			return nil, fmt.Errorf("ksefapi: UPO: Dokument %d lacks NumerKSeFDokumentu or SkrotDokumentu", i+1)
		}
		if hb, err := base64.StdEncoding.DecodeString(d.InvoiceHash); err != nil || len(hb) != sha256.Size {
			return nil, fmt.Errorf("ksefapi: UPO: Dokument %d SkrotDokumentu is not a Base64 SHA-256", i+1)
		}
	}
	return &u, nil
}

// Document returns the UPO entry for a KSeF number.
func (u *UPO) Document(ksefNumber string) (UPODocument, bool) {
	for _, d := range u.Documents {
		if d.KsefNumber == ksefNumber {
			return d, true
		}
	}
	return UPODocument{}, false
}

// DownloadUPO fetches a UPO from a pre-signed URL (upoDownloadUrl or a session
// page's downloadUrl) without a bearer token, checks it against the
// x-ms-meta-hash header when present and parses it. It returns the raw bytes
// too, which are what the caller should store.
func (c *Client) DownloadUPO(ctx context.Context, downloadURL string) (*UPO, []byte, error) {
	u, err := url.Parse(downloadURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, nil, fmt.Errorf("%w: UPO URL is not an http(s) URL", ErrInvalidInput)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, nil, fmt.Errorf("ksefapi: download UPO: %w", err)
	}
	req.Header.Set("Accept", "application/xml")
	h, body, err := c.send(req, "download UPO", 0)
	if err != nil {
		return nil, nil, err
	}
	return checkUPO(h, body)
}

// InvoiceUPO fetches the UPO of one invoice through the API (with the bearer),
// for when the pre-signed upoDownloadUrl has expired.
func (c *Client) InvoiceUPO(ctx context.Context, sessionRef, invoiceRef string) (*UPO, []byte, error) {
	if sessionRef == "" || invoiceRef == "" {
		return nil, nil, fmt.Errorf("%w: empty reference", ErrInvalidInput)
	}
	h, body, err := c.doRaw(ctx, call{op: "invoice UPO", method: http.MethodGet, accept: "application/xml", auth: accessBearer,
		path: "/sessions/" + url.PathEscape(sessionRef) + "/invoices/" + url.PathEscape(invoiceRef) + "/upo"})
	if err != nil {
		return nil, nil, err
	}
	return checkUPO(h, body)
}

// checkUPO verifies body against x-ms-meta-hash (when the header is present)
// and parses it.
func checkUPO(h http.Header, body []byte) (*UPO, []byte, error) {
	if want := strings.TrimSpace(h.Get("x-ms-meta-hash")); want != "" {
		got := sha256.Sum256(body)
		wb, err := base64.StdEncoding.DecodeString(want)
		if err != nil || subtle.ConstantTimeCompare(wb, got[:]) != 1 {
			return nil, nil, fmt.Errorf("%w: header %q, body %s", ErrUPOHashMismatch, want, base64.StdEncoding.EncodeToString(got[:]))
		}
	}
	upo, err := ParseUPO(body)
	if err != nil {
		return nil, nil, err
	}
	return upo, body, nil
}
