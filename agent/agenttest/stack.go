package agenttest

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/certstore"
	"github.com/posagent/posagent/certstore/certstoretest"
	"github.com/posagent/posagent/escpos"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/ksef/ksefapi"
	"github.com/posagent/posagent/ksef/ksefsim"
	"github.com/posagent/posagent/ksef/ksefsim/ksefsimtest"
	"github.com/posagent/posagent/outbox"
	"github.com/posagent/posagent/printer"
	"github.com/posagent/posagent/receipt"
)

// Seller is the seller of every Stack: the NIP of the simulator's token and
// of the generated certificates, and Polish letters in every text field.
var Seller = ksef.Seller{
	NIP:     certstoretest.NIP,
	Name:    "Stacja Paliw „Żuraw” Sp. z o.o.",
	Address: ksef.Address{Country: "PL", Line1: "ul. Źródlana 7/3", Line2: "90-001 Łódź"},
}

// Series is the numbering of every Stack: FV/T1/2026/000001, …
var Series = outbox.Series{Terminal: "T1", Format: "FV/{terminal}/{yyyy}/{seq:06}"}

// MinWait is the least any WaitFor allows. A 2-core machine running other
// test binaries can stall the agent's goroutines for seconds; a generous
// deadline costs nothing when the condition holds, while a tight one fails a
// test for the machine's sake, not the agent's.
const MinWait = 30 * time.Second

