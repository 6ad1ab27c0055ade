// Package tilltest provides an in-memory till.Core for tests of the till API
// and of programs that talk to it.
package tilltest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/till"
)

// Core is an in-memory till.Core. It keeps issued invoices and idempotency
// keys like the real agent (a replay of the same decoded request returns the
// stored invoice; a reused key with another request is till.ErrKeyConflict)
// and counts every call, so tests can prove that rejected input stored
// nothing. Err, when set, is returned by every method instead of doing the
// work.
type Core struct {
	// Now is the clock for issue dates and deadlines (default: a fixed time).
	Now func() time.Time
	// Err, when set, is returned by every call.
	Err error

	mu       sync.Mutex // guards the fields below
	invoices []till.View
	keys     map[string]keyRecord
	override string
	status   till.Status
	calls    map[string]int
	pending  int                 // pending corrections handed out
	journal  []till.Announcement // Announce's records
}

type keyRecord struct {
	body    []byte
	id      string
	pending *till.PendingCorrection // a correction kept pending, not an invoice
}

var _ till.Core = (*Core)(nil)

// FixedNow is the default clock of a Core: a Saturday in November 2026, 12:00 Warsaw.
var FixedNow = time.Date(2026, 11, 21, 11, 0, 0, 0, time.UTC)

// New returns an empty Core whose Status reports a healthy agent.
func New() *Core {
	c := &Core{keys: map[string]keyRecord{}, calls: map[string]int{}}
	c.status = till.Status{
		Link:    till.Link{State: "up"},
		KSeF:    till.KSeFState{State: "available", Environment: "test"},
		Mode:    till.ModeState{Current: "offline24", Policy: "offline-first"},
		Printer: till.Printer{State: "ok"},
	}
	return c
}

func (c *Core) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return FixedNow
}

// enter counts a call and returns the injected error.
func (c *Core) enter(name string) error {
	c.calls[name]++
	return c.Err
}

// Calls returns how many times the named method was called.
func (c *Core) Calls(method string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[method]
}

// Stored returns how many invoices were stored.
func (c *Core) Stored() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.invoices)
}

// SetStatus replaces what Status reports (the mode override stays the Core's own).
func (c *Core) SetStatus(st till.Status) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.status = st
}

// Override returns the current mode override ("" when automatic).
func (c *Core) Override() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.override
}

// SetState sets the print or upload state of a stored invoice, as the workers would.
func (c *Core) SetState(id, print, upload, ksefNumber string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := c.find(id)
	if i < 0 {
		return till.ErrNotFound
	}
	v := &c.invoices[i]
	if print != "" {
		v.Print = print
	}
	if upload != "" {
		v.Upload = upload
	}
	if ksefNumber != "" {
		v.KSeFNumber = ksefNumber
	}
	return nil
}

// enterAt counts a call of the named method on invoice id and returns the
// invoice's index; called with c.mu held.
func (c *Core) enterAt(name, id string) (int, error) {
	if err := c.enter(name); err != nil {
		return -1, err
	}
	i := c.find(id)
	if i < 0 {
		return -1, till.ErrNotFound
	}
	return i, nil
}

func (c *Core) find(id string) int {
	return slices.IndexFunc(c.invoices, func(v till.View) bool { return v.ID == id })
}

// idempotent returns the stored result of a key, a conflict, or ok=false.
func (c *Core) idempotent(key string, body []byte) (*till.Issued, bool, error) {
	rec, ok := c.keys[key]
	if !ok {
		return nil, false, nil
	}
	if !bytes.Equal(rec.body, body) {
		return nil, true, till.ErrKeyConflict
	}
	if rec.pending != nil {
		p := *rec.pending
		return &till.Issued{Pending: &p, Replayed: true}, true, nil
	}
	return &till.Issued{View: c.invoices[c.find(rec.id)], Replayed: true}, true, nil
}

func (c *Core) store(key string, body []byte, v till.View) *till.Issued {
	n := len(c.invoices) + 1
	v.ID = fmt.Sprintf("%08d", n)
	v.Number = fmt.Sprintf("FV/T1/2026/%06d", n)
	c.invoices = append(c.invoices, v)
	c.keys[key] = keyRecord{body: bytes.Clone(body), id: v.ID}
	return &till.Issued{View: v}
}

