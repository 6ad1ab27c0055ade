package agent_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/agent/agenttest"
	"github.com/posagent/posagent/certstore"
	"github.com/posagent/posagent/certstore/certstoretest"
	"github.com/posagent/posagent/internal/metrics"
	"github.com/posagent/posagent/internal/testutil"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/ksef/ksefapi"
	"github.com/posagent/posagent/ksef/ksefapi/ksefapitest"
	"github.com/posagent/posagent/outbox"
)

// fakePrinter accepts jobs and prints nothing.
type fakePrinter = agenttest.Printer

// unit is an agent over a real outbox, the ksefapitest fake and a fake printer.
type unit struct {
	agent *agent.Agent
	store *outbox.Store
	api   *ksefapitest.Client
	prn   *fakePrinter
	clock *agenttest.Clock
	cert  *certstore.Cert
}

// friday is 2026-11-20 12:00 in Warsaw: offline24 deadlines fall on Monday.
var friday = time.Date(2026, 11, 20, 12, 0, 0, 0, ksef.Warsaw)

func newUnit(t testing.TB, mod func(*agent.Options)) *unit {
	t.Helper()
	u := &unit{api: &ksefapitest.Client{}, prn: &fakePrinter{}, clock: agenttest.NewClock(friday),
		cert: certstoretest.Cert(t, certstore.Offline, certstore.KeyRSA)}
	st, err := outbox.Open(filepath.Join(t.TempDir(), "o.db"), &outbox.Options{Now: u.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Check(context.Background()); err != nil {
			t.Errorf("store check: %v", err)
		}
		st.Close()
	})
	u.store = st
	opts := agent.Options{Seller: seller, Series: series, Environment: ksef.EnvTest, Now: u.clock.Now,
		Logger: agenttest.Logger(t), UploadInterval: 10 * time.Millisecond, PollInterval: 10 * time.Millisecond,
		PrintInterval: 20 * time.Millisecond, RetryMin: 10 * time.Millisecond, RetryMax: 20 * time.Millisecond}
	if mod != nil {
		mod(&opts)
	}
	u.agent, err = agent.New(opts, agent.Deps{Store: st, KSeF: u.api, Printer: u.prn, Signer: u.cert})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (u *unit) run(t testing.TB) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = u.agent.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// TestIssueRejectsBadInput: every bad request gets a specific typed error
// and nothing is stored.
func TestIssueRejectsBadInput(t *testing.T) {
	u := newUnit(t, nil)
	ctx := context.Background()
	future := ksef.DateOf(friday).AddDays(1)
	tests := []struct {
		name      string
		key       string
		mod       func(*ksef.Sale)
		wantField string // a *ksef.ValidationError field, or the *RequestError field
	}{
		{"no key", "", nil, "key"},
		{"long key", strings.Repeat("k", 201), nil, "key"},
		{"bad NIP", "k", func(s *ksef.Sale) { s.Buyer = ksef.Buyer{Kind: ksef.BuyerNIP, NIP: "1234567890"} }, "buyer.nip"},
		{"zero quantity", "k", func(s *ksef.Sale) { s.Lines[0].Quantity = 0 }, "lines[0].quantity"},
		{"negative quantity", "k", func(s *ksef.Sale) { s.Lines[0].Quantity = -1 }, "lines[0].quantity"},
		{"unknown rate", "k", func(s *ksef.Sale) { s.Lines[1].VATRate = "24" }, "lines[1].vat_rate"},
		{"no lines", "k", func(s *ksef.Sale) { s.Lines = nil }, "lines"},
		{"number given", "k", func(s *ksef.Sale) { s.Number = "X/1" }, "number"},
		{"future date", "k", func(s *ksef.Sale) { s.IssueDate = future }, "issue_date"},
		{"correction kind", "k", func(s *ksef.Sale) { s.Kind = ksef.KindKOR }, "kind"},
		{"empty name", "k", func(s *ksef.Sale) { s.Lines[0].Name = "" }, "lines[0].name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := consumerSale()
			if tt.mod != nil {
				tt.mod(&s)
			}
			_, err := u.agent.Issue(ctx, agent.IssueRequest{Key: tt.key, Sale: s})
			if !errors.Is(err, agent.ErrInvalidRequest) {
				t.Fatalf("Issue = %v, want ErrInvalidRequest", err)
			}
			var re *agent.RequestError
			var ve *ksef.ValidationError
			switch {
			case errors.As(err, &re):
				if re.Field != tt.wantField {
					t.Errorf("RequestError.Field = %q, want %q", re.Field, tt.wantField)
				}
			case errors.As(err, &ve):
				var all ksef.ValidationErrors
				errors.As(err, &all)
				found := false
				for _, v := range all {
					found = found || v.Field == tt.wantField
				}
				if !found {
					t.Errorf("validation errors %v lack field %q", err, tt.wantField)
				}
			default:
				t.Errorf("Issue = %v, want a RequestError or ValidationError", err)
			}
		})
	}
	list, err := u.store.List(ctx, outbox.Filter{})
	if err != nil || len(list) != 0 {
		t.Errorf("store holds %d invoices after bad input (%v), want 0", len(list), err)
	}
}