// WaitFor polls cond every 10 ms until it holds, and fails the test when d
// (at least MinWait) runs out first.
func WaitFor(tb testing.TB, what string, d time.Duration, cond func() bool) {
	tb.Helper()
	d = max(d, MinWait)
	end := time.Now().Add(d)
	for !cond() {
		if time.Now().After(end) {
			tb.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Logger returns a logger that writes Info and above to tb.Log, so the
// agent's log shows with a failing test and stays quiet otherwise.
func Logger(tb testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tbWriter{tb}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type tbWriter struct{ tb testing.TB }

func (w tbWriter) Write(b []byte) (int, error) {
	w.tb.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// Env is what outlives an agent restart. Change Cert, Path or MaxSize before
// Start to run the next agent with them.
type Env struct {
	Sim    *ksefsimtest.Sim // the simulator: faults, availability, what it holds
	Client *ksefapi.Client  // the agent's KSeF client (XAdES login); a test may call it too
	Cert   *certstore.Cert  // the Offline certificate (EC)
	// AuthCert is the self-signed Authentication certificate the client logs
	// in with, as KSeF's test environment accepts: token logins end on
	// 2026-12-31, so tests must not depend on them on a real clock.
	AuthCert *certstore.Cert
	Path     string // the outbox file
	Clock    *Clock // the agent's and the store's clock: real time until moved
	// MaxSize caps the store (outbox.Options.MaxSize); zero is the default.
	MaxSize int64

	tb testing.TB
}

// NewEnv starts a simulator with sim's options (nil for none; rate limits
// are always off) and makes a client of it, an Offline certificate and a
// store path in tb.TempDir.
func NewEnv(tb testing.TB, sim *ksefsim.Options) *Env {
	tb.Helper()
	return newEnv(tb, sim, &Clock{}, nil, time.Now())
}

// NewEnvAt is NewEnv with one clock, stopped at start, for everything: the
// simulator, the client, the store and the agent; the certificates are valid
// from an hour before start, whatever today is. A test of a legal date (a
// Warsaw midnight, a holiday) moves it with Env.Clock.
func NewEnvAt(tb testing.TB, sim *ksefsim.Options, start time.Time) *Env {
	tb.Helper()
	c := NewClock(start)
	var o ksefsim.Options
	if sim != nil {
		o = *sim
	}
	o.Now = c.Now
	return newEnv(tb, &o, c, c.Now, start)
}

// newEnv builds the Env; its certificates are valid at certsAt.
func newEnv(tb testing.TB, sim *ksefsim.Options, clock *Clock, clientNow func() time.Time, certsAt time.Time) *Env {
	tb.Helper()
	var o ksefsim.Options
	if sim != nil {
		o = *sim
	}
	o.DisableRateLimits = true
	s := ksefsimtest.Start(tb, &o)
	// Its own transport: a test's idle connections die with its simulator.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tb.Cleanup(tr.CloseIdleConnections)
	auth := certstoretest.CertAt(tb, certstore.Authentication, certstore.KeyEC, certsAt)
	c, err := ksefapi.New(ksefapi.Config{
		BaseURL: s.Base, AvailabilityURL: s.Latarnia, HTTPClient: &http.Client{Transport: tr},
		Context:      ksefapi.ContextIdentifier{Type: ksefapi.ContextNip, Value: ksefsimtest.NIP},
		Auth:         ksefapi.XAdESAuth{Signer: auth, Certificate: auth.Certificate()},
		PollInterval: 10 * time.Millisecond, PollMax: 50 * time.Millisecond, PollTimeout: 10 * time.Second,
		Now: clientNow,
	})
	if err != nil {
		tb.Fatalf("agenttest: ksefapi.New: %v", err)
	}
	return &Env{tb: tb, Sim: s, Client: c, AuthCert: auth,
		Cert:  certstoretest.CertAt(tb, certstore.Offline, certstore.KeyEC, certsAt),
		Path:  filepath.Join(tb.TempDir(), "outbox.db"),
		Clock: clock}
}

// Down makes KSeF unreachable: the simulator drops the connection of every
// API request until e.Sim.ClearFaults. The availability feed still answers.
func (e *Env) Down() {
	e.tb.Helper()
	if err := e.Sim.InjectFault(ksefsim.Fault{Kind: ksefsim.FaultDrop, Count: ksefsim.Forever, PathPrefix: "/v2"}); err != nil {
		e.tb.Fatalf("agenttest: %v", err)
	}
}

// Option changes how Start runs the agent.
type Option func(*config)

type config struct {
	edit      []func(*agent.Options)
	wrap      []func(agent.KSeF) agent.KSeF
	scheduler bool
}

// WithOptions edits the agent's options after the Stack's defaults are set.
func WithOptions(edit func(*agent.Options)) Option {
	return func(c *config) { c.edit = append(c.edit, edit) }
}

// WithKSeF puts wrap around the agent's KSeF client, e.g. to record what
// the agent sends or to move the clock at a chosen call.
func WithKSeF(wrap func(agent.KSeF) agent.KSeF) Option {
	return func(c *config) { c.wrap = append(c.wrap, wrap) }
}

// NoScheduler leaves Agent.Run off: nothing uploads or prints on its own,
// and the test plays the scheduler (or a crashed one).
func NoScheduler() Option { return func(c *config) { c.scheduler = false } }

// Stack is one run of the real agent over an Env.
type Stack struct {
	*Env
	Agent   *agent.Agent
	Store   *outbox.Store
	Printer *Printer         // what the agent submitted, passed on to the worker
	Virtual *printer.Virtual // the device behind the worker: set its faults here
	Options agent.Options    // as the agent got them

	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// NewStack starts an agent over a new Env with default simulator options.
func NewStack(tb testing.TB, opts ...Option) *Stack {
	tb.Helper()
	return NewEnv(tb, nil).Start(opts...)
}

// defaults are short intervals, so a test's upload or print happens in
// tens of milliseconds, on 80 mm paper with the agent's own QR choice.
func (e *Env) defaults() agent.Options {
	p, err := escpos.LookupProfile("generic-80")
	if err != nil {
		e.tb.Fatalf("agenttest: %v", err)
	}
	return agent.Options{
		Seller: Seller, Series: Series, Place: "Łódź", Environment: ksef.EnvTest,
		Profile: p, QR: receipt.QRAuto, Paper: 80,
		Now: e.Clock.Now, Logger: Logger(e.tb),
		OnlineBudget: 2 * time.Second, BatchThreshold: 50,
		// Tests of other rules print a B2B invoice as any other; the B2B
		// tests choose their policy.
		B2BOffline:     agent.B2BHandover,
		UploadInterval: 50 * time.Millisecond, ProbeInterval: 30 * time.Millisecond,
		PollInterval: 20 * time.Millisecond, PrintInterval: 40 * time.Millisecond,
		RetryMin: 20 * time.Millisecond, RetryMax: 150 * time.Millisecond,
		SendGrace: 2 * time.Second,
	}
}

// Start opens the store and runs the print worker and, unless NoScheduler,
// the agent's scheduler. t.Cleanup stops them; Stop does it sooner.
func (e *Env) Start(opts ...Option) *Stack {
	tb := e.tb
	tb.Helper()
	cfg := config{scheduler: true}
	for _, o := range opts {
		o(&cfg)
	}
	st, err := outbox.Open(e.Path, &outbox.Options{Now: e.Clock.Now, MaxSize: e.MaxSize})
	if err != nil {
		tb.Fatalf("agenttest: outbox.Open: %v", err)
	}
	s := &Stack{Env: e, Store: st, Virtual: printer.NewVirtual(nil), Options: e.defaults()}
	for _, edit := range cfg.edit {
		edit(&s.Options)
	}
	// The worker reports to the agent, which needs the worker.
	var relay Relay
	w, err := printer.NewWorker(s.Virtual.Open, &printer.Options{
		Backoff:  printer.Backoff{Min: 10 * time.Millisecond, Max: 40 * time.Millisecond},
		OnResult: relay.PrintResult,
		Journal:  &relay,
	}, nil)
	if err != nil {
		st.Close()
		tb.Fatalf("agenttest: printer.NewWorker: %v", err)
	}
	s.Printer = &Printer{Next: w}
	var api agent.KSeF = e.Client
	for _, w := range cfg.wrap {
		api = w(api)
	}
	s.Agent, err = agent.New(s.Options, agent.Deps{Store: st, KSeF: api, Printer: s.Printer, Signer: e.Cert, Feed: e.Client})
	if err != nil {
		st.Close()
		tb.Fatalf("agenttest: agent.New: %v", err)
	}
	relay.Set(s.Agent)
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.wg.Go(func() { _ = w.Run(ctx) })
	if cfg.scheduler {
		s.wg.Go(func() {
			if err := s.Agent.Run(ctx); !errors.Is(err, context.Canceled) {
				tb.Errorf("agenttest: agent Run = %v, want context.Canceled", err)
			}
		})
	}
	tb.Cleanup(s.Stop)
	return s
}

// Stop stops the agent and the worker, waits for them, checks the store's
// consistency and closes it. It is idempotent; Env.Start again is a restart.
func (s *Stack) Stop() {
	s.once.Do(func() {
		s.cancel()
		s.wg.Wait()
		if err := s.Store.Check(context.Background()); err != nil {
			s.tb.Errorf("agenttest: store check: %v", err)
		}
		if err := s.Store.Close(); err != nil {
			s.tb.Errorf("agenttest: %v", err)
		}
	})
}

// Issue issues sale under key and fails the test on an error.
func (s *Stack) Issue(key string, sale ksef.Sale) *agent.Issued {
	s.tb.Helper()
	got, err := s.Agent.Issue(context.Background(), agent.IssueRequest{Key: key, Sale: sale})
	if err != nil {
		s.tb.Fatalf("Issue(%s) = %v", key, err)
	}
	return got
}

// Get reads an invoice from the store and fails the test on an error.
func (s *Stack) Get(id string) *outbox.Invoice {
	s.tb.Helper()
	inv, err := s.Store.Get(context.Background(), id)
	if err != nil {
		s.tb.Fatalf("Get(%s) = %v", id, err)
	}
	return inv
}

// Flush waits (at least 2×MinWait) for the agent to upload everything
// queued, and fails the test with the agent's status when it cannot.
func (s *Stack) Flush(d time.Duration) {
	s.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), max(d, 2*MinWait))
	defer cancel()
	if err := s.Agent.Flush(ctx); err != nil {
		st, _ := s.Agent.Status(context.Background())
		s.tb.Fatalf("Flush = %v; status %+v", err, st)
	}
}

// Relay hands the print worker's results and journal to an agent made after
// the worker: the worker takes its OnResult and Journal when built, and the
// agent takes the worker. Call Set before the worker runs: a result before
// Set is dropped, a journal record fails.
type Relay struct {
	mu sync.Mutex // guards a
	a  *agent.Agent
}

// Set starts forwarding to a.
func (r *Relay) Set(a *agent.Agent) {
	r.mu.Lock()
	r.a = a
	r.mu.Unlock()
}

// PrintResult forwards res to the agent, if set; use it as
// printer.Options.OnResult.
func (r *Relay) PrintResult(res printer.JobResult) {
	r.mu.Lock()
	a := r.a
	r.mu.Unlock()
	if a != nil {
		a.PrintResult(res)
	}
}

// Record forwards to the agent's RecordPrint; use the Relay as
// printer.Options.Journal.
func (r *Relay) Record(ctx context.Context, printed []string, started string) error {
	r.mu.Lock()
	a := r.a
	r.mu.Unlock()
	if a == nil {
		return errors.New("agenttest: journal record before Relay.Set")
	}
	return a.RecordPrint(ctx, printed, started)
}
