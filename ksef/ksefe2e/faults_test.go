package ksefe2e_test

import (
	"bytes"
	"errors"
	"fmt"
	"iter"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/ksef/ksefapi"
	"github.com/posagent/posagent/ksef/ksefsim"
	"github.com/posagent/posagent/ksef/ksefsim/ksefsimtest"
)

// rejectedKey checks that the exchanges show path answered 400 / 21470, then
// a fresh key list, then path answered with okStatus: the client met a retired
// key, refetched the list and retried once.
func rejectedKey(t *testing.T, exs []exchange, path string, okStatus int) {
	t.Helper()
	var got []string
	for _, ex := range exs {
		switch {
		case ex.Path == path:
			got = append(got, fmt.Sprintf("%d%v", ex.Status, ex.codes()))
		case ex.Path == "/v2/security/public-key-certificates":
			got = append(got, "keys")
		}
	}
	want := []string{"400[21470]", "keys", fmt.Sprintf("%d[]", okStatus)}
	if !slices.Equal(got, want) {
		t.Errorf("%s exchanges %v, want %v", path, got, want)
	}
}

// TestKeyRotation rotates the MF keys in the middle of a run: an open session
// keeps working (its key is already unwrapped), and every call that names the
// retired key gets 21470, refetches the key list and succeeds on its one retry.
func TestKeyRotation(t *testing.T) {
	h, c, s := online(t)
	send(t, s, invoice(t, "FV/R/1", h.clk.today(), "1.00"))
	if err := h.sim.RotateKeys(); err != nil {
		t.Fatal(err)
	}

	t.Run("OpenSessionKeepsWorking", func(t *testing.T) {
		sendAccepted(t, c, s, invoice(t, "FV/R/2", h.clk.today(), "2.00"), "send after rotation")
	})
	t.Run("OpenOnline", func(t *testing.T) {
		mark := h.wire.mark()
		s2, err := c.OpenOnline(ctx(t))
		if err != nil {
			t.Fatalf("OpenOnline after rotation: %v", err)
		}
		rejectedKey(t, h.wire.since(mark), "/v2/sessions/online", http.StatusCreated)
		sendAccepted(t, c, s2, invoice(t, "FV/R/3", h.clk.today(), "3.00"), "send in a session opened after rotation (its key wrapped with the new MF key)")
	})
	t.Run("TokenLogin", func(t *testing.T) {
		if err := h.sim.RotateKeys(); err != nil {
			t.Fatal(err)
		}
		mark := h.wire.mark()
		if _, err := c.Authenticate(ctx(t)); err != nil {
			t.Fatalf("Authenticate after rotation: %v", err)
		}
		rejectedKey(t, h.wire.since(mark), "/v2/auth/ksef-token", http.StatusAccepted)
	})
	t.Run("Batch", func(t *testing.T) {
		if err := h.sim.RotateKeys(); err != nil {
			t.Fatal(err)
		}
		mark := h.wire.mark()
		xml := invoice(t, "FV/R/4", h.clk.today(), "4.00")
		res, err := c.SendBatch(ctx(t), one("FV-R-4.xml", xml), ksefapi.BatchOptions{TempDir: t.TempDir()})
		if err != nil {
			t.Fatalf("SendBatch after rotation: %v", err)
		}
		rejectedKey(t, h.wire.since(mark), "/v2/sessions/batch", http.StatusCreated)
		if deref(res.Status.SuccessfulInvoiceCount) != 1 {
			t.Errorf("batch status %+v, want one success", res.Status.Status)
		}
	})
	t.Run("RetriesOnlyOnce", func(t *testing.T) {
		// Keys that rotate again between the refetch and the retry: exactly
		// one retry, then the error.
		if err := h.sim.RotateKeys(); err != nil {
			t.Fatal(err)
		}
		defer h.wire.setHook(nil)
		h.wire.setHook(func(ex *exchange) error {
			if ex.Path == "/v2/security/public-key-certificates" {
				if err := h.sim.RotateKeys(); err != nil {
					t.Error(err)
				}
			}
			return nil
		})
		mark := h.wire.mark()
		_, err := c.OpenOnline(ctx(t))
		if !errors.Is(err, ksefapi.ErrUnknownPublicKey) {
			t.Fatalf("OpenOnline = %v, want ErrUnknownPublicKey", err)
		}
		opens := 0
		for _, ex := range h.wire.since(mark) {
			if ex.Path == "/v2/sessions/online" {
				opens++
			}
		}
		if opens != 2 {
			t.Errorf("%d session opens, want 2 (one retry)", opens)
		}
	})
}

