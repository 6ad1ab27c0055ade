package agent_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/internal/metrics"
	"github.com/posagent/posagent/ksef/ksefapi"
	"github.com/posagent/posagent/ksef/ksefsim"
	"github.com/posagent/posagent/ksef/ksefsim/ksefsimtest"
	"github.com/posagent/posagent/outbox"
)

// wire counts the agent's KSeF requests as they leave the client, the ones
// a simulator fault cuts off included, and can answer some itself.
type wire struct {
	next http.RoundTripper

	mu    sync.Mutex // guards calls and fake
	calls map[string]int
	// fake, when set, may answer a request instead of the simulator; n is
	// how many requests with the same method and path came before.
	fake func(r *http.Request, n int) *http.Response
}

func (w *wire) RoundTrip(r *http.Request) (*http.Response, error) {
	key := r.Method + " " + r.URL.Path
	w.mu.Lock()
	n := w.calls[key]
	w.calls[key]++
	fake := w.fake
	w.mu.Unlock()
	if fake != nil {
		if resp := fake(r, n); resp != nil {
			return resp, nil
		}
	}
	return w.next.RoundTrip(r)
}

// count is how many requests were exactly call ("POST /v2/auth/challenge").
func (w *wire) count(call string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.calls[call]
}

// wiredEnv is newEnv whose agent client goes through a wire.
func wiredEnv(t *testing.T) (*env, *wire) {
	t.Helper()
	e := newEnv(t, nil)
	w := &wire{next: http.DefaultTransport.(*http.Transport).Clone(), calls: map[string]int{}}
	// XAdES, as the Env's own client: token logins end on 2026-12-31.
	c, err := ksefapi.New(ksefapi.Config{
		BaseURL: e.Sim.Base, AvailabilityURL: e.Sim.Latarnia, HTTPClient: &http.Client{Transport: w},
		Context:      ksefapi.ContextIdentifier{Type: ksefapi.ContextNip, Value: ksefsimtest.NIP},
		Auth:         ksefapi.XAdESAuth{Signer: e.AuthCert, Certificate: e.AuthCert.Certificate()},
		PollInterval: 10 * time.Millisecond, PollMax: 50 * time.Millisecond, PollTimeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.Env.Client, e.client = c, c
	return e, w
}

// slowRetries makes every retry wait at least 30 s: a test that recovers
// within agenttest.MinWait did not wait for the backoff.
func slowRetries(reg *metrics.Registry) func(*agent.Options) {
	return func(o *agent.Options) {
		o.RetryMin, o.RetryMax = time.Minute, time.Hour
		o.UploadInterval, o.LinkProbeInterval = time.Minute, 100*time.Millisecond
		o.Metrics = reg
	}
}

func gauge(t *testing.T, reg *metrics.Registry, name string) string {
	t.Helper()
	var b bytes.Buffer
	if _, err := reg.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(b.String(), "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			return v
		}
	}
	return ""
}

// TestRecoveryAfterOutage (issue 19): sales made while KSeF is down do not
// each count a failed round, and once KSeF answers again the probe resumes
// the uploads at once, whatever the backoff had grown to.
func TestRecoveryAfterOutage(t *testing.T) {
	e, w := wiredEnv(t)
	reg := metrics.NewRegistry()
	e.Down()
	x := e.start(slowRetries(reg), true)
	waitFor(t, "the first failed round", 0, func() bool { return w.count("POST /v2/auth/challenge") >= 1 })
	var ids []string
	for i := range 15 {
		ids = append(ids, x.issue(fmt.Sprint("out-", i), consumerSale()).ID)
	}
	waitFor(t, "link down", 0, func() bool { return gauge(t, reg, "posagent_ksef_link_up") == "0" })
	waitFor(t, "probes", 0, func() bool { return w.count("GET /v2/security/public-key-certificates") >= 3 })
	// Fifteen kicks, one failed round: the next waits out its backoff (30 s
	// at least), the probes meanwhile are single GETs.
	if n := w.count("POST /v2/auth/challenge"); n != 1 {
		t.Errorf("%d login attempts while 15 sales were made in an outage, want 1 (one failed round)", n)
	}

	e.Sim.ClearFaults()
	// Within agenttest.MinWait (30 s), below the backoff's least wait: only
	// the probe can bring the uploads back in time.
	waitFor(t, "every invoice accepted after the link came back", 0, func() bool {
		for _, id := range ids {
			if x.get(id).Upload != outbox.UploadAccepted {
				return false
			}
		}
		return true
	})
	if got := gauge(t, reg, "posagent_ksef_link_up"); got != "1" {
		t.Errorf("posagent_ksef_link_up = %q after the recovery, want 1", got)
	}
	if n := len(e.sim.Invoices()); n != len(ids) {
		t.Errorf("KSeF holds %d invoices, want %d", n, len(ids))
	}
}

// TestRateLimitedBacklog (issue 19): a 429 in the middle of an interactive
// backlog sends the rest, the refused invoice included, in a batch session
// at once, with no backoff; invoices KSeF accepted before the 429 are
// settled without waiting for a retry.
func TestRateLimitedBacklog(t *testing.T) {
	e, w := wiredEnv(t)
	mod := func(o *agent.Options) { slowRetries(nil)(o); o.TempDir = t.TempDir() }
	x := e.start(mod, false)
	var ids []string
	for i := range 15 {
		ids = append(ids, x.issue(fmt.Sprint("rl-", i), consumerSale()).ID)
	}
	x.stop()
	// KSeF takes ten interactive sends, then limits them (10 a second).
	w.mu.Lock()
	w.fake = func(r *http.Request, n int) *http.Response {
		if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, "/v2/sessions/online/") || !strings.HasSuffix(r.URL.Path, "/invoices") {
			return nil
		}
		if n != 10 { // the eleventh send of the session
			return nil
		}
		body := `{"status":{"code":429,"description":"Too Many Requests","details":["Retry after 1 s."]}}`
		return &http.Response{StatusCode: http.StatusTooManyRequests, Request: r,
			Header: http.Header{"Content-Type": {"application/json"}, "Retry-After": {"1"}},
			Body:   ioNopCloser(body), ContentLength: int64(len(body))}
	}
	w.mu.Unlock()
	y := e.start(mod, true)
	waitFor(t, "every invoice accepted", 0, func() bool {
		for _, id := range ids {
			if y.get(id).Upload != outbox.UploadAccepted {
				return false
			}
		}
		return true
	})
	if n := w.count("POST /v2/sessions/batch"); n != 1 {
		t.Errorf("%d batch sessions opened, want 1 for the rest of the backlog after the 429", n)
	}
	held := simByNumber(e.sim)
	online, batch := 0, 0
	for _, id := range ids {
		inv := y.get(id)
		s, ok := held[inv.Number]
		if !ok || s.Receipts != 1 {
			t.Errorf("%s: in KSeF %v, %d times; want once", inv.Number, ok, s.Receipts)
		}
		if strings.Contains(s.SessionReference, "-SB-") {
			batch++
		} else {
			online++
		}
	}
	if online != 10 || batch != 5 {
		t.Errorf("%d invoices accepted online and %d in the batch, want 10 and 5 (the refused one with the rest)", online, batch)
	}
}

func ioNopCloser(s string) *nopBody { return &nopBody{strings.NewReader(s)} }

type nopBody struct{ *strings.Reader }

func (nopBody) Close() error { return nil }

// TestProbeBoundedOn5xx: when KSeF answers the probe but fails the uploads
// (5xx), the probe starts one extra round per backoff step, not one every
// LinkProbeInterval.
func TestProbeBoundedOn5xx(t *testing.T) {
	e, w := wiredEnv(t)
	if err := e.Sim.InjectFault(ksefsim.Fault{Kind: ksefsim.Fault500, Count: ksefsim.Forever, PathPrefix: "/v2/auth/challenge"}); err != nil {
		t.Fatal(err)
	}
	e.start(slowRetries(nil), true)
	waitFor(t, "probes", 0, func() bool { return w.count("GET /v2/security/public-key-certificates") >= 1 })
	time.Sleep(time.Second) // ten probe intervals
	if n := w.count("POST /v2/auth/challenge"); n > 2 {
		t.Errorf("%d login attempts in a second of 5xx with the first retry a minute away, want at most 2 (the first round and one the probe started)", n)
	}
}