// TestIdempotency: a replay of the same sale returns the same invoice,
// whatever its raw body; another sale under the same key is a conflict.
func TestIdempotency(t *testing.T) {
	u := newUnit(t, nil)
	ctx := context.Background()
	body := []byte(`{"lines":"…"}`)
	a, err := u.agent.Issue(ctx, agent.IssueRequest{Key: "same", Body: body, Sale: consumerSale()})
	if err != nil {
		t.Fatal(err)
	}
	// The same sale re-serialized: another raw body, the same decoded sale.
	for _, replay := range [][]byte{body, []byte(`{ "lines" : "…" }`), nil} {
		b, err := u.agent.Issue(ctx, agent.IssueRequest{Key: "same", Body: replay, Sale: consumerSale()})
		if err != nil {
			t.Fatal(err)
		}
		if !b.Replayed || b.ID != a.ID || b.Number != a.Number || a.Replayed {
			t.Errorf("replay with body %q = %+v, want the same invoice replayed", replay, b)
		}
	}
	other := consumerSale()
	other.Lines[0].Quantity = ksef.MustParseQuantity("3")
	_, err = u.agent.Issue(ctx, agent.IssueRequest{Key: "same", Body: body, Sale: other})
	if !errors.Is(err, agent.ErrIdempotencyConflict) {
		t.Errorf("other sale = %v, want ErrIdempotencyConflict", err)
	}
	if n := len(u.prn.Jobs()); n != 1 {
		t.Errorf("%d print jobs, want 1", n)
	}
}

// acceptInStore records invoice id as accepted by KSeF, as the scheduler
// would, with a KSeF number of the seller.
func acceptInStore(t *testing.T, st *outbox.Store, id string) {
	t.Helper()
	ctx := context.Background()
	if err := st.MarkSending(ctx, id, "S"); err != nil {
		t.Fatal(err)
	}
	if err := st.MarkAccepted(ctx, id, outbox.Acceptance{KSeFNumber: ksef.NewKSeFNumber(sellerNIP, friday, [6]byte{0xAC, 1})}); err != nil {
		t.Fatal(err)
	}
}