func one(name string, xml []byte) iter.Seq2[string, []byte] {
	return func(yield func(string, []byte) bool) { yield(name, xml) }
}

// TestRateLimit hits the invoice-send limit with a compressed time scale: the
// client returns a retryable APIError carrying Retry-After, and after waiting
// that long the same request goes through.
func TestRateLimit(t *testing.T) {
	// 60×: the 30-per-minute window lasts one second.
	h := start(t, ksefsim.Options{TimeScale: 60})
	c := h.tokenClient()
	s := openOnline(t, c)
	var limited *ksefapi.APIError
	var pending []byte
	sentOK := 0
	for i := 1; i <= 100 && limited == nil; i++ {
		xml := invoice(t, fmt.Sprintf("FV/L/%d", i), h.clk.today(), price(i))
		_, err := s.Send(ctx(t), xml, ksefapi.SendOptions{})
		switch {
		case err == nil:
			sentOK++
		default:
			limited, pending = asAPIError(t, err), xml
		}
	}
	if limited == nil {
		t.Fatalf("100 sends at full speed were never rate limited")
	}
	if limited.Status != http.StatusTooManyRequests || !limited.Retryable() || !ksefapi.Retryable(limited) {
		t.Fatalf("limit error %v: status %d retryable %v, want a retryable 429", limited, limited.Status, limited.Retryable())
	}
	if limited.RetryAfter < time.Second || limited.RetryAfter > 5*time.Second {
		t.Fatalf("RetryAfter %v, want 1s..5s at this time scale", limited.RetryAfter)
	}
	if len(limited.Details) == 0 {
		t.Errorf("429 without details")
	}
	t.Logf("limited after %d sends: %v", sentOK, limited)
	before := len(h.sim.Invoices())
	time.Sleep(limited.RetryAfter)
	sendAccepted(t, c, s, pending, "send after waiting Retry-After")
	if got := len(h.sim.Invoices()); got != before+1 {
		t.Errorf("simulator holds %d invoices, want %d: the refused request must not have been stored", got, before+1)
	}
}

// TestHTML502: a proxy's HTML error page is a retryable APIError, and the
// status poller rides through it.
func TestHTML502(t *testing.T) {
	h, c, s := online(t)
	xml := invoice(t, "FV/502", h.clk.today(), "1.00")
	h.inject(ksefsim.Fault{Kind: ksefsim.FaultHTML502, Count: 1, PathPrefix: "/v2/sessions/online/" + s.Reference + "/invoices"})
	_, err := s.Send(ctx(t), xml, ksefapi.SendOptions{})
	ae := asAPIError(t, err)
	if ae.Status != http.StatusBadGateway || !ae.Retryable() || ae.Err == nil || ae.Description != "Bad Gateway" {
		t.Errorf("502 error %v: status %d retryable %v err %v", ae, ae.Status, ae.Retryable(), ae.Err)
	}
	if strings.Contains(ae.Error(), "<html") {
		t.Errorf("error quotes the HTML page: %v", ae)
	}
	ref, err := s.Send(ctx(t), xml, ksefapi.SendOptions{})
	if err != nil {
		t.Fatalf("Send after the 502: %v", err)
	}
	if err := s.Close(ctx(t)); err != nil {
		t.Fatal(err)
	}
	// Two 502s on the status endpoint: WaitSession polls through them.
	h.inject(ksefsim.Fault{Kind: ksefsim.FaultHTML502, Count: 2, PathPrefix: "/v2/sessions/" + s.Reference})
	mark := h.wire.mark()
	st, err := c.WaitSession(ctx(t), s.Reference)
	if err != nil || st.Status.Code != ksefapi.SessionDone {
		t.Fatalf("WaitSession through 502s = %v, %v", st, err)
	}
	n502 := 0
	for _, ex := range h.wire.since(mark) {
		if ex.Status == http.StatusBadGateway {
			n502++
		}
	}
	if n502 != 2 {
		t.Errorf("WaitSession saw %d 502s, want 2", n502)
	}
	if got := waitInvoice(t, c, s.Reference, ref); got.Code() != ksefapi.InvoiceSuccess {
		t.Errorf("invoice status %d", got.Code())
	}
}

