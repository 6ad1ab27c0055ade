package ksefe2e_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/posagent/posagent/certstore"
	"github.com/posagent/posagent/internal/testutil"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/ksef/ksefapi"
	"github.com/posagent/posagent/ksef/ksefsim"
	"github.com/posagent/posagent/ksef/ksefsim/ksefsimtest"
)

// simStart is the simulated "now" when a harness starts: a working Friday,
// mid-morning in Warsaw, so P_1, KSeF-number dates and offline classification
// never depend on when (or near which midnight) the tests run.
var simStart = time.Date(2026, 11, 20, 10, 0, 0, 0, ksef.Warsaw)

// clock is real time shifted to simStart. Both the client and the simulator
// read it, so token expiry, pre-signed links and certificate validity agree,
// while network timeouts and Retry-After waits stay real.
type clock struct {
	mu  sync.Mutex // guards off
	off time.Duration
}

func newClock() *clock { return clockAt(simStart) }

// clockAt is a clock that reads at now.
func clockAt(at time.Time) *clock { return &clock{off: time.Until(at)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

// Advance moves both sides' clock forward by d.
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

// today is the simulated Warsaw civil date.
func (c *clock) today() ksef.Date { return ksef.DateOf(c.Now()) }

// harness is one simulator, the shared clock and the recording wire.
type harness struct {
	t    *testing.T
	sim  *ksefsimtest.Sim
	clk  *clock
	wire *wire
}

// start runs a simulator with opts (Now is always the harness clock).
func start(t *testing.T, opts ksefsim.Options) *harness {
	t.Helper()
	return startAt(t, opts, simStart)
}

// startAt is start with the shared clock reading at instead of simStart.
func startAt(t *testing.T, opts ksefsim.Options, at time.Time) *harness {
	t.Helper()
	clk := clockAt(at)
	opts.Now = clk.Now
	if opts.StateFile == "" {
		opts.StateFile = seededState(t)
	}
	sim := ksefsimtest.Start(t, &opts)
	return &harness{t: t, sim: sim, clk: clk, wire: newWire(t, loadSpec(t))}
}

var (
	seedOnce sync.Once
	seed     []byte
	seedErr  error
)

// seededState returns a fresh simulator state file that already holds a pair
// of MF keys. Generating two RSA-2048 keys for every simulator is most of this
// package's CPU time on a loaded machine; each test still gets its own copy,
// so no session, invoice or token is shared.
func seededState(t *testing.T) string {
	t.Helper()
	seedOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ksefe2e-seed-")
		if err != nil {
			seedErr = err
			return
		}
		defer os.RemoveAll(dir)
		p := filepath.Join(dir, "state.json")
		sim, err := ksefsim.New(&ksefsim.Options{StateFile: p, Now: newClock().Now})
		if err != nil {
			seedErr = err
			return
		}
		if seedErr = sim.Save(); seedErr == nil {
			seed, seedErr = os.ReadFile(p)
		}
	})
	if seedErr != nil {
		t.Fatalf("seed simulator state: %v", seedErr)
	}
	p := filepath.Join(t.TempDir(), "ksefsim-state.json")
	if err := os.WriteFile(p, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// client returns a client of the simulator that goes through the wire. edit,
// if non-nil, adjusts the config before New.
func (h *harness) client(auth ksefapi.Credentials, edit func(*ksefapi.Config)) *ksefapi.Client {
	h.t.Helper()
	cfg := ksefapi.Config{
		BaseURL:      h.sim.Base,
		HTTPClient:   &http.Client{Timeout: 15 * time.Second, Transport: h.wire},
		Context:      ksefapi.ContextIdentifier{Type: ksefapi.ContextNip, Value: ksefsimtest.NIP},
		Auth:         auth,
		Now:          h.clk.Now,
		PollInterval: 5 * time.Millisecond,
		PollMax:      50 * time.Millisecond,
		PollTimeout:  20 * time.Second,
	}
	if edit != nil {
		edit(&cfg)
	}
	c, err := ksefapi.New(cfg)
	if err != nil {
		h.t.Fatalf("ksefapi.New: %v", err)
	}
	return c
}

// tokenClient logs in with the simulator's registered KSeF token.
func (h *harness) tokenClient() *ksefapi.Client {
	return h.client(ksefapi.TokenAuth{Token: ksefsimtest.Token}, nil)
}

// xadesAuth makes a KSeF-like Authentication certificate for nip with a key
// of type kt, valid around the harness clock.
func (h *harness) xadesAuth(nip string, kt certstore.KeyType) ksefapi.XAdESAuth {
	h.t.Helper()
	now := h.clk.Now()
	certPEM, keyPEM, err := certstore.Generate(certstore.Authentication, nip, kt, now.Add(-time.Hour), 30*24*time.Hour)
	if err != nil {
		h.t.Fatalf("certstore.Generate(%s): %v", kt, err)
	}
	cert, err := certstore.Parse(certstore.Authentication, append(certPEM, keyPEM...), "", now)
	if err != nil {
		h.t.Fatalf("certstore.Parse(%s): %v", kt, err)
	}
	return ksefapi.XAdESAuth{Signer: cert, Certificate: cert.Certificate()}
}

// inject queues a simulator fault.
func (h *harness) inject(f ksefsim.Fault) {
	h.t.Helper()
	if err := h.sim.InjectFault(f); err != nil {
		h.t.Fatalf("InjectFault(%+v): %v", f, err)
	}
}

// openOnline opens an online session or fails the test.
func openOnline(t *testing.T, c *ksefapi.Client) *ksefapi.OnlineSession {
	t.Helper()
	s, err := c.OpenOnline(ctx(t))
	if err != nil {
		t.Fatalf("OpenOnline: %v", err)
	}
	return s
}

// online starts a simulator without rate limits and opens an online session
// as the token client: where most tests here begin.
func online(t *testing.T) (*harness, *ksefapi.Client, *ksefapi.OnlineSession) {
	t.Helper()
	h := start(t, ksefsim.Options{DisableRateLimits: true})
	c := h.tokenClient()
	return h, c, openOnline(t, c)
}

// send sends xml in s with no options and returns its reference, or fails
// the test.
func send(t *testing.T, s *ksefapi.OnlineSession, xml []byte) string {
	t.Helper()
	ref, err := s.Send(ctx(t), xml, ksefapi.SendOptions{})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	return ref
}

// sendAccepted sends xml in s and waits until KSeF accepts it; what names
// the step in a failure.
func sendAccepted(t *testing.T, c *ksefapi.Client, s *ksefapi.OnlineSession, xml []byte, what string) {
	t.Helper()
	ref, err := s.Send(ctx(t), xml, ksefapi.SendOptions{})
	if err != nil {
		t.Fatalf("%s: Send: %v", what, err)
	}
	st := waitInvoice(t, c, s.Reference, ref)
	if st.Code() != ksefapi.InvoiceSuccess {
		t.Fatalf("%s: invoice status %d %v, want %d", what, st.Code(), st.Status.Details, ksefapi.InvoiceSuccess)
	}
}

// ctx is a test context bounded well inside the package's time budget.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// invoice writes a real FA(3) invoice of the harness seller. price varies the
// content so that different numbers never share a hash.
func invoice(t testing.TB, number string, issue ksef.Date, price string) []byte {
	t.Helper()
	inv := ksef.Invoice{
		Seller: ksef.Seller{
			NIP:     ksefsimtest.NIP,
			Name:    "Sklep Testowy sp. z o.o.",
			Address: ksef.Address{Country: "PL", Line1: "ul. Polna 1", Line2: "00-001 Warszawa"},
		},
		Number:      number,
		GeneratedAt: time.Date(issue.Year, issue.Month, issue.Day, 9, 0, 0, 0, ksef.Warsaw),
		Sale: ksef.Sale{
			Buyer: ksef.Buyer{Kind: ksef.BuyerConsumer},
			Lines: []ksef.Line{
				{Name: "Kawa ziarnista 1 kg", Unit: "szt.", Quantity: ksef.MustParseQuantity("1"), UnitPrice: ksef.MustParseAmount(price), VATRate: ksef.Rate23},
				{Name: "Chleb", Unit: "szt.", Quantity: ksef.MustParseQuantity("2"), UnitPrice: ksef.MustParseAmount("4.50"), VATRate: ksef.Rate5},
			},
			Payment:   &ksef.Payment{Form: ksef.PayCard, Paid: true},
			IssueDate: issue,
		},
	}
	b, err := inv.XML()
	if err != nil {
		t.Fatalf("invoice %s: %v", number, err)
	}
	return b
}

// price returns a distinct gross unit price for invoice n ("10.01", "10.02", …).
func price(n int) string { return fmt.Sprintf("%d.%02d", 10+n/100, n%100) }

// hashB64 is the invoice hash as KSeF reports it (standard Base64 SHA-256).
func hashB64(b []byte) string {
	h := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(h[:])
}

// waitInvoice polls an invoice until KSeF has finished with it.
func waitInvoice(t *testing.T, c *ksefapi.Client, sessionRef, invoiceRef string) *ksefapi.InvoiceStatus {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := c.InvoiceStatus(ctx(t), sessionRef, invoiceRef)
		if err != nil {
			t.Fatalf("InvoiceStatus(%s): %v", invoiceRef, err)
		}
		if st.Final() {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("InvoiceStatus(%s) still %d after 10s", invoiceRef, st.Code())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkKSeFNumber parses a KSeF number (CRC included) and checks its NIP and
// day against the harness.
func checkKSeFNumber(t *testing.T, h *harness, s string) {
	t.Helper()
	k, err := ksef.ParseKSeFNumber(s)
	if err != nil {
		t.Errorf("ParseKSeFNumber(%q): %v", s, err)
		return
	}
	if k.NIP != ksefsimtest.NIP || k.Date != h.clk.today() {
		t.Errorf("KSeF number %s: NIP %s date %v, want %s %v", s, k.NIP, k.Date, ksefsimtest.NIP, h.clk.today())
	}
}

// validateUPO writes a UPO to a file and validates it against the official
// upo-v4-3.xsd with xmllint.
func validateUPO(t *testing.T, name string, upo []byte) {
	t.Helper()
	testutil.RequireTool(t, "xmllint")
	p := filepath.Join(t.TempDir(), name+".xml")
	if err := os.WriteFile(p, upo, 0o600); err != nil {
		t.Fatal(err)
	}
	testutil.XMLLintSchema(t, testutil.Official("ksef/upo/upo-v4-3.xsd"), p)
}

// asAPIError returns err as *ksefapi.APIError or fails the test.
func asAPIError(t *testing.T, err error) *ksefapi.APIError {
	t.Helper()
	var ae *ksefapi.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T), want *ksefapi.APIError", err, err)
	}
	return ae
}
