package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/kardianos/service"

	"github.com/posagent/posagent/certstore"
	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/internal/logx"
	"github.com/posagent/posagent/internal/metrics"
	"github.com/posagent/posagent/outbox"
)

func runRun(ctx context.Context, m *Main, args []string) error {
	f := m.newFlags("run", "[--config FILE] [--date YYYY-MM-DD[THH:MM]]",
		"Runs the service in the foreground: the till API, the print worker and the KSeF\n"+
			"uploads. systemd starts it this way (posagent install); Ctrl-C or SIGTERM stops it,\n"+
			"letting a sale in flight finish and closing the store cleanly. --date rehearses\n"+
			"another day against a KSeF simulator on loopback (never a real KSeF).").withConfig().withDate()
	_, cfg, err := f.parseConfig(args, 0)
	if err != nil {
		return err
	}
	if f.date != "" {
		if err := requireLoopbackKSeF(cfg); err != nil {
			return err
		}
	}
	logger := logx.New(m.Stderr, logx.Options{Level: cfg.Log.Level, Format: cfg.Log.Format, Getenv: m.Getenv, Now: m.Now})
	prg := newProgram(func(ctx context.Context) error { return serve(ctx, m, cfg, f.config, logger) }, logger)
	sc := serviceConfig(defaultBinary(), f.config, "posagent")
	sc.Option["RunWait"] = func() {
		select {
		case <-ctx.Done():
		case <-prg.Done():
		}
	}
	svc, err := service.New(prg, sc)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	// main prints the error; logging it too would write it twice to the journal.
	if err := svc.Run(); err != nil {
		return err
	}
	return prg.result()
}

// serve is the service body: it opens the store, the certificates, the KSeF
// client and the printer, and runs the agent until ctx ends. The store is
// closed (and its last transaction synced) before it returns.
func serve(ctx context.Context, m *Main, cfg *config.Config, configPath string, logger *slog.Logger) error {
	paths := pathsFor(cfg, configPath)
	logger.Info("posagent starting", "version", Version, "config", configPath, "store", paths.store, "printer", cfg.Printer.Port)
	for _, d := range cfg.Deprecations() {
		logger.Warn("deprecated configuration", "config", configPath, "detail", d)
	}
	if err := os.MkdirAll(paths.dir, 0o750); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	applyMemoryLimit(m.getenv, logger)
	certs, err := m.openCerts(cfg, configPath, false)
	if err != nil {
		return fmt.Errorf("%w (import the Offline certificate: posagent cert import FILE)", err)
	}
	// A passphrase store's argon2id buffer (64 MiB) is garbage now.
	releaseMemory()
	// An expired Offline certificate still loads: the agent keeps issuing
	// online (and in total failure) and refuses offline sales with 422
	// offline_certificate_invalid, rather than stopping every sale.
	offline, err := certs.LoadAnyTime(certstore.Offline)
	if err != nil {
		return fmt.Errorf("offline certificate: %w", err)
	}
	login, err := loginFor(cfg, certs)
	if err != nil {
		return err
	}
	if login.fallback != "" {
		logger.Warn(login.fallback, "fix", "posagent cert import --usage authentication FILE")
	}
	relay := &agentRelay{}
	client, err := ksefClient(cfg, login, m.Now, logger, relay.LoginResult)
	if err != nil {
		return err
	}
	mgr, err := certManager(cfg, certs, client, relay, m.now, logger)
	if err != nil {
		return err
	}
	open, spec, err := opener(cfg.Printer)
	if err != nil {
		return err
	}
	store, err := openStore(ctx, paths.store, &outbox.Options{
		MaxSize:   int64(cfg.Store.CapMB) << 20,
		Retention: time.Duration(cfg.Store.RetentionDays) * 24 * time.Hour,
		Logger:    logger.With("component", "outbox"),
		Now:       m.Now,
	}, logger)
	if err != nil {
		return err
	}
	defer func() {
		if err := store.Close(); err != nil {
			logger.Error("close the store", "error", err)
		}
	}()
	archCtx, stopArchive := context.WithCancel(ctx)
	archDone := make(chan struct{})
	go func() {
		defer close(archDone)
		archiveLoop(archCtx, store, archiveEvery, logger.With("component", "outbox"))
	}()
	defer func() { stopArchive(); <-archDone }()
	tok, err := cfg.Secret(config.SecretTillToken)
	if err != nil && !errors.Is(err, config.ErrNoSecret) {
		return err
	}
	mtok, err := cfg.Secret(config.SecretMetricsToken)
	if err != nil && !errors.Is(err, config.ErrNoSecret) {
		return err
	}
	sc := stackConfig{
		cfg: cfg, store: store, signer: offline, ksef: client, open: open, popts: spec.opts,
		logger: logger, metrics: metrics.NewRegistry(), now: m.Now, tillToken: tok, metricsToken: mtok,
		authMethod: login.method, relay: relay,
	}
	if availabilityURL(cfg) != "" {
		sc.feed = client
	}
	st, err := newStack(sc)
	if err != nil {
		return err
	}
	if err := feedCertificates(st.agent, mgr); err != nil {
		return err
	}
	mgrCtx, stopMgr := context.WithCancel(ctx)
	mgrDone := runCertManager(mgrCtx, mgr)
	defer func() { stopMgr(); <-mgrDone }()
	logger.Info("posagent ready", "till", cfg.Till.Listen, "ksef_auth", login.method)
	err = st.Run(ctx)
	logger.Info("posagent stopped", "error", err)
	return err
}