// TestStateErrors covers the sentinels of the other calls.
func TestStateErrors(t *testing.T) {
	u := newUnit(t, nil)
	ctx := context.Background()
	v, err := u.agent.Issue(ctx, agent.IssueRequest{Key: "a", Sale: consumerSale()})
	if err != nil {
		t.Fatal(err)
	}
	acceptInStore(t, u.store, v.ID) // a KOR is issued once its original has its KSeF number
	kor, err := u.agent.Correct(ctx, v.ID, agent.CorrectionRequest{Key: "c", Lines: []ksef.Line{line("Kawa czarna", "-1", "12.30", "23")}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"invoice not found", func() error { _, err := u.agent.Invoice(ctx, "0000009999"); return err }(), agent.ErrNotFound},
		{"invalid id", func() error { _, err := u.agent.Invoice(ctx, "../x"); return err }(), agent.ErrNotFound},
		{"reprint not found", func() error { _, err := u.agent.Reprint(ctx, "0000009999"); return err }(), agent.ErrNotFound},
		{"correct a KOR", func() error {
			_, err := u.agent.Correct(ctx, kor.ID, agent.CorrectionRequest{Key: "d", Lines: []ksef.Line{line("x", "1", "1.00", "23")}})
			return err
		}(), agent.ErrIllegalState},
		{"correction without lines", func() error { _, err := u.agent.Correct(ctx, v.ID, agent.CorrectionRequest{Key: "e"}); return err }(), agent.ErrInvalidRequest},
		{"correction bad type", func() error {
			_, err := u.agent.Correct(ctx, v.ID, agent.CorrectionRequest{Key: "f", Type: 7, Lines: []ksef.Line{line("x", "1", "1.00", "23")}})
			return err
		}(), agent.ErrInvalidRequest},
		{"technical correction of a queued invoice", func() error { _, err := u.agent.TechnicalCorrection(ctx, kor.ID, consumerSale()); return err }(), agent.ErrIllegalState},
		{"unknown list state", func() error { _, err := u.agent.Invoices(ctx, agent.Filter{State: "lost"}); return err }(), agent.ErrInvalidRequest},
		{"mode", u.agent.SetMode(ctx, "maybe"), agent.ErrInvalidMode},
		{"flush without run", func() error {
			c, cancel := context.WithTimeout(ctx, 3*time.Second)
			defer cancel()
			return u.agent.Flush(c)
		}(), agent.ErrNotRunning},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, tt.err, tt.want)
		}
	}
	got, err := u.agent.Invoices(ctx, agent.Filter{State: "queued"})
	if err != nil || len(got) != 1 || got[0].ID != kor.ID {
		t.Errorf("Invoices(queued) = %v, %v; want the correction", got, err)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	u := newUnit(t, nil)
	good := agent.Options{Seller: seller, Series: series, Environment: ksef.EnvTest}
	deps := agent.Deps{Store: u.store, KSeF: u.api, Printer: u.prn, Signer: u.cert}
	tests := []struct {
		name  string
		mod   func(*agent.Options, *agent.Deps)
		field string
	}{
		{"no store", func(o *agent.Options, d *agent.Deps) { d.Store = nil }, "Deps.Store"},
		{"no signer", func(o *agent.Options, d *agent.Deps) { d.Signer = nil }, "Deps.Signer"},
		{"bad NIP", func(o *agent.Options, d *agent.Deps) { o.Seller.NIP = "1" }, "Seller.NIP"},
		{"bad series", func(o *agent.Options, d *agent.Deps) { o.Series.Format = "X" }, "Series"},
		{"no environment", func(o *agent.Options, d *agent.Deps) { o.Environment = 0 }, "Environment"},
		{"policy", func(o *agent.Options, d *agent.Deps) { o.Policy = "sometimes" }, "Policy"},
		{"paper", func(o *agent.Options, d *agent.Deps) { o.Paper = 70 }, "Paper"},
	}
	for _, tt := range tests {
		o, d := good, deps
		tt.mod(&o, &d)
		_, err := agent.New(o, d)
		var oe *agent.OptionError
		if !errors.As(err, &oe) || oe.Field != tt.field || !errors.Is(err, agent.ErrInvalidOptions) {
			t.Errorf("%s: New = %v, want OptionError on %s", tt.name, err, tt.field)
		}
	}
	if _, err := agent.New(good, deps); err != nil {
		t.Errorf("New(good) = %v", err)
	}
}

