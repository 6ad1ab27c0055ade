package agent_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/agent/agenttest"
	"github.com/posagent/posagent/certstore/certstoretest"
	"github.com/posagent/posagent/escpos"
	"github.com/posagent/posagent/escpos/escpostest"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/ksef/ksefapi"
	"github.com/posagent/posagent/ksef/ksefsim"
	"github.com/posagent/posagent/outbox"
	"github.com/posagent/posagent/printer"
)

const (
	sellerNIP = certstoretest.NIP
	buyerNIP  = "7740001454"
)

var (
	seller  = agenttest.Seller
	series  = agenttest.Series
	waitFor = agenttest.WaitFor
)

// env is the agenttest.Env under the names this package's tests use. A test
// may set the Env's Cert or MaxSize before start.
type env struct {
	*agenttest.Env
	t      testing.TB
	sim    *ksefsim.Server
	client *ksefapi.Client
	clock  *agenttest.Clock
}

func newEnv(t testing.TB, simOpts *ksefsim.Options) *env {
	t.Helper()
	e := agenttest.NewEnv(t, simOpts)
	return &env{Env: e, t: t, sim: e.Sim.Server, client: e.Client, clock: e.Clock}
}

// h is one running agent over the env.
type h struct {
	*env
	stack *agenttest.Stack
	store *outbox.Store
	agent *agent.Agent
	prn   *agenttest.Printer
	vp    *printer.Virtual
	opts  agent.Options
}

// start runs an agent over the env with mod applied to its options; run
// false leaves Run (the scheduler) off.
func (e *env) start(mod func(*agent.Options), run bool) *h {
	e.t.Helper()
	var opts []agenttest.Option
	if mod != nil {
		opts = append(opts, agenttest.WithOptions(mod))
	}
	if !run {
		opts = append(opts, agenttest.NoScheduler())
	}
	s := e.Start(opts...)
	return &h{env: e, stack: s, store: s.Store, agent: s.Agent, prn: s.Printer, vp: s.Virtual, opts: s.Options}
}

// stop stops the agent and the worker and closes the store (a restart).
func (x *h) stop() { x.stack.Stop() }

func (x *h) flush(d time.Duration) {
	x.t.Helper()
	x.stack.Flush(d)
}

func (x *h) get(id string) *outbox.Invoice {
	x.t.Helper()
	return x.stack.Get(id)
}

func (x *h) issue(key string, s ksef.Sale) *agent.Issued {
	x.t.Helper()
	return x.stack.Issue(key, s)
}

// decoded is what a printed job shows: its QR links and its text.
type decoded struct {
	QR   []string
	Text string
}

func (x *h) decode(p printer.Job) decoded {
	x.t.Helper()
	data, err := p.Bytes()
	if err != nil {
		x.t.Fatalf("job %s: %v", p.ID, err)
	}
	page, err := escpos.Render(data, x.opts.Profile)
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
func (x *h) jobsOf(inv *outbox.Invoice) []printer.Job {
	ids := map[string]bool{inv.PrintJobID: true}
	for _, r := range inv.Reprints {
		ids[r.JobID] = true
	}
	var out []printer.Job
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
