package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/certmgr"
	"github.com/posagent/posagent/certstore"
	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/ksef/ksefapi"
)

// ksefLogin is how the agent logs in to KSeF.
type ksefLogin struct {
	auth   ksefapi.Credentials
	method string // "xades" or "token"
	// fallback says why a token stands in for the configured XAdES login;
	// empty when the configuration is followed.
	fallback string
}

// loginFor picks the credentials of the configuration: ksef.auth = xades
// signs with the installed Authentication certificate (an expired one too:
// its logins fail and raise the alarm, while sales go on offline). While none
// is installed, a configured KSeF token stands in, so a station upgraded to
// the new default keeps uploading until its certificate is imported; tokens
// end on 2026-12-31 and the agent alarms from then on.
func loginFor(cfg *config.Config, certs *certstore.Store) (*ksefLogin, error) {
	if cfg.KSeF.Auth == "xades" {
		var c *certstore.Cert
		err := certstore.ErrNotFound
		if certs != nil {
			c, err = certs.LoadAnyTime(certstore.Authentication)
		}
		switch {
		case err == nil:
			return &ksefLogin{auth: ksefapi.XAdESAuth{Signer: c, Certificate: c.Certificate()}, method: "xades"}, nil
		case !errors.Is(err, certstore.ErrNotFound):
			return nil, fmt.Errorf("authentication certificate: %w", err)
		}
		tok, terr := cfg.Secret(config.SecretKSeFToken)
		if terr != nil {
			return nil, fmt.Errorf("ksef.auth = xades needs a KSeF Authentication certificate: posagent cert import --usage authentication FILE (no KSeF token is configured to stand in: %w)", terr)
		}
		return &ksefLogin{auth: ksefapi.TokenAuth{Token: tok}, method: "token",
			fallback: "ksef.auth = xades, but no Authentication certificate is installed: logging in with the KSeF token, which stops working after 2026-12-31"}, nil
	}
	tok, err := cfg.Secret(config.SecretKSeFToken)
	if err != nil {
		return nil, err
	}
	return &ksefLogin{auth: ksefapi.TokenAuth{Token: tok}, method: "token"}, nil
}

// ksefClient builds the KSeF API client of the configuration; onLogin, when
// set, sees every login's outcome.
func ksefClient(cfg *config.Config, login *ksefLogin, now func() time.Time, logger *slog.Logger, onLogin func(string, error)) (*ksefapi.Client, error) {
	env, err := ksef.ParseEnvironment(cfg.KSeF.Environment)
	if err != nil {
		return nil, err
	}
	ctxValue := cfg.KSeF.ContextValue
	if ctxValue == "" {
		ctxValue = cfg.Seller.NIP
	}
	return ksefapi.New(ksefapi.Config{
		Environment:     env,
		BaseURL:         cfg.KSeF.URL,
		AvailabilityURL: availabilityURL(cfg),
		HTTPClient:      &http.Client{Timeout: cfg.KSeF.Timeout.D()},
		Context:         ksefapi.ContextIdentifier{Type: ksefapi.ContextType(cfg.KSeF.ContextType), Value: ctxValue},
		Auth:            login.auth,
		Now:             now,
		Logger:          logger.With("component", "ksef"),
		OnLogin:         onLogin,
	})
}

// certStateOf maps a certificate and its KSeF record onto the agent's view.
func certStateOf(i certstore.Info, r certstore.Record) agent.CertState {
	st := agent.CertState{Usage: i.Usage.String(), Serial: i.Serial, NotBefore: i.NotBefore, NotAfter: i.NotAfter}
	if r.Serial == i.Serial {
		st.KSeF, st.Checked = r.State, r.Checked
	}
	return st
}

// agentRelay hands callbacks made before the agent exists to it once it does
// (the KSeF client, the certificate manager and the print worker are built
// first); until then get returns nil.
type agentRelay struct {
	mu sync.Mutex // guards a
	a  *agent.Agent
}

func (r *agentRelay) set(a *agent.Agent) {
	r.mu.Lock()
	r.a = a
	r.mu.Unlock()
}

func (r *agentRelay) get() *agent.Agent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.a
}

// LoginResult forwards to the agent; use it as ksefapi.Config.OnLogin.
func (r *agentRelay) LoginResult(method string, err error) {
	if a := r.get(); a != nil {
		a.LoginResult(method, err)
	}
}

// certManager builds the manager of the station's certificates: status
// checks always, renewal with certs.auto_renew. It feeds the agent through
// relay and switches the client's credentials after an Authentication
// renewal.
func certManager(cfg *config.Config, certs *certstore.Store, client *ksefapi.Client, relay *agentRelay, now func() time.Time, logger *slog.Logger) (*certmgr.Manager, error) {
	return certmgr.New(certmgr.Options{
		Store: certs, API: client, Name: "posagent " + cfg.Terminal.ID, AutoRenew: cfg.Certs.AutoRenew,
		Now: now, Logger: logger.With("component", "certs"),
		OnInstalled: func(u certstore.Usage, c *certstore.Cert) {
			switch u {
			case certstore.Offline:
				if a := relay.get(); a != nil {
					a.SetSigner(c)
				}
			case certstore.Authentication:
				if a := relay.get(); a != nil {
					a.SetCertificate(certStateOf(c.Info(), certstore.Record{Serial: c.CertSerial(), State: certstore.StateActive}))
				}
				if client.AuthMethod() == "xades" {
					if err := client.SetCredentials(ksefapi.XAdESAuth{Signer: c, Certificate: c.Certificate()}); err != nil {
						logger.Error("use the renewed Authentication certificate", "error", err)
					}
				}
			}
		},
		OnStatus: func(s certmgr.Status) {
			if a := relay.get(); a != nil {
				a.SetCertificate(certStateOf(s.Info, s.Record))
			}
		},
	})
}

// feedCertificates tells the agent what the store knows, before KSeF is
// asked: a revocation recorded by an earlier run counts at once.
func feedCertificates(a *agent.Agent, mgr *certmgr.Manager) error {
	list, err := mgr.Statuses()
	if err != nil {
		return err
	}
	for _, s := range list {
		a.SetCertificate(certStateOf(s.Info, s.Record))
	}
	return nil
}

// runCertManager runs mgr until ctx ends; the caller waits on the returned
// channel.
func runCertManager(ctx context.Context, mgr *certmgr.Manager) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = mgr.Run(ctx)
	}()
	return done
}