// TestXMLValidates: the stored XML of every kind of invoice the agent makes
// is valid FA(3).
func TestXMLValidates(t *testing.T) {
	testutil.RequireTool(t, "xmllint")
	u := newUnit(t, nil)
	ctx := context.Background()
	var ids []string
	for i, s := range []ksef.Sale{consumerSale(), b2bSale(), euSale(), uprSale()} {
		v, err := u.agent.Issue(ctx, agent.IssueRequest{Key: fmt.Sprint("x", i), Sale: s})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, v.ID)
	}
	acceptInStore(t, u.store, ids[0]) // corrections name its KSeF number
	for i, req := range []agent.CorrectionRequest{
		{Key: "k1", Reason: "zwrot", Type: 2, Lines: []ksef.Line{line("Drożdżówka", "-1", "4.99", "5")}},
		{Key: "k2", Reason: "rabat", AfterRows: true, Lines: []ksef.Line{line("Kawa czarna", "2", "11.00", "23")}},
		{Key: "k3", Reason: "anulowanie", AfterRows: true},
	} {
		v, err := u.agent.Correct(ctx, ids[0], req)
		if err != nil {
			t.Fatalf("correction %d: %v", i, err)
		}
		ids = append(ids, v.ID)
	}
	xsd := testutil.Official("ksef/schema/schemat_FA(3)_v1-0E.xsd")
	dir := t.TempDir()
	for _, id := range ids {
		inv, err := u.store.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, id+".xml")
		if err := os.WriteFile(p, inv.XML, 0o600); err != nil {
			t.Fatal(err)
		}
		testutil.XMLLintSchema(t, xsd, p)
		k, err := ksef.ParseKOD1(inv.KOD1)
		if err != nil || k.Hash != ksef.InvoiceHash(inv.XML) {
			t.Errorf("%s: KOD I does not bind the stored bytes (%v)", inv.Number, err)
		}
		if err := ksef.VerifyKOD2(inv.KOD2, u.cert.Certificate()); err != nil {
			t.Errorf("%s: KOD II: %v", inv.Number, err)
		}
	}
}

// TestRateLimited: a 429 with Retry-After is persisted on the record as its
// not-before and honoured across rounds; the upload then succeeds.
func TestRateLimited(t *testing.T) {
	u := newUnit(t, nil)
	ctx := context.Background()
	var mu sync.Mutex
	var sends []time.Time
	u.api.AuthenticateFunc = func(context.Context) (*ksefapi.Tokens, error) { return &ksefapi.Tokens{}, nil }
	u.api.OpenOnlineFunc = func(context.Context) (*ksefapi.OnlineSession, error) {
		return &ksefapi.OnlineSession{Reference: "S1"}, nil
	}
	u.api.CloseOnlineFunc = func(context.Context, *ksefapi.OnlineSession) error { return nil }
	u.api.SendInvoiceFunc = func(_ context.Context, _ *ksefapi.OnlineSession, xml []byte, o ksefapi.SendOptions) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		sends = append(sends, u.clock.Now())
		if !o.OfflineMode {
			t.Error("offline24 invoice sent without offlineMode")
		}
		if len(sends) == 1 {
			return "", &ksefapi.APIError{Op: "send invoice", Status: 429, RetryAfter: 45 * time.Second}
		}
		return "I1", nil
	}
	knum := ksef.NewKSeFNumber(sellerNIP, friday, [6]byte{1, 2, 3, 4, 5, 6})
	acq := friday
	u.api.InvoiceStatusFunc = func(_ context.Context, s, i string) (*ksefapi.InvoiceStatus, error) {
		return &ksefapi.InvoiceStatus{KsefNumber: knum, AcquisitionDate: &acq, ReferenceNumber: i,
			Status: ksefapi.StatusInfo{Code: ksefapi.InvoiceSuccess}}, nil
	}
	v, err := u.agent.Issue(ctx, agent.IssueRequest{Key: "r", Sale: consumerSale()})
	if err != nil {
		t.Fatal(err)
	}
	u.run(t)
	waitFor(t, "the 429", 5*time.Second, func() bool {
		inv, _ := u.store.Get(ctx, v.ID)
		return inv.Upload == outbox.UploadQueued && !inv.NotBefore.IsZero()
	})
	inv, _ := u.store.Get(ctx, v.ID)
	if want := friday.Add(45 * time.Second); !inv.NotBefore.Equal(want) {
		t.Errorf("NotBefore = %v, want %v (Retry-After persisted)", inv.NotBefore, want)
	}
	time.Sleep(200 * time.Millisecond) // many rounds; the clock stands still
	mu.Lock()
	n := len(sends)
	mu.Unlock()
	if n != 1 {
		t.Fatalf("%d sends before Retry-After passed, want 1", n)
	}
	u.clock.Add(46 * time.Second)
	waitFor(t, "acceptance", 5*time.Second, func() bool {
		inv, _ := u.store.Get(ctx, v.ID)
		return inv.Upload == outbox.UploadAccepted
	})
	inv, _ = u.store.Get(ctx, v.ID)
	if inv.KSeFNumber != knum || inv.Attempts != 2 {
		t.Errorf("accepted %q after %d attempts, want %q after 2", inv.KSeFNumber, inv.Attempts, knum)
	}
	st, err := u.agent.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Errors) == 0 || st.Errors[0].Code != "429" {
		t.Errorf("Status errors %+v, want the 429", st.Errors)
	}
}

