package agent_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/certstore"
	"github.com/posagent/posagent/certstore/certstoretest"
	"github.com/posagent/posagent/escpos"
	"github.com/posagent/posagent/escpos/escpostest"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/ksef/ksefapi"
	"github.com/posagent/posagent/ksef/ksefsim"
	"github.com/posagent/posagent/outbox"
	"github.com/posagent/posagent/printer"
	"github.com/posagent/posagent/receipt"
)

const (
	sellerNIP = certstoretest.NIP
	buyerNIP  = "7740001454"
	simToken  = "test-ksef-token"
)

var seller = ksef.Seller{
	NIP:     sellerNIP,
	Name:    "Stacja Paliw „Żuraw” Sp. z o.o.",
	Address: ksef.Address{Country: "PL", Line1: "ul. Źródlana 7/3", Line2: "90-001 Łódź"},
}

var series = outbox.Series{Terminal: "T1", Format: "FV/{terminal}/{yyyy}/{seq:06}"}

// clock is the agent's clock: real time plus an offset a test may move.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// printed is one job the agent submitted, as the printer got it.
type printed struct {
	ID   string
	Data []byte
}

// recPrinter records every job and forwards it to the real print worker.
type recPrinter struct {
	w    *printer.Worker
	mu   sync.Mutex
	jobs []printed
}

func (p *recPrinter) Submit(ctx context.Context, j printer.Job) error {
	p.mu.Lock()
	p.jobs = append(p.jobs, printed{ID: j.ID, Data: bytes.Clone(j.Data)})
	p.mu.Unlock()
	return p.w.Submit(ctx, j)
}

func (p *recPrinter) State() printer.State { return p.w.State() }

func (p *recPrinter) Jobs() []printed {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]printed(nil), p.jobs...)
}

// env is a simulator, its client and a certificate shared across agent
// restarts.
type env struct {
	t      testing.TB
	sim    *ksefsim.Server
	srv    *httptest.Server
	client *ksefapi.Client
	cert   *certstore.Cert
	path   string
	clock  *clock
	// maxSize caps the store (outbox.Options.MaxSize); zero is the default.
	maxSize int64
}

