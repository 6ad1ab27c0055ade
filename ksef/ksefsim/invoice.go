package ksefsim

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/posagent/posagent/ksef"
)

// NSFA3 is the FA(3) target namespace.
const NSFA3 = "http://crd.gov.pl/wzor/2025/06/25/13775/"

// InvoiceFacts are the fields of an FA(3) document the simulator needs.
type InvoiceFacts struct {
	SellerNIP string // Podmiot1/DaneIdentyfikacyjne/NIP
	Kind      string // Fa/RodzajFaktury
	Number    string // Fa/P_2
	IssueDate string // Fa/P_1, YYYY-MM-DD
}

var invoiceKinds = map[string]bool{"VAT": true, "KOR": true, "ZAL": true, "ROZ": true, "UPR": true, "KOR_ZAL": true, "KOR_ROZ": true}

// ParseInvoice applies the format checks KSeF makes before the schema: UTF-8
// without BOM, an XML declaration (if any) that says UTF-8, no other
// processing instructions or DOCTYPE, no discouraged characters, a
// well-formed document whose root is Faktura in the FA(3) namespace with
// KodFormularza FA / "FA (3)" / "1-0E", and the fields of InvoiceFacts.
// Errors wrap ErrInvoiceFormat.
func ParseInvoice(b []byte) (*InvoiceFacts, error) {
	bad := func(format string, args ...any) (*InvoiceFacts, error) {
		return nil, fmt.Errorf("%w: %s", ErrInvoiceFormat, fmt.Sprintf(format, args...))
	}
	if len(b) == 0 {
		return bad("empty file")
	}
	if bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}) {
		return bad("UTF-8 byte order mark is not allowed")
	}
	if !utf8.Valid(b) {
		return bad("file is not valid UTF-8")
	}
	for i, r := range string(b) {
		if (r >= 0x7F && r <= 0x84) || (r >= 0x86 && r <= 0x9F) || (r >= 0xFDD0 && r <= 0xFDEF) || r&0xFFFE == 0xFFFE {
			return bad("discouraged character U+%04X at byte %d", r, i)
		}
	}
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = true
	var (
		stack  []string
		facts  InvoiceFacts
		kod    string
		kodSys string
		kodVer string
		text   strings.Builder
		first  = true
		rooted bool
	)
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return bad("not well-formed XML: %v", err)
		}
		switch t := tok.(type) {
		case xml.ProcInst:
			if t.Target != "xml" || !first {
				return bad("processing instruction <?%s?> is not allowed", t.Target)
			}
			if enc := procInstAttr(string(t.Inst), "encoding"); enc != "" && !strings.EqualFold(enc, "utf-8") {
				return bad("declared encoding %q, want UTF-8", enc)
			}
		case xml.Directive:
			return bad("DOCTYPE and other directives are not allowed")
		case xml.StartElement:
			if len(stack) == 0 {
				if rooted {
					return bad("more than one root element")
				}
				rooted = true
				if t.Name.Local != "Faktura" || t.Name.Space != NSFA3 {
					return bad("root element {%s}%s, want {%s}Faktura", t.Name.Space, t.Name.Local, NSFA3)
				}
			}
			stack = append(stack, t.Name.Local)
			text.Reset()
			if path(stack) == "Faktura/Naglowek/KodFormularza" {
				for _, a := range t.Attr {
					switch a.Name.Local {
					case "kodSystemowy":
						kodSys = a.Value
					case "wersjaSchemy":
						kodVer = a.Value
					}
				}
			}
		case xml.CharData:
			if len(stack) == 0 {
				if len(bytes.TrimSpace(t)) > 0 {
					return bad("text outside the root element")
				}
				break
			}
			text.Write(t)
		case xml.EndElement:
			v := strings.TrimSpace(text.String())
			switch path(stack) {
			case "Faktura/Naglowek/KodFormularza":
				kod = v
			case "Faktura/Podmiot1/DaneIdentyfikacyjne/NIP":
				facts.SellerNIP = v
			case "Faktura/Fa/P_1":
				facts.IssueDate = v
			case "Faktura/Fa/P_2":
				facts.Number = v
			case "Faktura/Fa/RodzajFaktury":
				facts.Kind = v
			}
			text.Reset()
			stack = stack[:len(stack)-1]
		}
		first = false
	}
	switch {
	case !rooted:
		return bad("no root element")
	case kod != "FA" || kodSys != "FA (3)" || kodVer != "1-0E":
		return bad("KodFormularza %q kodSystemowy %q wersjaSchemy %q, want FA / FA (3) / 1-0E", kod, kodSys, kodVer)
	case !reTNIP.MatchString(facts.SellerNIP):
		return bad("Podmiot1 NIP %q does not match the schema pattern", facts.SellerNIP)
	case facts.Number == "" || len(facts.Number) > 256:
		return bad("P_2 (invoice number) is missing or longer than 256 characters")
	case !invoiceKinds[facts.Kind]:
		return bad("RodzajFaktury %q is not allowed", facts.Kind)
	}
	if _, err := time.Parse("2006-01-02", facts.IssueDate); err != nil {
		return bad("P_1 %q is not a date", facts.IssueDate)
	}
	return &facts, nil
}

