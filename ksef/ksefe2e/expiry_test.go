package ksefe2e_test

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/posagent/posagent/ksef/ksefapi"
	"github.com/posagent/posagent/ksef/ksefsim"
)

// TestExpiry: expired tokens and sessions.
func TestExpiry(t *testing.T) {
	t.Run("AccessTokenRevoked", func(t *testing.T) {
		// The server no longer takes the access token: 401, refresh, one retry.
		h, c, s := online(t)
		h.sim.ExpireTokens(false)
		mark := h.wire.mark()
		if _, err := c.SessionStatus(ctx(t), s.Reference); err != nil {
			t.Fatalf("SessionStatus after expiry: %v", err)
		}
		want := []string{"GET /v2/sessions/{referenceNumber} 401", "POST /v2/auth/token/refresh 200", "GET /v2/sessions/{referenceNumber} 200"}
		if got := trace(h.wire.since(mark)); !slices.Equal(got, want) {
			t.Errorf("exchanges %v, want %v", got, want)
		}
	})
	t.Run("StillUnauthorizedAfterRefresh", func(t *testing.T) {
		// A 401 is retried once with a fresh token, never in a loop.
		h, c, s := online(t)
		h.wire.setHook(func(ex *exchange) error {
			if ex.Op == "/sessions/{referenceNumber}" {
				ex.Status = http.StatusUnauthorized
				ex.RespBody = []byte(`{"title":"Unauthorized","status":401,"detail":"Token odrzucony.","timestamp":"2026-11-20T10:00:00Z"}`)
			}
			return nil
		})
		mark := h.wire.mark()
		_, err := c.SessionStatus(ctx(t), s.Reference)
		if !errors.Is(err, ksefapi.ErrUnauthorized) || ksefapi.Retryable(err) {
			t.Errorf("SessionStatus = %v, want a final ErrUnauthorized", err)
		}
		want := []string{"GET /v2/sessions/{referenceNumber} 401", "POST /v2/auth/token/refresh 200", "GET /v2/sessions/{referenceNumber} 401"}
		if got := trace(h.wire.since(mark)); !slices.Equal(got, want) {
			t.Errorf("exchanges %v, want %v", got, want)
		}
	})
	t.Run("RefreshTokenExpired", func(t *testing.T) {
		// Refresh is refused too: the client logs in again from scratch.
		h, _, s := online(t)
		h.sim.ExpireTokens(true)
		mark := h.wire.mark()
		if _, err := s.Send(ctx(t), invoice(t, "FV/E/1", h.clk.today(), "1.00"), ksefapi.SendOptions{}); err != nil {
			t.Fatalf("Send after token expiry: %v", err)
		}
		got := trace(h.wire.since(mark))
		for _, w := range []string{"POST /v2/sessions/online/{referenceNumber}/invoices 401", "POST /v2/auth/token/refresh 401",
			"POST /v2/auth/challenge 200", "POST /v2/auth/ksef-token 202", "POST /v2/auth/token/redeem 200", "POST /v2/sessions/online/{referenceNumber}/invoices 202"} {
			if !slices.Contains(got, w) {
				t.Errorf("exchanges %v lack %q", got, w)
			}
		}
	})
	t.Run("AccessTokenTimesOut", func(t *testing.T) {
		// Time passes beyond the access token's life: the client refreshes
		// before the call instead of collecting a 401.
		h := start(t, ksefsim.Options{DisableRateLimits: true, AccessTokenTTL: 5 * time.Minute})
		c := h.tokenClient()
		s := openOnline(t, c)
		h.clk.Advance(6 * time.Minute)
		mark := h.wire.mark()
		if _, err := c.SessionStatus(ctx(t), s.Reference); err != nil {
			t.Fatalf("SessionStatus: %v", err)
		}
		want := []string{"POST /v2/auth/token/refresh 200", "GET /v2/sessions/{referenceNumber} 200"}
		if got := trace(h.wire.since(mark)); !slices.Equal(got, want) {
			t.Errorf("exchanges %v, want %v", got, want)
		}
	})
	t.Run("SessionExpired", func(t *testing.T) {
		// An expired session refuses invoices with 21180; that is not worth a
		// retry, a new session is.
		h, c, s := online(t)
		send(t, s, invoice(t, "FV/S/1", h.clk.today(), "1.00"))
		h.sim.ExpireSessions()
		xml := invoice(t, "FV/S/2", h.clk.today(), "2.00")
		_, err := s.Send(ctx(t), xml, ksefapi.SendOptions{})
		ae := asAPIError(t, err)
		if ae.Status != http.StatusBadRequest || !ae.HasCode(21180) || ae.Retryable() {
			t.Fatalf("Send into an expired session: %v, want a non-retryable 400 [21180]", err)
		}
		// The expired session closed itself with what it had.
		st, err := c.WaitSession(ctx(t), s.Reference)
		if err != nil || deref(st.SuccessfulInvoiceCount) != 1 {
			t.Errorf("expired session status %+v, %v; want processed with 1 invoice", st, err)
		}
		s2 := openOnline(t, c)
		sendAccepted(t, c, s2, xml, "send in a new session")
	})
}

