package ksefe2e_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/posagent/posagent/ksef/ksefapi"
	"github.com/posagent/posagent/ksef/ksefsim"
	"github.com/posagent/posagent/ksef/ksefsim/ksefsimtest"
)

// TestConcurrentCallers: several goroutines share one client and one session
// (as the agent's sender and status poller do). When the token goes stale they
// share one refresh or one login instead of each starting its own.
func TestConcurrentCallers(t *testing.T) {
	const workers = 8
	tests := []struct {
		name   string
		stale  func(h *harness)
		op     string // the one exchange the goroutines must share
		others []string
	}{
		{"AccessTokenRevoked", func(h *harness) { h.sim.ExpireTokens(false) }, "/v2/auth/token/refresh", []string{"/v2/auth/challenge"}},
		{"AccessTokenTimedOut", func(h *harness) { h.clk.Advance(20 * time.Minute) }, "/v2/auth/token/refresh", []string{"/v2/auth/challenge"}},
		{"AllTokensRevoked", func(h *harness) { h.sim.ExpireTokens(true) }, "/v2/auth/challenge", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, c, s := online(t)
			xmls := make([][]byte, workers)
			for i := range workers {
				xmls[i] = invoice(t, fmt.Sprintf("FV/P/%s/%d", tt.name, i), h.clk.today(), price(i))
			}
			sendCtx := ctx(t)
			tt.stale(h)
			mark := h.wire.mark()
			refs := make([]string, workers)
			errs := make([]error, workers)
			var wg sync.WaitGroup
			for i := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					refs[i], errs[i] = s.Send(sendCtx, xmls[i], ksefapi.SendOptions{})
				}()
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatalf("concurrent sends: %v", err)
			}
			n, others := 0, 0
			for _, ex := range h.wire.since(mark) {
				switch {
				case ex.Path == tt.op:
					n++
				case contains(tt.others, ex.Path):
					others++
				}
			}
			if n != 1 || others != 0 {
				t.Errorf("%d × %s and %d × %v for %d concurrent callers, want exactly one %s", n, tt.op, others, tt.others, workers, tt.op)
			}
			seen := map[string]bool{}
			for i, ref := range refs {
				if seen[ref] {
					t.Errorf("worker %d: reference %s repeated", i, ref)
				}
				seen[ref] = true
				if st := waitInvoice(t, c, s.Reference, ref); st.Code() != ksefapi.InvoiceSuccess {
					t.Errorf("worker %d: status %d %v", i, st.Code(), st.Status.Details)
				}
			}
		})
	}
}

// TestSessionFull: past the session's invoice limit KSeF answers 21155, which
// the client maps to ErrSessionFull; a new session takes the invoice.
func TestSessionFull(t *testing.T) {
	h := start(t, ksefsim.Options{DisableRateLimits: true, SessionInvoiceLimit: 2})
	c := h.tokenClient()
	s := openOnline(t, c)
	for i := 1; i <= 2; i++ {
		send(t, s, invoice(t, fmt.Sprintf("FV/F/%d", i), h.clk.today(), price(i)))
	}
	third := invoice(t, "FV/F/3", h.clk.today(), price(3))
	_, err := s.Send(ctx(t), third, ksefapi.SendOptions{})
	if !errors.Is(err, ksefapi.ErrSessionFull) || ksefapi.Retryable(err) {
		t.Fatalf("third send = %v (retryable %v), want ErrSessionFull, not retryable", err, ksefapi.Retryable(err))
	}
	s2 := openOnline(t, c)
	sendAccepted(t, c, s2, third, "send in a new session")
}

// TestAvailability reads the simulator's Latarnia feed through the client.
func TestAvailability(t *testing.T) {
	h := start(t, ksefsim.Options{})
	c := h.client(ksefapi.TokenAuth{Token: ksefsimtest.Token}, func(cfg *ksefapi.Config) { cfg.AvailabilityURL = h.sim.Latarnia })
	tests := []struct {
		status string
		want   ksefapi.AvailabilityStatus
		msgs   int
	}{
		{ksefsim.StatusAvailable, ksefapi.Available, 0},
		{ksefsim.StatusFailure, ksefapi.Failure, 1},
		{ksefsim.StatusMaintenance, ksefapi.Maintenance, 2},
		{ksefsim.StatusAvailable, ksefapi.Available, 0},
	}
	for _, tt := range tests {
		if err := h.sim.SetAvailability(tt.status, "Awaria testowa"); err != nil {
			t.Fatal(err)
		}
		a, err := c.Availability(ctx(t))
		if err != nil {
			t.Fatalf("Availability after %s: %v", tt.status, err)
		}
		if a.Status != tt.want || len(a.Messages) != tt.msgs {
			t.Errorf("after %s: %s with %d messages, want %s with %d", tt.status, a.Status, len(a.Messages), tt.want, tt.msgs)
		}
		if tt.msgs > 0 && a.Messages[0].Text != "Awaria testowa" {
			t.Errorf("message %+v", a.Messages[0])
		}
	}
}