// TestDeadlinesAndMetrics: the monitor reports what is due and overdue with
// the penalty exposure, and the metrics follow.
func TestDeadlinesAndMetrics(t *testing.T) {
	reg := metrics.NewRegistry()
	u := newUnit(t, func(o *agent.Options) { o.Metrics = reg })
	ctx := context.Background()
	u.api.AuthenticateFunc = func(context.Context) (*ksefapi.Tokens, error) {
		return nil, &ksefapi.APIError{Op: "auth", Status: 503}
	}
	v, err := u.agent.Issue(ctx, agent.IssueRequest{Key: "d", Sale: consumerSale()})
	if err != nil {
		t.Fatal(err)
	}
	if v.Deadline != "2026-11-23" {
		t.Errorf("offline24 deadline on Friday = %s, want Monday 2026-11-23", v.Deadline)
	}
	u.run(t)
	st, err := u.agent.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.DueToday != 0 || len(st.Overdue) != 0 || st.Backlog != 1 {
		t.Errorf("Friday: due today %d overdue %d backlog %d", st.DueToday, len(st.Overdue), st.Backlog)
	}
	u.clock.Add(3 * 24 * time.Hour) // Monday noon
	if st, _ = u.agent.Status(ctx); st.DueToday != 1 {
		t.Errorf("Monday: due today %d, want 1", st.DueToday)
	}
	u.clock.Add(24 * time.Hour) // Tuesday: overdue
	st, err = u.agent.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Missed in 2026: overdue, but no fine before 2027-01-01 (TestPenaltyFrom2027).
	if len(st.Overdue) != 1 || st.Overdue[0].Penalty != 0 || st.PenaltyExposure != 0 || st.Overdue[0].Basis != "none" {
		t.Errorf("Tuesday: overdue %+v exposure %v, want one with no exposure", st.Overdue, st.PenaltyExposure)
	}
	if got, _ := u.agent.Invoice(ctx, v.ID); !got.Overdue || got.UploadState != "queued" {
		t.Errorf("overdue invoice view: overdue %v state %s; it must stay queued", got.Overdue, got.UploadState)
	}
	waitFor(t, "metrics", 5*time.Second, func() bool {
		var sb strings.Builder
		reg.WriteTo(&sb)
		out := sb.String()
		return strings.Contains(out, "posagent_sales_total 1") && strings.Contains(out, "posagent_backlog 1") &&
			strings.Contains(out, `posagent_ksef_errors_total{code="503"}`) && strings.Contains(out, "posagent_earliest_deadline_seconds -")
	})
	if st.CertDaysLeft <= 0 || st.CertSerial != u.cert.CertSerial() {
		t.Errorf("cert days %d serial %s", st.CertDaysLeft, st.CertSerial)
	}
}