func (c *Core) newView(kind, currency string, issue ksef.Date, gross, vat ksef.Amount) till.View {
	mode := c.override
	if mode == "" || mode == "auto" {
		mode = "offline24"
	}
	deadline := c.now().Add(36 * time.Hour).UTC()
	return till.View{
		Kind: kind, IssueDate: issue, Currency: currency, Gross: gross, VAT: vat,
		Mode: mode, Kod1: "https://qr-test.ksef.mf.gov.pl/invoice/5265877635/21-11-2026/AAAA", Kod1Label: "OFFLINE",
		Kod2:  "https://qr-test.ksef.mf.gov.pl/certificate/Nip/5265877635/5265877635/0123456789ABCDEF/AAAA/BBBB",
		Print: "pending", Upload: "queued", Deadline: &deadline,
	}
}

// Issue stores the sale (or replays its key).
func (c *Core) Issue(ctx context.Context, req till.IssueRequest) (*till.Issued, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.enter("Issue"); err != nil {
		return nil, err
	}
	// Keys are bound to the decoded sale, as the agent binds them.
	canon := req.Sale.Canonical()
	if res, ok, err := c.idempotent(req.Key, canon); ok || err != nil {
		return res, err
	}
	// The agent's date rules: P_1 is today, P_6 within the Act's range.
	today := ksef.DateOf(c.now())
	if err := req.Sale.CheckDates(today); err != nil {
		return nil, err
	}
	if req.Sale.IssueDate.IsZero() {
		req.Sale.IssueDate = today
	}
	if err := req.Sale.Validate(); err != nil {
		return nil, err
	}
	t, err := req.Sale.Totals()
	if err != nil {
		return nil, err
	}
	cur := req.Sale.Currency
	if cur == "" {
		cur = "PLN"
	}
	kind := req.Sale.Kind
	if kind == "" {
		kind = ksef.KindVAT
	}
	return c.store(req.Key, canon, c.newView(kind, cur, req.Sale.IssueDate, t.Gross, t.VAT)), nil
}

// Invoice returns a stored invoice.
func (c *Core) Invoice(ctx context.Context, id string) (*till.View, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, err := c.enterAt("Invoice", id)
	if err != nil {
		return nil, err
	}
	v := c.invoices[i]
	return &v, nil
}

// Invoices lists stored invoices in id order.
func (c *Core) Invoices(ctx context.Context, f till.Filter) ([]till.View, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.enter("Invoices"); err != nil {
		return nil, err
	}
	var out []till.View
	for _, v := range c.invoices {
		if f.After != "" && v.ID <= f.After {
			continue
		}
		if f.State != "" && f.State != v.Upload && f.State != printState(v.Print) {
			continue
		}
		if f.Limit > 0 && len(out) == f.Limit {
			break
		}
		out = append(out, v)
	}
	return out, nil
}

func printState(p string) string {
	switch p {
	case "pending":
		return "print_pending"
	case "failed":
		return "print_failed"
	case "uncertain":
		return "print_uncertain"
	}
	return p
}

// Reprint queues a duplicate print of a stored invoice.
func (c *Core) Reprint(ctx context.Context, id string) (*till.View, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, err := c.enterAt("Reprint", id)
	if err != nil {
		return nil, err
	}
	c.invoices[i].Print = "pending"
	v := c.invoices[i]
	return &v, nil
}

