package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"

	"github.com/posagent/posagent/internal/logx"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/ksef/ksefsim"
)

func runKSeFSim(ctx context.Context, m *Main, args []string) error {
	f := m.newFlags("ksefsim", "[--listen ADDR] [--nip NIP] [--state FILE] [--date YYYY-MM-DD[THH:MM]]",
		"Runs the KSeF API v2 simulator (real crypto, rate limits, faults) until interrupted.\n"+
			"Point [ksef] url at the printed URL + \"/v2\" and availability_url at URL + \"/latarnia\".\n"+
			"The KSeF token is taken from POSAGENT_KSEF_TOKEN, or made up and printed.\n"+
			"Its /admin endpoints are unauthenticated, so it listens on loopback only\n"+
			"unless --allow-remote is given. --date runs its clock from another day, for a\n"+
			"rehearsal with posagent run --date.").withDate()
	listen := f.String("listen", "127.0.0.1:8443", "`address` to listen on (host:port)")
	nip := f.String("nip", "5265877635", "context `NIP` the token logs into")
	state := f.String("state", "", "state `file` kept across restarts (mode 0600)")
	scale := f.Float64("time-scale", 1, "divide the rate-limit windows by this `factor`")
	delay := f.Duration("processing-delay", 0, "report operations in progress for this `long`")
	remote := f.Bool("allow-remote", false, "allow a non-loopback --listen address")
	if _, err := f.parseN(args, 0); err != nil {
		return err
	}
	if err := checkLoopback(*listen, *remote); err != nil {
		return err
	}
	if !ksef.ValidNIP(*nip) {
		return usagef("--nip: %q is not a valid NIP", *nip)
	}
	token := m.getenv("POSAGENT_KSEF_TOKEN")
	generated := token == ""
	if generated {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return err
		}
		token = "sim-" + hex.EncodeToString(b[:])
	}
	logger := logx.New(m.Stderr, logx.Options{Getenv: m.Getenv, Now: m.Now})
	sim, err := ksefsim.New(&ksefsim.Options{
		Tokens: map[string]string{token: *nip}, StateFile: *state,
		TimeScale: *scale, ProcessingDelay: *delay, Logger: logger.With("component", "ksefsim"), Now: m.Now,
	})
	if err != nil {
		return fmt.Errorf("ksefsim: %w", err)
	}
	if err := sim.Start(ctx, *listen); err != nil {
		return fmt.Errorf("ksefsim: listen on %s: %w", *listen, err)
	}
	fmt.Fprintf(m.Stdout, "KSeF simulator on %s\n  [ksef] url = %q\n  availability_url = %q\n", sim.URL(), sim.URL()+"/v2", sim.URL()+"/latarnia")
	if generated {
		fmt.Fprintf(m.Stdout, "  KSeF token for NIP %s (simulator only): %s\n", *nip, token)
	}
	<-ctx.Done()
	// Close waits for the requests in flight and saves --state.
	if err := sim.Close(); err != nil {
		return fmt.Errorf("ksefsim: close: %w", err)
	}
	return nil
}

// checkLoopback refuses a listen address that is not loopback unless allowed.
func checkLoopback(addr string, allow bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return usagef("--listen %q: %v", addr, err)
	}
	if !allow && !loopbackHost(host) {
		return usagef("--listen %q is not a loopback address (the simulator's /admin is unauthenticated); add --allow-remote to insist", addr)
	}
	return nil
}