// TestTimeout: a simulator slower than the client's HTTP timeout gives a
// retryable transport error; the next request succeeds.
func TestTimeout(t *testing.T) {
	h := start(t, ksefsim.Options{DisableRateLimits: true})
	c := h.client(ksefapi.TokenAuth{Token: ksefsimtest.Token}, func(cfg *ksefapi.Config) {
		cfg.HTTPClient = &http.Client{Timeout: 500 * time.Millisecond, Transport: h.wire}
	})
	s := openOnline(t, c)
	h.inject(ksefsim.Fault{Kind: ksefsim.FaultDelay, Delay: 5 * time.Second, Count: 1, PathPrefix: "/v2/sessions/" + s.Reference})
	began := time.Now()
	_, err := c.SessionStatus(ctx(t), s.Reference)
	took := time.Since(began)
	ae := asAPIError(t, err)
	var ne net.Error
	if ae.Status != 0 || !ae.Retryable() || !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("timeout error %v: status %d retryable %v, want a retryable transport timeout", err, ae.Status, ae.Retryable())
	}
	if took > 3*time.Second {
		t.Errorf("call took %v, want about the 500ms timeout", took)
	}
	if _, err := c.SessionStatus(ctx(t), s.Reference); err != nil {
		t.Errorf("SessionStatus after the timeout: %v", err)
	}
}

// TestDroppedConnection: a connection closed without an answer is a retryable
// transport error, and nothing was stored, so a plain resend is right.
func TestDroppedConnection(t *testing.T) {
	h, c, s := online(t)
	xml := invoice(t, "FV/DROP", h.clk.today(), "1.00")
	h.inject(ksefsim.Fault{Kind: ksefsim.FaultDrop, Count: 1, PathPrefix: "/v2/sessions/online/" + s.Reference + "/invoices"})
	_, err := s.Send(ctx(t), xml, ksefapi.SendOptions{})
	ae := asAPIError(t, err)
	if ae.Status != 0 || ae.Err == nil || !ae.Retryable() {
		t.Fatalf("dropped connection: %v (status %d retryable %v), want a retryable transport error", err, ae.Status, ae.Retryable())
	}
	if n := len(h.sim.Invoices()); n != 0 {
		t.Fatalf("simulator stored %d invoices from a dropped request", n)
	}
	sendAccepted(t, c, s, xml, "resend")
}

// TestLostResponse: KSeF took the invoice but the answer was lost on the way.
// The agent cannot tell this from a drop, so it resends the same bytes; KSeF
// answers 440, and the hash of the original proves it is ours.
func TestLostResponse(t *testing.T) {
	h, c, s := online(t)
	xml := invoice(t, "FV/LOST", h.clk.today(), "1.00")
	h.wire.setHook(func(ex *exchange) error {
		if ex.Method == http.MethodPost && strings.HasSuffix(ex.Path, "/invoices") {
			h.wire.setHook(nil)
			return errors.New("connection reset after the request was processed")
		}
		return nil
	})
	_, err := s.Send(ctx(t), xml, ksefapi.SendOptions{})
	if ae := asAPIError(t, err); !ae.Retryable() {
		t.Fatalf("lost answer: %v, want retryable", err)
	}
	ref, err := s.Send(ctx(t), xml, ksefapi.SendOptions{})
	if err != nil {
		t.Fatalf("resend: %v", err)
	}
	st := waitInvoice(t, c, s.Reference, ref)
	if !alreadyAccepted(t, c, st, xml) {
		t.Fatalf("resend after a lost answer: status %d %v, want 440 naming our original", st.Code(), st.Status.Extensions)
	}
	if inv := h.sim.Invoices(); len(inv) != 1 || inv[0].KSeFNumber != st.OriginalKsefNumber() {
		t.Errorf("simulator holds %+v, want one invoice numbered %s", inv, st.OriginalKsefNumber())
	}

	// After a restart the agent resends from a new session: KSeF still names
	// the original and its session.
	s2 := openOnline(t, c)
	ref2 := send(t, s2, xml)
	st2 := waitInvoice(t, c, s2.Reference, ref2)
	if st2.OriginalSessionReferenceNumber() != s.Reference || !alreadyAccepted(t, c, st2, xml) {
		t.Errorf("resend in a new session: %d %v, want 440 naming session %s", st2.Code(), st2.Status.Extensions, s.Reference)
	}
}

