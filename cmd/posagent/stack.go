package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/internal/metrics"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/ksef/ksefapi"
	"github.com/posagent/posagent/outbox"
	"github.com/posagent/posagent/printer"
	"github.com/posagent/posagent/receipt"
	"github.com/posagent/posagent/till"
	"github.com/posagent/posagent/till/tillagent"
)

// stackConfig is everything the running agent is built from. run fills it
// from the configuration; demo from its own loopback pieces.
type stackConfig struct {
	cfg     *config.Config
	store   *outbox.Store
	signer  ksef.Signer // the Offline certificate
	ksef    *ksefapi.Client
	feed    agent.Availability // nil: no availability feed
	open    printer.Opener
	popts   printer.Options
	logger  *slog.Logger
	metrics *metrics.Registry
	now     func() time.Time
	// authMethod is how the client logs in ("token" or "xades").
	authMethod string
	// relay, when set, is pointed at the agent once it exists.
	relay *agentRelay

	// listener, when set, is served instead of cfg.Till.Listen.
	listener  net.Listener
	tillToken string

	// metricsToken is [metrics] token_file's; the listener is cfg.Metrics.Listen.
	metricsToken string
	// wrapPrinter, when set, wraps the print worker (the demo records jobs).
	wrapPrinter func(agent.Printer) agent.Printer
	// agentMod adjusts the agent options (the demo shortens intervals).
	agentMod func(*agent.Options)
}

// stack is the running agent: print worker, core and till API.
type stack struct {
	agent  *agent.Agent
	worker *printer.Worker
	till   *till.Server
	scrape *till.MetricsServer // the [metrics] listener; nil unless listen is set
	sc     stackConfig
}

// agentOptions maps the configuration onto the agent's options.
func agentOptions(cfg *config.Config) (agent.Options, error) {
	env, err := ksef.ParseEnvironment(cfg.KSeF.Environment)
	if err != nil {
		return agent.Options{}, err
	}
	prof, err := profileFor(cfg.Printer)
	if err != nil {
		return agent.Options{}, err
	}
	conv := func(ds []config.Date) []ksef.Date {
		out := make([]ksef.Date, 0, len(ds))
		for _, d := range ds {
			out = append(out, ksef.NewDate(d.Year, d.Month, d.Day))
		}
		return out
	}
	cal, err := ksef.NewCalendar(conv(cfg.Calendar.Add), conv(cfg.Calendar.Remove))
	if err != nil {
		return agent.Options{}, fmt.Errorf("calendar: %w", err)
	}
	qr := receipt.QRAuto
	switch cfg.Printer.QR {
	case "native":
		qr = receipt.QRNative
	case "raster":
		qr = receipt.QRRaster
	}
	return agent.Options{
		Seller: ksef.Seller{NIP: cfg.Seller.NIP, Name: cfg.Seller.Name,
			Address:        ksef.Address{Country: cfg.Seller.Country, Line1: cfg.Seller.AddressLine1, Line2: cfg.Seller.AddressLine2},
			CashAccounting: cfg.Seller.CashAccounting, MarginScheme: cfg.Seller.MarginScheme},
		Terminal:           cfg.Terminal.ID,
		Series:             outbox.Series{Terminal: cfg.Terminal.ID, Format: cfg.Terminal.Numbering, Reset: outbox.Reset(cfg.Terminal.Reset)},
		Place:              cfg.Terminal.Place,
		Environment:        env,
		ContextType:        cfg.KSeF.ContextType,
		ContextValue:       cfg.KSeF.ContextValue,
		Policy:             agent.Policy(cfg.Policy.Mode),
		OnlineBudget:       cfg.Policy.OnlineBudget.D(),
		B2BOffline:         agent.B2BPolicy(cfg.Policy.B2BOffline),
		PrintOnAcceptance:  cfg.Printer.PrintOnAcceptance,
		UploadTotalFailure: cfg.Policy.UploadTotalFailure,
		BatchThreshold:     cfg.Policy.BatchThreshold,
		UploadInterval:     cfg.Policy.UploadInterval.D(),
		ReprintWindow:      cfg.Printer.ReprintWindow.D(),
		Calendar:           cal,
		Profile:            prof,
		QR:                 qr,
		Paper:              cfg.Printer.Paper,
		SystemInfo:         "posagent " + Version,
	}, nil
}