func newEnv(t testing.TB, simOpts *ksefsim.Options) *env {
	t.Helper()
	if simOpts == nil {
		simOpts = &ksefsim.Options{}
	}
	simOpts.Tokens = map[string]string{simToken: sellerNIP}
	simOpts.DisableRateLimits = true
	sim, err := ksefsim.New(simOpts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	c, err := ksefapi.New(ksefapi.Config{
		BaseURL: srv.URL + "/v2", AvailabilityURL: srv.URL + "/latarnia", HTTPClient: srv.Client(),
		Context:      ksefapi.ContextIdentifier{Type: ksefapi.ContextNip, Value: sellerNIP},
		Auth:         ksefapi.TokenAuth{Token: simToken},
		PollInterval: 10 * time.Millisecond, PollMax: 50 * time.Millisecond, PollTimeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, sim: sim, srv: srv, client: c,
		cert:  certstoretest.Cert(t, certstore.Offline, certstore.KeyEC),
		path:  filepath.Join(t.TempDir(), "outbox.db"),
		clock: &clock{}}
}

// h is one running agent over the env.
type h struct {
	*env
	store  *outbox.Store
	agent  *agent.Agent
	prn    *recPrinter
	vp     *printer.Virtual
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
	opts   agent.Options
}

func testOptions(e *env) agent.Options {
	p, _ := escpos.LookupProfile("generic-80")
	return agent.Options{
		Seller: seller, Series: series, Place: "Łódź", Environment: ksef.EnvTest,
		Profile: p, QR: receipt.QRAuto, Paper: 80,
		Now: e.clock.Now, Logger: testLogger(e.t),
		OnlineBudget: 2 * time.Second, BatchThreshold: 50, B2BOfflineHandover: true,
		UploadInterval: 50 * time.Millisecond, ProbeInterval: 30 * time.Millisecond,
		PollInterval: 20 * time.Millisecond, PrintInterval: 40 * time.Millisecond,
		RetryMin: 20 * time.Millisecond, RetryMax: 150 * time.Millisecond,
		SendGrace: 2 * time.Second,
	}
}

// start opens the store and starts the agent and the print worker; run
// false leaves Run (the scheduler) off.
func (e *env) start(mod func(*agent.Options), run bool) *h {
	t := e.t
	t.Helper()
	st, err := outbox.Open(e.path, &outbox.Options{Now: e.clock.Now, MaxSize: e.maxSize})
	if err != nil {
		t.Fatal(err)
	}
	x := &h{env: e, store: st, vp: printer.NewVirtual(nil)}
	var ag *agent.Agent
	var agMu sync.Mutex
	w, err := printer.NewWorker(x.vp.Open, &printer.Options{
		Backoff: printer.Backoff{Min: 10 * time.Millisecond, Max: 40 * time.Millisecond},
		OnResult: func(r printer.JobResult) {
			agMu.Lock()
			defer agMu.Unlock()
			if ag != nil {
				ag.PrintResult(r)
			}
		},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	x.prn = &recPrinter{w: w}
	x.opts = testOptions(e)
	if mod != nil {
		mod(&x.opts)
	}
	a, err := agent.New(x.opts, agent.Deps{Store: st, KSeF: e.client, Printer: x.prn, Signer: e.cert, Feed: e.client})
	if err != nil {
		t.Fatal(err)
	}
	agMu.Lock()
	ag = a
	agMu.Unlock()
	x.agent = a
	ctx, cancel := context.WithCancel(context.Background())
	x.cancel = cancel
	x.wg.Go(func() { _ = w.Run(ctx) })
	if run {
		x.wg.Go(func() {
			if err := a.Run(ctx); !errors.Is(err, context.Canceled) {
				t.Errorf("Run = %v, want context.Canceled", err)
			}
		})
	}
	t.Cleanup(x.stop)
	return x
}

// stop stops the agent and the worker and closes the store (a restart).
func (x *h) stop() { x.once.Do(x.doStop) }

func (x *h) doStop() {
	x.cancel()
	x.wg.Wait()
	if err := x.store.Check(context.Background()); err != nil {
		x.t.Errorf("store check: %v", err)
	}
	_ = x.store.Close()
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tlog{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type tlog struct{ t testing.TB }

func (l tlog) Write(b []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

var _ io.Writer = tlog{}

// minWait is the least any wait in these tests allows. A 2-core machine
// running other test binaries can stall the agent's goroutines for seconds;
// a generous deadline costs nothing when the condition holds, while a tight
// one makes a test fail for the machine's sake, not the agent's.
const minWait = 30 * time.Second

// waitFor polls cond until it holds or the time (at least minWait) runs out.
func waitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	d = max(d, minWait)
	end := time.Now().Add(d)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (x *h) flush(d time.Duration) {
	x.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), max(d, 2*minWait))
	defer cancel()
	if err := x.agent.Flush(ctx); err != nil {
		st, _ := x.agent.Status(context.Background())
		x.t.Fatalf("Flush = %v; status %+v", err, st)
	}
}

func (x *h) get(id string) *outbox.Invoice {
	x.t.Helper()
	inv, err := x.store.Get(context.Background(), id)
	if err != nil {
		x.t.Fatal(err)
	}
	return inv
}

func (x *h) issue(key string, s ksef.Sale) *agent.Issued {
	x.t.Helper()
	got, err := x.agent.Issue(context.Background(), agent.IssueRequest{Key: key, Sale: s})
	if err != nil {
		x.t.Fatalf("Issue(%s) = %v", key, err)
	}
	return got
}

// receiptOf decodes the QR links and text of a printed job.
type decoded struct {
	QR   []string
	Text string
}

func (x *h) decode(p printed) decoded {
	x.t.Helper()
	page, err := escpos.Render(p.Data, x.opts.Profile)
	if err != nil {
		x.t.Fatalf("render job %s: %v", p.ID, err)
	}
	qr, err := escpostest.DecodeAllQR(page)
	if err != nil {
		x.t.Fatalf("decode QR of job %s: %v", p.ID, err)
	}
	var sb strings.Builder
	for _, l := range page.Lines {
		sb.WriteString(l.Text)
		sb.WriteByte('\n')
	}
	return decoded{QR: qr, Text: sb.String()}
}

// jobsOf returns the printed jobs of an invoice (original and duplicates).
func (x *h) jobsOf(inv *outbox.Invoice) []printed {
	ids := map[string]bool{inv.PrintJobID: true}
	for _, r := range inv.Reprints {
		ids[r.JobID] = true
	}
	var out []printed
	for _, j := range x.prn.Jobs() {
		if ids[j.ID] {
			out = append(out, j)
		}
	}
	return out
}

// checkKOD1 verifies a printed KOD I against the stored XML's SHA-256.
func checkKOD1(t *testing.T, link string, inv *outbox.Invoice) {
	t.Helper()
	k, err := ksef.ParseKOD1(link)
	if err != nil {
		t.Fatalf("printed KOD I %q: %v", link, err)
	}
	if got, want := k.Hash, ksef.InvoiceHash(inv.XML); got != want {
		t.Errorf("printed KOD I hash %x, want sha256 of stored XML %x", got, want)
	}
	if k.SellerNIP != sellerNIP || k.P1.String() != inv.P1 {
		t.Errorf("printed KOD I %+v, want seller %s p1 %s", k, sellerNIP, inv.P1)
	}
}

func line(name, qty, price, rate string) ksef.Line {
	return ksef.Line{Name: name, Unit: "szt.", Quantity: ksef.MustParseQuantity(qty),
		UnitPrice: ksef.MustParseAmount(price), VATRate: ksef.Rate(rate)}
}

func consumerSale() ksef.Sale {
	return ksef.Sale{Buyer: ksef.Buyer{Kind: ksef.BuyerConsumer},
		Lines:   []ksef.Line{line("Kawa czarna", "2", "12.30", "23"), line("Drożdżówka", "1", "4.99", "5")},
		Payment: &ksef.Payment{Form: ksef.PayCard, Paid: true}}
}

func b2bSale() ksef.Sale {
	return ksef.Sale{Buyer: ksef.Buyer{Kind: ksef.BuyerNIP, NIP: buyerNIP, Name: "Firma Transportowa Łęczyca S.A.",
		Address: &ksef.Address{Country: "PL", Line1: "ul. Długa 5", Line2: "09-400 Płock"}},
		Lines:   []ksef.Line{line("Olej napędowy ON", "40.5", "6.49", "23")},
		Payment: &ksef.Payment{Form: ksef.PayTransfer}}
}

func euSale() ksef.Sale {
	return ksef.Sale{Buyer: ksef.Buyer{Kind: ksef.BuyerEU, EUCode: "DE", EUVAT: "123456789", Name: "Müller Logistik GmbH",
		Address: &ksef.Address{Country: "DE", Line1: "Hauptstraße 1, 10115 Berlin"}},
		Lines:   []ksef.Line{line("Myjnia premium", "1", "49.00", "23")},
		Payment: &ksef.Payment{Form: ksef.PayCard, Paid: true}}
}

func uprSale() ksef.Sale {
	s := ksef.Sale{Kind: ksef.KindUPR, Buyer: ksef.Buyer{Kind: ksef.BuyerNIP, NIP: buyerNIP},
		Lines:   []ksef.Line{line("Benzyna Pb95", "20", "6.19", "23")},
		Payment: &ksef.Payment{Form: ksef.PayCash, Paid: true}}
	return s
}

// simByNumber indexes the simulator's accepted invoices by P_2.
func simByNumber(sim *ksefsim.Server) map[string]ksefsim.StoredInvoice {
	m := map[string]ksefsim.StoredInvoice{}
	for _, s := range sim.Invoices() {
		m[s.InvoiceNumber] = s
	}
	return m
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }
