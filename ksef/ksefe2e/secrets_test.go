package ksefe2e_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/posagent/posagent/internal/testutil"
	"github.com/posagent/posagent/ksef/ksefapi"
	"github.com/posagent/posagent/ksef/ksefsim"
	"github.com/posagent/posagent/ksef/ksefsim/ksefsimtest"
)

// TestNoSecretsInLogsOrErrors runs logins, refreshes, re-logins and failures
// with both sides logging at debug level, and checks that no KSeF token and
// no bearer token that crossed the wire shows up in a log line or an error.
func TestNoSecretsInLogsOrErrors(t *testing.T) {
	var logs testutil.SyncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := start(t, ksefsim.Options{DisableRateLimits: true, Logger: logger})
	c := h.client(ksefapi.TokenAuth{Token: ksefsimtest.Token}, func(cfg *ksefapi.Config) { cfg.Logger = logger })
	var errs []error
	s := openOnline(t, c)
	h.sim.ExpireTokens(false)
	_, err := c.SessionStatus(ctx(t), s.Reference)
	errs = append(errs, err)
	h.sim.ExpireTokens(true)
	_, err = s.Send(ctx(t), invoice(t, "FV/SEC/1", h.clk.today(), "1.00"), ksefapi.SendOptions{})
	errs = append(errs, err)
	_, err = c.InvoiceStatus(ctx(t), s.Reference, "20261120-EE-0000000000-0000000000-00")
	errs = append(errs, err)
	bad := h.client(ksefapi.TokenAuth{Token: "wrong-" + ksefsimtest.Token}, func(cfg *ksefapi.Config) { cfg.Logger = logger })
	_, err = bad.Authenticate(ctx(t))
	errs = append(errs, err)
	errs = append(errs, fmt.Errorf("%v %+v %#v", ksefapi.TokenAuth{Token: ksefsimtest.Token}, ksefapi.TokenAuth{Token: ksefsimtest.Token}, ksefapi.TokenAuth{Token: ksefsimtest.Token}))

	secrets := []string{ksefsimtest.Token}
	for _, ex := range h.wire.exchanges() {
		var body struct {
			AuthenticationToken ksefapi.Token `json:"authenticationToken"`
			AccessToken         ksefapi.Token `json:"accessToken"`
			RefreshToken        ksefapi.Token `json:"refreshToken"`
		}
		if json.Unmarshal(ex.RespBody, &body) == nil {
			for _, tok := range []string{body.AuthenticationToken.Token, body.AccessToken.Token, body.RefreshToken.Token} {
				if tok != "" {
					secrets = append(secrets, tok)
				}
			}
		}
	}
	if len(secrets) < 6 {
		t.Fatalf("found only %d secrets on the wire; the run did not log in, refresh and log in again", len(secrets))
	}
	text := logs.String()
	if !strings.Contains(text, "ksef") {
		t.Fatalf("nothing was logged; the check proves nothing")
	}
	for _, e := range errs {
		if e != nil {
			text += "\n" + e.Error()
		}
	}
	for i, sec := range secrets {
		if strings.Contains(text, sec) {
			t.Errorf("secret #%d (%d chars) appears in logs or errors", i, len(sec))
		}
	}
}