// CheckInvoice applies the business rules the simulator checks after
// ParseInvoice: the seller (Podmiot1 NIP) is the session's context NIP, and
// the issue day P_1 is not later than the invoicing day, both in Warsaw time.
// Errors wrap ErrInvoiceSemantic.
func CheckInvoice(f *InvoiceFacts, contextNIP string, invoicingDate time.Time) error {
	if f.SellerNIP != contextNIP {
		return fmt.Errorf("%w: NIP sprzedawcy (Podmiot1) %s nie odpowiada kontekstowi %s", ErrInvoiceSemantic, f.SellerNIP, contextNIP)
	}
	issue, err := time.ParseInLocation("2006-01-02", f.IssueDate, warsaw)
	if err != nil {
		return fmt.Errorf("%w: P_1 %q nie jest datą", ErrInvoiceSemantic, f.IssueDate)
	}
	if day := civilDay(invoicingDate); issue.After(day) {
		return fmt.Errorf("%w: data wystawienia P_1 %s jest późniejsza niż data przyjęcia %s", ErrInvoiceSemantic, f.IssueDate, day.Format("2006-01-02"))
	}
	return nil
}

func path(stack []string) string { return strings.Join(stack, "/") }

// procInstAttr returns a pseudo-attribute of an XML declaration.
func procInstAttr(inst, name string) string {
	i := strings.Index(inst, name)
	if i < 0 {
		return ""
	}
	rest := strings.TrimLeft(inst[i+len(name):], " \t\r\n")
	rest, ok := strings.CutPrefix(rest, "=")
	if !ok {
		return ""
	}
	rest = strings.TrimLeft(rest, " \t\r\n")
	if rest == "" || (rest[0] != '"' && rest[0] != '\'') {
		return ""
	}
	q := rest[0]
	if j := strings.IndexByte(rest[1:], q); j >= 0 {
		return rest[1 : 1+j]
	}
	return ""
}

func b64sha(b []byte) string {
	h := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(h[:])
}

func dupKey(nip, kind, number string) string { return nip + "|" + kind + "|" + number }

// acceptInvoice checks and numbers one plaintext invoice of sess, received
// now with the given invoicingDate. Called with s.mu held.
func (s *Server) acceptInvoice(sess *session, plain []byte, name string, offline bool, correctsHash string, invoicingDate, now time.Time) *invoice {
	inv := s.newInvoice(sess, b64sha(plain), int64(len(plain)), name, invoicingDate, now)
	inv.CorrectsHash = correctsHash
	defer s.storeInvoice(sess, inv)
	// The limit is the agent's own (ksef.MaxInvoiceSize): what the agent
	// issues, the simulator takes.
	if len(plain) > ksef.MaxInvoiceSize {
		inv.setStatus(invFormat, fmt.Sprintf("Rozmiar faktury %d B przekracza limit %d B.", len(plain), ksef.MaxInvoiceSize))
		return inv
	}
	facts, err := ParseInvoice(plain)
	if err != nil {
		inv.setStatus(invFormat, err.Error())
		return inv
	}
	inv.SellerNIP, inv.Kind, inv.Number, inv.IssueDate = facts.SellerNIP, facts.Kind, facts.Number, facts.IssueDate
	if err := CheckInvoice(facts, sess.NIP, invoicingDate); err != nil {
		inv.setStatus(invSemantic, err.Error())
		return inv
	}
	issue, _ := time.ParseInLocation("2006-01-02", facts.IssueDate, warsaw)
	invDay := civilDay(invoicingDate)
	key := dupKey(facts.SellerNIP, facts.Kind, facts.Number)
	s.st.DupCount[key]++
	if origRef, ok := s.st.DupIndex[key]; ok {
		orig := s.st.Invoices[origRef]
		inv.setStatus(invDuplicate, fmt.Sprintf("Duplikat faktury. Faktura o numerze KSeF: %s została już prawidłowo przesłana do systemu w sesji: %s", orig.KSeF, orig.SessionRef))
		inv.Desc = "Duplikat faktury"
		inv.Ext = map[string]string{"originalSessionReferenceNumber": orig.SessionRef, "originalKsefNumber": orig.KSeF}
		return inv
	}
	s.st.DupIndex[key] = inv.Ref
	inv.Acquired = now
	inv.KSeF = s.nextKSeFNumber(facts.SellerNIP, now)
	inv.Offline = offline || issue.Before(invDay)
	inv.Declared = offline
	inv.setStatus(invOK, "")
	if correctsHash != "" {
		for _, ref := range s.st.ByHash[correctsHash] {
			if o := s.st.Invoices[ref]; o != nil && o.Code != invOK {
				o.CorrectedBy = inv.Ref
			}
		}
	}
	return inv
}