// TestViewJSON pins the field names the till API serves.
func TestViewJSON(t *testing.T) {
	u := newUnit(t, nil)
	v, err := u.agent.Issue(context.Background(), agent.IssueRequest{Key: "j", Sale: b2bSale()})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"number": "FV/T1/2026/000001", "mode": "offline24", "upload_state": "queued",
		"print_state": "pending", "deadline": "2026-11-23", "buyer_class": "b2b", "b2b": true, "kod1_label": "OFFLINE",
		"gross": "262.85", "replayed": false} {
		if m[k] != want {
			t.Errorf("JSON %s = %v, want %v", k, m[k], want)
		}
	}
	for _, k := range []string{"id", "kod1", "kod2", "hash", "issued_at"} {
		if m[k] == nil || m[k] == "" {
			t.Errorf("JSON lacks %s", k)
		}
	}
}

// TestFailureExtendsDeadline: a failure announced while an offline24
// deadline is running moves it to 7 business days after the failure ends.
func TestFailureExtendsDeadline(t *testing.T) {
	u := newUnit(t, nil)
	ctx := context.Background()
	v, err := u.agent.Issue(ctx, agent.IssueRequest{Key: "e", Sale: consumerSale()})
	if err != nil {
		t.Fatal(err)
	}
	u.clock.Add(3 * 24 * time.Hour) // Monday, the deadline day
	if err := u.agent.Announce(ctx, agent.Announcement{Mode: "emergency", Reference: "BIP MF: awaria KSeF"}); err != nil {
		t.Fatal(err)
	}
	u.clock.Add(24 * time.Hour)                                      // Tuesday; the failure goes on
	if err := u.agent.SetMode(ctx, agent.OverrideAuto); err != nil { // it ends today
		t.Fatal(err)
	}
	got, err := u.agent.Invoice(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	// 7 business days after Tuesday 2026-11-24: Thursday 2026-12-03.
	if got.Deadline != "2026-12-03" || got.Overdue {
		t.Errorf("deadline %s overdue %v, want 2026-12-03 and not overdue", got.Deadline, got.Overdue)
	}
	st, err := u.agent.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Overdue) != 0 {
		t.Errorf("Status overdue %+v, want none", st.Overdue)
	}
	// A sale issued in the failure gets the emergency deadline.
	if err := u.agent.Announce(ctx, agent.Announcement{Mode: "emergency", Reference: "BIP MF: awaria KSeF"}); err != nil {
		t.Fatal(err)
	}
	w, err := u.agent.Issue(ctx, agent.IssueRequest{Key: "f", Sale: consumerSale()})
	if err != nil {
		t.Fatal(err)
	}
	if w.Mode != "emergency" || w.Deadline != "2026-12-03" {
		t.Errorf("emergency sale: mode %s deadline %s, want emergency 2026-12-03 (provisional: failure ends today)", w.Mode, w.Deadline)
	}
}