// trace renders exchanges as "METHOD template status".
func trace(exs []exchange) []string {
	var out []string
	for _, ex := range exs {
		p := ex.Path
		if ex.Op != "" {
			p = "/v2" + ex.Op
		}
		out = append(out, fmt.Sprintf("%s %s %d", ex.Method, p, ex.Status))
	}
	return out
}

// TestRestart: the agent restarts with an open session. The session key died
// with the process, so a new client (with the tokens it saved) opens a new
// session; the abandoned one closes itself when its validUntil passes and its
// invoice stays readable, UPO included.
func TestRestart(t *testing.T) {
	h := start(t, ksefsim.Options{DisableRateLimits: true})
	c1 := h.tokenClient()
	tok, err := c1.Authenticate(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	s1 := openOnline(t, c1)
	ref1 := send(t, s1, invoice(t, "FV/RS/1", h.clk.today(), "1.00"))

	c2 := h.tokenClient()
	c2.SetTokens(*tok)
	mark := h.wire.mark()
	if _, err := c2.SendInvoice(ctx(t), s1, invoice(t, "FV/RS/x", h.clk.today(), "9.00"), ksefapi.SendOptions{}); !errors.Is(err, ksefapi.ErrInvalidInput) {
		t.Errorf("sending into another client's session = %v, want ErrInvalidInput", err)
	}
	s2 := openOnline(t, c2)
	for _, ex := range h.wire.since(mark) {
		if ex.Path == "/v2/auth/challenge" {
			t.Errorf("restarted client logged in again despite saved tokens")
		}
	}
	send(t, s2, invoice(t, "FV/RS/2", h.clk.today(), "2.00"))
	if st, err := c2.SessionStatus(ctx(t), s1.Reference); err != nil || st.Status.Code != ksefapi.SessionOpen {
		t.Fatalf("abandoned session before expiry: %+v, %v; want open", st, err)
	}

	h.clk.Advance(13 * time.Hour) // past the 12 h session life
	st, err := c2.WaitSession(ctx(t), s1.Reference)
	if err != nil || deref(st.SuccessfulInvoiceCount) != 1 || st.UPO == nil {
		t.Fatalf("abandoned session after expiry: %+v, %v; want processed with 1 invoice and a UPO", st, err)
	}
	inv := waitInvoice(t, c2, s1.Reference, ref1)
	if inv.Code() != ksefapi.InvoiceSuccess {
		t.Fatalf("invoice of the abandoned session: %d", inv.Code())
	}
	if _, _, err := c2.InvoiceUPO(ctx(t), s1.Reference, ref1); err != nil {
		t.Errorf("InvoiceUPO: %v", err)
	}
}