func (s *Server) newInvoice(sess *session, hash string, size int64, name string, invoicingDate, now time.Time) *invoice {
	return &invoice{
		Ref: newRef(now, "EE"), SessionRef: sess.Ref, Ordinal: len(sess.Invoices) + 1,
		Hash: hash, Size: size, FileName: name, InvoicingDate: invoicingDate,
		ReadyAt: now.Add(s.opts.ProcessingDelay),
	}
}

func (s *Server) storeInvoice(sess *session, inv *invoice) {
	s.st.Invoices[inv.Ref] = inv
	s.st.ByHash[inv.Hash] = append(s.st.ByHash[inv.Hash], inv.Ref)
	sess.Invoices = append(sess.Invoices, inv.Ref)
}

var invoiceDescriptions = map[int]string{
	invAccepted:   "Przyjęto fakturę do dalszego przetwarzania",
	invProcessing: "Trwa przetwarzanie",
	invOK:         "Sukces",
	invFormat:     "Błąd weryfikacji pliku faktury",
	invDecrypt:    "Błąd odszyfrowania pliku",
	invDuplicate:  "Duplikat faktury",
	invSemantic:   "Błąd weryfikacji semantyki dokumentu faktury",
}

func (inv *invoice) setStatus(code int, detail string) {
	inv.Code, inv.Desc = code, invoiceDescriptions[code]
	if detail != "" {
		inv.Details = []string{detail}
	}
}

// civilDay returns midnight of t's calendar day in Warsaw.
func civilDay(t time.Time) time.Time {
	y, m, d := t.In(warsaw).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, warsaw)
}

// nextKSeFNumber returns a fresh KSeF number for nip, acquired at now.
func (s *Server) nextKSeFNumber(nip string, now time.Time) string {
	s.st.Seq++
	var u [6]byte
	u[0] = 0x01
	u[1], u[2] = s.st.Epoch[0], s.st.Epoch[1]
	u[3], u[4], u[5] = byte(s.st.Seq>>16), byte(s.st.Seq>>8), byte(s.st.Seq)
	return ksef.NewKSeFNumber(nip, now, u)
}

// StoredInvoice is one invoice the simulator accepted (status 200).
type StoredInvoice struct {
	KSeFNumber       string
	ReferenceNumber  string
	SessionReference string
	SellerNIP        string
	InvoiceType      string // RodzajFaktury
	InvoiceNumber    string // P_2
	IssueDate        string // P_1
	Hash             string // Base64 SHA-256 of the XML
	Offline          bool   // KSeF's classification (invoicingMode Offline)
	DeclaredOffline  bool   // the offlineMode flag the client sent
	Acquired         time.Time
	// Receipts counts how many times the duplicate key (seller NIP,
	// RodzajFaktury, P_2) reached the simulator, this invoice included;
	// more than 1 means duplicates were sent and rejected with 440.
	Receipts int
}

// Invoices returns every accepted invoice, in acceptance order.
func (s *Server) Invoices() []StoredInvoice {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []StoredInvoice
	for _, inv := range s.st.Invoices {
		if inv.Code != invOK {
			continue
		}
		out = append(out, StoredInvoice{
			KSeFNumber: inv.KSeF, ReferenceNumber: inv.Ref, SessionReference: inv.SessionRef,
			SellerNIP: inv.SellerNIP, InvoiceType: inv.Kind, InvoiceNumber: inv.Number, IssueDate: inv.IssueDate,
			Hash: inv.Hash, Offline: inv.Offline, DeclaredOffline: inv.Declared, Acquired: inv.Acquired,
			Receipts: s.st.DupCount[dupKey(inv.SellerNIP, inv.Kind, inv.Number)],
		})
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Acquired.Equal(out[j].Acquired) {
			return out[i].Acquired.Before(out[j].Acquired)
		}
		return out[i].KSeFNumber < out[j].KSeFNumber
	})
	return out
}