// Correct stores a KOR of a stored VAT invoice.
func (c *Core) Correct(ctx context.Context, id string, req till.CorrectionRequest) (*till.Issued, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, err := c.enterAt("Correct", id)
	if err != nil {
		return nil, err
	}
	canon, err := json.Marshal(struct {
		ID     string
		Reason string
		Type   int
		Lines  []ksef.Line
	}{id, req.Reason, req.Type, req.Lines})
	if err != nil {
		return nil, err
	}
	if res, ok, err := c.idempotent(req.Key, canon); ok || err != nil {
		return res, err
	}
	orig := c.invoices[i]
	if orig.Kind == ksef.KindKOR {
		return nil, till.ErrNotCorrectable
	}
	var after ksef.Totals
	if len(req.Lines) > 0 {
		s := ksef.Sale{Buyer: ksef.Buyer{Kind: ksef.BuyerConsumer}, Lines: req.Lines, IssueDate: ksef.DateOf(c.now())}
		if err := s.Validate(); err != nil {
			return nil, err
		}
		t, err := s.Totals()
		if err != nil {
			return nil, err
		}
		after = t
	}
	if orig.Upload != "accepted" && orig.Upload != "outside" {
		// As the agent: kept until the original has its KSeF number.
		c.pending++
		p := &till.PendingCorrection{State: till.StatePending, ID: fmt.Sprintf("%010d", c.pending), Corrects: orig.ID,
			OriginalNumber: orig.Number, RequestedAt: c.now(), SlipPrint: "pending"}
		c.keys[req.Key] = keyRecord{body: bytes.Clone(canon), pending: p}
		c.invoices[i].PendingCorrections = append(c.invoices[i].PendingCorrections, p.ID)
		return &till.Issued{Pending: p}, nil
	}
	v := c.newView(ksef.KindKOR, orig.Currency, ksef.DateOf(c.now()), after.Gross-orig.Gross, after.VAT-orig.VAT)
	v.Corrects = orig.ID
	v.Print = "none"
	return c.store(req.Key, canon, v), nil
}

// InvoiceXML returns a small stand-in XML naming the invoice's number.
func (c *Core) InvoiceXML(ctx context.Context, id string) (*till.Document, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, err := c.enterAt("InvoiceXML", id)
	if err != nil {
		return nil, err
	}
	v := c.invoices[i]
	return &till.Document{ID: v.ID, Number: v.Number, Data: []byte(`<?xml version="1.0" encoding="UTF-8"?><Faktura><P_2>` + v.Number + `</P_2></Faktura>`)}, nil
}

// InvoiceUPO returns a stand-in UPO once the invoice is accepted (SetState),
// else till.ErrNoUPO.
func (c *Core) InvoiceUPO(ctx context.Context, id string) (*till.Document, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, err := c.enterAt("InvoiceUPO", id)
	if err != nil {
		return nil, err
	}
	v := c.invoices[i]
	if v.Upload != "accepted" {
		return nil, till.ErrNoUPO
	}
	return &till.Document{ID: v.ID, Number: v.Number, Data: []byte(`<?xml version="1.0" encoding="UTF-8"?><Potwierdzenie><NumerKSeFDokumentu>` + v.KSeFNumber + `</NumerKSeFDokumentu></Potwierdzenie>`)}, nil
}

// Status returns the configured status with the Core's mode override and backlog.
func (c *Core) Status(ctx context.Context) (*till.Status, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.enter("Status"); err != nil {
		return nil, err
	}
	st := c.status
	if st.Now.IsZero() {
		st.Now = c.now()
	}
	if c.override != "" {
		st.Mode.Override = c.override
		st.Mode.Current = c.override
	}
	return &st, nil
}

// Announce records an announcement and sets the override to its mode.
func (c *Core) Announce(ctx context.Context, mode, reference string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.enter("Announce"); err != nil {
		return err
	}
	if !slices.Contains(till.AnnouncedModes, mode) {
		return till.ErrInvalidMode
	}
	now := c.now()
	c.journal = append(c.journal, till.Announcement{ID: fmt.Sprintf("%010d", len(c.journal)+1), Mode: mode,
		Start: ksef.DateOf(now).String(), Source: "operator", Reference: reference, RecordedAt: now, Probes: []till.Probe{}})
	c.override = mode
	return nil
}

// Journal returns the announcements recorded with Announce.
func (c *Core) Journal(ctx context.Context) ([]till.Announcement, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.enter("Journal"); err != nil {
		return nil, err
	}
	return slices.Clone(c.journal), nil
}

// SetMode sets ("auto": clears) the operator's mode override.
func (c *Core) SetMode(ctx context.Context, override string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.enter("SetMode"); err != nil {
		return err
	}
	if !slices.Contains(till.Modes, override) {
		return till.ErrInvalidMode
	}
	if override == "auto" {
		override = ""
	}
	c.override = override
	return nil
}