// okAPI makes the fake KSeF accept every invoice at once.
func okAPI(u *unit, upo func(url string) ([]byte, error)) {
	u.api.AuthenticateFunc = func(context.Context) (*ksefapi.Tokens, error) { return &ksefapi.Tokens{}, nil }
	u.api.OpenOnlineFunc = func(context.Context) (*ksefapi.OnlineSession, error) {
		return &ksefapi.OnlineSession{Reference: "S1"}, nil
	}
	u.api.CloseOnlineFunc = func(context.Context, *ksefapi.OnlineSession) error { return nil }
	u.api.SendInvoiceFunc = func(context.Context, *ksefapi.OnlineSession, []byte, ksefapi.SendOptions) (string, error) {
		return "I1", nil
	}
	u.api.InvoiceStatusFunc = func(_ context.Context, s, i string) (*ksefapi.InvoiceStatus, error) {
		acq := u.clock.Now()
		return &ksefapi.InvoiceStatus{KsefNumber: ksef.NewKSeFNumber(sellerNIP, acq, [6]byte{9}), AcquisitionDate: &acq,
			ReferenceNumber: i, UpoDownloadURL: "https://blob.example/upo/" + i,
			Status: ksefapi.StatusInfo{Code: ksefapi.InvoiceSuccess}}, nil
	}
	u.api.DownloadUPOFunc = func(_ context.Context, url string) (*ksefapi.UPO, []byte, error) {
		b, err := upo(url)
		return &ksefapi.UPO{}, b, err
	}
}

// TestUPORetry: a UPO that fails to download at acceptance is fetched later.
func TestUPORetry(t *testing.T) {
	reg := metrics.NewRegistry()
	u := newUnit(t, func(o *agent.Options) { o.Metrics = reg })
	ctx := context.Background()
	var mu sync.Mutex
	calls := 0
	okAPI(u, func(string) ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == 1 {
			return nil, &ksefapi.APIError{Op: "download UPO", Status: 503}
		}
		return []byte("<UPO/>"), nil
	})
	v, err := u.agent.Issue(ctx, agent.IssueRequest{Key: "u", Sale: consumerSale()})
	if err != nil {
		t.Fatal(err)
	}
	u.run(t)
	waitFor(t, "UPO attached", 5*time.Second, func() bool {
		inv, _ := u.store.Get(ctx, v.ID)
		return inv.Upload == outbox.UploadAccepted && string(inv.UPO) == "<UPO/>"
	})
	var sb strings.Builder
	reg.WriteTo(&sb)
	for _, want := range []string{"posagent_upload_seconds_count 1", "posagent_sales_total 1", `posagent_ksef_errors_total{code="503"} 1`} {
		if !strings.Contains(sb.String(), want) {
			t.Errorf("metrics lack %q:\n%s", want, sb.String())
		}
	}
}

// TestStateFile: the override and the announced periods survive a restart;
// a corrupt state file is refused.
func TestStateFile(t *testing.T) {
	u := newUnit(t, nil)
	path := filepath.Join(t.TempDir(), "agent-state.json")
	opts := agent.Options{Seller: seller, Series: series, Environment: ksef.EnvTest, Now: u.clock.Now, StateFile: path}
	deps := agent.Deps{Store: u.store, KSeF: u.api, Printer: u.prn, Signer: u.cert}
	a, err := agent.New(opts, deps)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := a.Announce(ctx, agent.Announcement{Mode: "emergency", Reference: "BIP MF: awaria KSeF"}); err != nil {
		t.Fatal(err)
	}
	b, err := agent.New(opts, deps) // a restart
	if err != nil {
		t.Fatal(err)
	}
	st, err := b.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Override != agent.OverrideEmergency || st.Mode != "emergency" {
		t.Errorf("after restart: override %q mode %s, want emergency", st.Override, st.Mode)
	}
	v, err := b.Issue(ctx, agent.IssueRequest{Key: "s", Sale: consumerSale()})
	if err != nil {
		t.Fatal(err)
	}
	if v.Mode != "emergency" || v.Deadline == "" {
		t.Errorf("sale after restart: mode %s deadline %q", v.Mode, v.Deadline)
	}
	if err := os.WriteFile(path, []byte(`{"override":"sometimes"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := agent.New(opts, deps); !errors.Is(err, agent.ErrInvalidOptions) {
		t.Errorf("New with a corrupt state file = %v, want ErrInvalidOptions", err)
	}
}