// newStack builds the worker, the agent and the till server.
func newStack(sc stackConfig) (*stack, error) {
	opts, err := agentOptions(sc.cfg)
	if err != nil {
		return nil, err
	}
	opts.Logger = sc.logger.With("component", "agent")
	opts.Metrics = sc.metrics
	registerStackMetrics(sc.metrics, sc.ksef)
	if sc.now == nil {
		sc.now = time.Now
	}
	opts.Now = sc.now
	opts.AuthMethod = sc.authMethod
	if sc.agentMod != nil {
		sc.agentMod(&opts)
	}
	s := &stack{sc: sc}
	// The worker reports to the agent, which needs the worker: the relay is
	// set before the worker runs.
	relay := sc.relay
	if relay == nil {
		relay = &agentRelay{}
	}
	popts := sc.popts
	popts.OnResult = func(r printer.JobResult) {
		if a := relay.get(); a != nil {
			a.PrintResult(r)
		}
	}
	// The worker journals each receipt's start and printed mark in the store.
	popts.Journal = printer.JournalFunc(func(ctx context.Context, printed []string, started string) error {
		a := relay.get()
		if a == nil {
			return errors.New("print journal used before the agent was made")
		}
		return a.RecordPrint(ctx, printed, started)
	})
	s.worker, err = printer.NewWorker(sc.open, &popts, sc.logger.With("component", "printer"))
	if err != nil {
		return nil, err
	}
	var prn agent.Printer = s.worker
	if sc.wrapPrinter != nil {
		prn = sc.wrapPrinter(prn)
	}
	deps := agent.Deps{Store: sc.store, KSeF: sc.ksef, Printer: prn, Signer: sc.signer}
	if sc.feed != nil {
		deps.Feed = sc.feed
	}
	a, err := agent.New(opts, deps)
	if err != nil {
		return nil, err
	}
	s.agent = a
	relay.set(a)
	s.till, err = till.New(tillagent.New(a, tillagent.Options{Environment: sc.cfg.KSeF.Environment, Now: opts.Now}),
		till.Options{Listen: sc.cfg.Till.Listen, Token: sc.tillToken, MaxBody: int64(sc.cfg.Till.MaxBody),
			Metrics: sc.metrics, Logger: sc.logger.With("component", "till"), Now: opts.Now})
	if err != nil {
		return nil, err
	}
	if s.scrape, err = metricsServer(sc); err != nil {
		return nil, err
	}
	return s, nil
}

// Run runs the worker, the agent and the till API until ctx ends or one of
// them fails, then stops all three and waits for them. The till stops first
// (answering a sale in flight), then the agent, then the worker.
func (s *stack) Run(ctx context.Context) error {
	tillCtx, stopTill := context.WithCancel(ctx)
	agentCtx, stopAgent := context.WithCancel(context.Background())
	workerCtx, stopWorker := context.WithCancel(context.Background())
	defer stopTill()
	defer stopAgent()
	defer stopWorker()

	errc := make(chan error, 2)
	workerDone, agentDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(workerDone)
		if err := s.worker.Run(workerCtx); err != nil && !errors.Is(err, context.Canceled) {
			errc <- fmt.Errorf("print worker: %w", err)
		}
	}()
	go func() {
		defer close(agentDone)
		if err := s.agent.Run(agentCtx); err != nil && !errors.Is(err, context.Canceled) {
			errc <- fmt.Errorf("agent: %w", err)
		}
	}()
	tillDone := make(chan error, 1)
	go func() {
		if s.sc.listener != nil {
			tillDone <- s.till.Serve(tillCtx, s.sc.listener)
			return
		}
		tillDone <- s.till.ListenAndServe(tillCtx)
	}()

	metricsDone := s.runMetrics(tillCtx)
	defer func() { <-metricsDone }()

	var first error
	tillErr, tillEnded := error(nil), false
	select {
	case <-ctx.Done():
	case first = <-errc:
	case tillErr = <-tillDone:
		tillEnded = true
		first = errors.New("till API stopped")
		if tillErr != nil {
			first = fmt.Errorf("till API: %w", tillErr)
		}
	}
	stopTill()
	if !tillEnded {
		if err := <-tillDone; err != nil && first == nil {
			first = fmt.Errorf("till API: %w", err)
		}
	}
	// The agent may still hand jobs to the worker: stop it first.
	stopAgent()
	<-agentDone
	stopWorker()
	<-workerDone
	return first
}