// TestPollingUnderRateLimit: a session that takes a while to process, polled
// faster than the status limit allows, is still waited out: the poller honours
// each 429's Retry-After instead of failing or hammering.
func TestPollingUnderRateLimit(t *testing.T) {
	h := start(t, ksefsim.Options{ProcessingDelay: time.Second})
	c := h.client(ksefapi.TokenAuth{Token: ksefsimtest.Token}, func(cfg *ksefapi.Config) {
		cfg.PollInterval, cfg.PollMax = time.Millisecond, 2*time.Millisecond
	})
	s := openOnline(t, c)
	send(t, s, invoice(t, "FV/POLL", h.clk.today(), "1.00"))
	if err := s.Close(ctx(t)); err != nil {
		t.Fatal(err)
	}
	mark, began := h.wire.mark(), time.Now()
	st, err := c.WaitSession(ctx(t), s.Reference)
	if err != nil || st.Status.Code != ksefapi.SessionDone {
		t.Fatalf("WaitSession = %+v, %v", st, err)
	}
	exs := h.wire.since(mark)
	t.Logf("WaitSession: %d polls in %v: %v", len(exs), time.Since(began).Round(time.Millisecond), trace(exs))
	limited := 0
	for i, ex := range exs {
		if ex.Status != http.StatusTooManyRequests {
			continue
		}
		limited++
		if i+1 < len(exs) && exs[i+1].Status == http.StatusTooManyRequests {
			t.Errorf("poll %d: another request right after a 429", i+1)
		}
	}
	if limited == 0 {
		t.Errorf("the poller was never rate limited (%d polls): the test proves nothing", len(exs))
	}
	if len(exs) > 40 {
		t.Errorf("%d status polls for a 1 s wait", len(exs))
	}
}

// TestServerErrors: every 5xx shape the path to KSeF produces is retryable,
// and the Retry-After of a 503 or a 429 reaches the caller.
func TestServerErrors(t *testing.T) {
	tests := []struct {
		kind       ksefsim.FaultKind
		delay      time.Duration
		status     int
		retryAfter time.Duration
	}{
		{ksefsim.Fault500, 0, http.StatusInternalServerError, 0},
		{ksefsim.FaultHTML502, 0, http.StatusBadGateway, 0},
		{ksefsim.Fault503, 0, http.StatusServiceUnavailable, time.Second},
		{ksefsim.Fault429, 7 * time.Second, http.StatusTooManyRequests, 7 * time.Second},
	}
	h, c, s := online(t)
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			h.inject(ksefsim.Fault{Kind: tt.kind, Delay: tt.delay, Count: 1, PathPrefix: "/v2/sessions/" + s.Reference})
			_, err := c.SessionStatus(ctx(t), s.Reference)
			ae := asAPIError(t, err)
			if ae.Status != tt.status || !ae.Retryable() || ae.RetryAfter != tt.retryAfter {
				t.Errorf("%v: status %d retryable %v retryAfter %v, want %d true %v", err, ae.Status, ae.Retryable(), ae.RetryAfter, tt.status, tt.retryAfter)
			}
			if _, err := c.SessionStatus(ctx(t), s.Reference); err != nil {
				t.Errorf("next call: %v", err)
			}
		})
	}
}

// TestUPOTampered: a UPO whose bytes do not match x-ms-meta-hash is refused.
func TestUPOTampered(t *testing.T) {
	h, c, s := online(t)
	ref := send(t, s, invoice(t, "FV/UPO", h.clk.today(), "1.00"))
	st := waitInvoice(t, c, s.Reference, ref)
	h.wire.setHook(func(ex *exchange) error {
		if strings.HasPrefix(ex.Path, "/blob/upo/") {
			ex.RespBody = bytes.Replace(ex.RespBody, []byte(st.KsefNumber), []byte("5265877635-20261120-FFFFFFFFFFFF-00"), 1)
		}
		return nil
	})
	if _, _, err := c.DownloadUPO(ctx(t), st.UpoDownloadURL); !errors.Is(err, ksefapi.ErrUPOHashMismatch) {
		t.Errorf("DownloadUPO of altered bytes = %v, want ErrUPOHashMismatch", err)
	}
	h.wire.setHook(nil)
	if _, _, err := c.DownloadUPO(ctx(t), st.UpoDownloadURL); err != nil {
		t.Errorf("DownloadUPO: %v", err)
	}
	// The pre-signed link is the credential: altered, it is refused.
	if _, _, err := c.DownloadUPO(ctx(t), strings.Replace(st.UpoDownloadURL, "sig=", "sig=x", 1)); err == nil {
		t.Errorf("DownloadUPO with a forged signature succeeded")
	} else if ae := asAPIError(t, err); ae.Status != http.StatusForbidden || ae.Retryable() {
		t.Errorf("forged link: %v, want a final 403", err)
	}
}
