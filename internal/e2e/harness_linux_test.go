//go:build linux

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/agent/agenttest"
	"github.com/posagent/posagent/certstore"
	"github.com/posagent/posagent/certstore/certstoretest"
	"github.com/posagent/posagent/escpos"
	"github.com/posagent/posagent/internal/simclock"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/ksef/ksefapi"
	"github.com/posagent/posagent/ksef/ksefsim"
	"github.com/posagent/posagent/outbox"
	"github.com/posagent/posagent/printer"
	"github.com/posagent/posagent/receipt"
	"github.com/posagent/posagent/till"
	"github.com/posagent/posagent/till/tillagent"
)

const (
	sellerNIP = certstoretest.NIP
	buyerNIP  = "7740001454"
	simToken  = "e2e-ksef-token-not-a-secret"
	terminal  = "KASA01"
	numbering = "{terminal}/{yyyy}/{mm}/{seq:06}"
)

// clock is the one clock of every harness (simulator, KSeF client, store,
// agent, certificate): a working Tuesday morning that runs on with real
// time, so no test depends on the day, or the midnight, it runs at.
var clock = simclock.Since(time.Date(2026, 12, 22, 10, 0, 0, 0, ksef.Warsaw))

// harness is one posagent installation: a store file, a KSeF simulator behind
// a gate, an Offline certificate and a pty printer. start and stop run the
// service on it; stop then start is a restart on the same store.
type harness struct {
	t         testing.TB
	storePath string
	sim       *ksefsim.Server
	gate      *gate
	simURL    string
	cert      *certstore.Cert
	auth      *certstore.Cert // the Authentication certificate of the XAdES login
	prn       *fakePrinter
	prof      escpos.Profile
	logs      *syncBuffer
	http      *http.Client

	run *service // nil when stopped
}

// service is one run of the agent: what a process start builds.
type service struct {
	store *outbox.Store
	base  string // till API root, http://127.0.0.1:port
	stop  func() error
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	h := &harness{t: t, storePath: filepath.Join(t.TempDir(), "outbox.db"), logs: &syncBuffer{},
		http: &http.Client{Timeout: 10 * time.Second}}

	var err error
	h.sim, err = ksefsim.New(&ksefsim.Options{Tokens: map[string]string{simToken: sellerNIP}, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	h.gate = &gate{next: h.sim.Handler(), closed: make(chan struct{})}
	srv := httptest.NewServer(h.gate)
	h.simURL = srv.URL
	t.Cleanup(func() {
		h.gate.close()
		srv.Close()
	})

	certPEM, keyPEM, err := certstore.Generate(certstore.Offline, sellerNIP, certstore.KeyEC, clock().Add(-time.Hour), 2*365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if h.cert, err = certstore.Parse(certstore.Offline, append(certPEM, keyPEM...), "", clock()); err != nil {
		t.Fatal(err)
	}
	// The Authentication certificate of the XAdES login (the default; the
	// simulator, like KSeF's test environment, accepts a self-signed one).
	authPEM, authKey, err := certstore.Generate(certstore.Authentication, sellerNIP, certstore.KeyEC, clock().Add(-time.Hour), 2*365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if h.auth, err = certstore.Parse(certstore.Authentication, append(authPEM, authKey...), "", clock()); err != nil {
		t.Fatal(err)
	}
	h.prof, err = escpos.LookupProfile("generic-80")
	if err != nil {
		t.Fatal(err)
	}
	h.prn = newFakePrinter(t)
	// Cleanups run last-in first-out: the service stops before the printer.
	t.Cleanup(h.prn.close)
	t.Cleanup(func() {
		if h.run != nil {
			if err := h.stop(); err != nil {
				t.Errorf("stop: %v", err)
			}
		}
		if t.Failed() {
			t.Logf("agent log:\n%s", h.logs.String())
		}
	})
	return h
}

// start builds and runs the service on the harness's store, as run.go
// does: print worker, agent, till API, stopped in the reverse order.
func (h *harness) start() {
	h.t.Helper()
	if h.run != nil {
		h.t.Fatal("start: already running")
	}
	logger := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	store, err := outbox.Open(h.storePath, &outbox.Options{Now: clock})
	if err != nil {
		h.t.Fatal(err)
	}
	// A failed start closes the store, so the next test can open it.
	started := false
	defer func() {
		if !started {
			store.Close()
		}
	}()
	client, err := ksefapi.New(ksefapi.Config{
		BaseURL: h.simURL + "/v2", AvailabilityURL: h.simURL + "/latarnia",
		HTTPClient: &http.Client{Timeout: 5 * time.Second},
		Context:    ksefapi.ContextIdentifier{Type: ksefapi.ContextNip, Value: sellerNIP},
		Auth:       ksefapi.XAdESAuth{Signer: h.auth, Certificate: h.auth.Certificate()}, Logger: logger.With("component", "ksef"),
		PollInterval: 20 * time.Millisecond, PollMax: 100 * time.Millisecond, PollTimeout: 10 * time.Second,
		Now: clock,
	})
	if err != nil {
		h.t.Fatal(err)
	}

	// The worker reports to the agent, which needs the worker: the agent is
	// set before the worker runs.
	var relay agenttest.Relay
	serial := printer.SerialConfig{Baud: 115200}
	worker, err := printer.NewWorker(func(ctx context.Context) (printer.Port, error) {
		return printer.OpenSerial(ctx, h.prn.path, serial)
	}, &printer.Options{
		Baud: serial.Baud, FrameBits: serial.FrameBits(), Confirm: true,
		StatusTimeout: 300 * time.Millisecond, ConfirmTimeout: 3 * time.Second, ResyncPad: 64,
		Backoff:  printer.Backoff{Min: 20 * time.Millisecond, Max: 150 * time.Millisecond},
		OnResult: relay.PrintResult,
	}, logger.With("component", "printer"))
	if err != nil {
		h.t.Fatal(err)
	}
	env, err := ksef.ParseEnvironment("test")
	if err != nil {
		h.t.Fatal(err)
	}
	opts := agent.Options{
		Seller: ksef.Seller{NIP: sellerNIP, Name: "Stacja Paliw „Żuraw” Sp. z o.o.",
			Address: ksef.Address{Country: "PL", Line1: "ul. Źródlana 7/3", Line2: "90-001 Łódź"}},
		Series:         outbox.Series{Terminal: terminal, Format: numbering, Reset: outbox.ResetMonthly},
		Place:          "Łódź",
		Environment:    env,
		Policy:         agent.PolicyOfflineFirst,
		B2BOffline:     agent.B2BHandover,
		Profile:        h.prof,
		QR:             receipt.QRNative,
		Paper:          80,
		Logger:         logger.With("component", "agent"),
		UploadInterval: 100 * time.Millisecond, ProbeInterval: 100 * time.Millisecond,
		PollInterval: 30 * time.Millisecond, PrintInterval: 50 * time.Millisecond,
		RetryMin: 50 * time.Millisecond, RetryMax: 300 * time.Millisecond,
		SendGrace: 500 * time.Millisecond,
		TempDir:   h.t.TempDir(),
		Now:       clock,
	}
	a, err := agent.New(opts, agent.Deps{Store: store, KSeF: client, Printer: worker, Signer: h.cert, Feed: client})
	if err != nil {
		h.t.Fatal(err)
	}
	relay.Set(a)
	srv, err := till.New(tillagent.New(a, tillagent.Options{Environment: "test", Now: clock}), till.Options{Listen: "127.0.0.1:0", Logger: logger.With("component", "till"), Now: clock})
	if err != nil {
		h.t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		h.t.Fatal(err)
	}

	tillCtx, stopTill := context.WithCancel(context.Background())
	agentCtx, stopAgent := context.WithCancel(context.Background())
	workerCtx, stopWorker := context.WithCancel(context.Background())
	tillDone, agentDone, workerDone := make(chan error, 1), make(chan error, 1), make(chan error, 1)
	go func() { workerDone <- worker.Run(workerCtx) }()
	go func() { agentDone <- a.Run(agentCtx) }()
	go func() { tillDone <- srv.Serve(tillCtx, ln) }()
	started = true
	stopped := false
	h.run = &service{store: store, base: "http://" + ln.Addr().String(),
		stop: func() error {
			if stopped {
				return nil
			}
			stopped = true
			// The till first (a sale in flight is answered), then the agent,
			// which may still hand jobs to the worker, then the worker.
			stopTill()
			errs := []error{<-tillDone}
			stopAgent()
			errs = append(errs, ignoreCanceled(<-agentDone))
			stopWorker()
			errs = append(errs, ignoreCanceled(<-workerDone))
			errs = append(errs, store.Close())
			return errors.Join(errs...)
		}}
	h.waitFor("the till API", 5*time.Second, func() bool {
		code, _ := h.do(http.MethodGet, "/v1/status", nil, nil, nil)
		return code == http.StatusOK
	})
}

func ignoreCanceled(err error) error {
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// stop stops the running service and closes its store.
func (h *harness) stop() error {
	r := h.run
	h.run = nil
	return r.stop()
}

// restart stops the service and starts it again on the same store file.
func (h *harness) restart() {
	h.t.Helper()
	if err := h.stop(); err != nil {
		h.t.Fatalf("stop: %v", err)
	}
	h.start()
}

func (h *harness) store() *outbox.Store { return h.run.store }

// do sends one request to the till API; body may be a []byte (sent as is) or
// a value marshalled to JSON. It decodes a 2xx answer into out and returns
// the status and the raw answer.
func (h *harness) do(method, path string, hdr map[string]string, body, out any) (int, []byte) {
	h.t.Helper()
	code, _, raw := h.doHeader(method, path, hdr, body, out)
	return code, raw
}

// doHeader is do that also returns the answer's header.
func (h *harness) doHeader(method, path string, hdr map[string]string, body, out any) (int, http.Header, []byte) {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, h.run.base+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := h.http.Do(req)
	if err != nil {
		return 0, nil, []byte(err.Error())
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatalf("%s %s: read answer: %v", method, path, err)
	}
	if out != nil && resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(raw, out); err != nil {
			h.t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode, resp.Header, raw
}

// sell posts a sale under key and wants 201 Created.
func (h *harness) sell(key string, sale any) till.View {
	h.t.Helper()
	var v till.View
	if code, raw := h.do(http.MethodPost, "/v1/sales", map[string]string{"Idempotency-Key": key}, sale, &v); code != http.StatusCreated {
		h.t.Fatalf("POST /v1/sales %s = %d %s, want 201", key, code, raw)
	}
	return v
}

// invoice GETs one invoice through the till API.
func (h *harness) invoice(id string) till.View {
	h.t.Helper()
	var v till.View
	if code, raw := h.do(http.MethodGet, "/v1/invoices/"+id, nil, nil, &v); code != http.StatusOK {
		h.t.Fatalf("GET /v1/invoices/%s = %d %s", id, code, raw)
	}
	return v
}

func (h *harness) status() till.Status {
	h.t.Helper()
	var st till.Status
	if code, raw := h.do(http.MethodGet, "/v1/status", nil, nil, &st); code != http.StatusOK {
		h.t.Fatalf("GET /v1/status = %d %s", code, raw)
	}
	return st
}

// waitFor polls cond until it holds, failing the test after d (at least
// agenttest.MinWait).
func (h *harness) waitFor(what string, d time.Duration, cond func() bool) {
	h.t.Helper()
	agenttest.WaitFor(h.t, what, d, cond)
}

// waitAccepted waits until every id is accepted by KSeF.
func (h *harness) waitAccepted(d time.Duration, ids ...string) {
	h.t.Helper()
	h.waitFor("acceptance of "+strings.Join(ids, ", "), d, func() bool {
		for _, id := range ids {
			if v := h.invoice(id); v.Upload != "accepted" {
				return false
			}
		}
		return true
	})
}

// waitPrinted waits until the original receipt of every id is printed.
func (h *harness) waitPrinted(d time.Duration, ids ...string) {
	h.t.Helper()
	h.waitFor("prints of "+strings.Join(ids, ", "), d, func() bool {
		for _, id := range ids {
			if v := h.invoice(id); v.Print != "printed" {
				return false
			}
		}
		return true
	})
}

// today is the issue date of a sale made now.
func today() string { return ksef.DateOf(clock()).String() }

func line(name, unit, qty, price, rate string) map[string]any {
	return map[string]any{"name": name, "unit": unit, "quantity": qty, "unit_price": price, "vat_rate": rate}
}

// consumerSale is a small valid sale to a consumer.
func consumerSale() map[string]any {
	return map[string]any{
		"buyer":      map[string]any{"kind": "consumer"},
		"lines":      []any{line("Kawa źródlana", "szt.", "1", "9.90", "8")},
		"payment":    map[string]any{"form": "card", "paid": true},
		"issue_date": today(),
	}
}

// gate sits between the KSeF client and the simulator. It logs every request
// and injects the failures the simulator has no fault for.
type gate struct {
	next   http.Handler
	closed chan struct{}
	once   sync.Once

	mu    sync.Mutex // guards rules and log
	rules []*rule
	log   []gateEntry
}

// rule applies to the next count requests it matches.
type rule struct {
	match      func(*http.Request) bool
	count      int
	retryAfter int  // answer 429 with this Retry-After (seconds)
	lose       bool // let KSeF process the request, then lose the answer
	hold       bool // never pass the request on; hang until the client gives up
}

type gateEntry struct {
	At     time.Time
	Method string
	Path   string
	Status int // 0 while pending, or when the answer was lost or dropped
}

// isSend matches the request that sends one invoice in an online session.
func isSend(r *http.Request) bool { return isSendPath(r.Method, r.URL.Path) }

func isSendPath(method, path string) bool {
	return method == http.MethodPost && strings.HasPrefix(path, "/v2/sessions/online/") &&
		strings.HasSuffix(path, "/invoices")
}

func (g *gate) add(r *rule) {
	g.mu.Lock()
	g.rules = append(g.rules, r)
	g.mu.Unlock()
}

func (g *gate) take(req *http.Request) *rule {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, r := range g.rules {
		if r.match(req) {
			got := *r
			if r.count--; r.count == 0 {
				g.rules = append(g.rules[:i], g.rules[i+1:]...)
			}
			return &got
		}
	}
	return nil
}

// reset drops every rule still queued.
func (g *gate) reset() {
	g.mu.Lock()
	g.rules = nil
	g.mu.Unlock()
}

func (g *gate) entries(match func(gateEntry) bool) []gateEntry {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []gateEntry
	for _, e := range g.log {
		if match(e) {
			out = append(out, e)
		}
	}
	return out
}

func (g *gate) close() { g.once.Do(func() { close(g.closed) }) }

func (g *gate) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	// Logged on arrival, so a request still hanging shows with status 0.
	g.mu.Lock()
	i := len(g.log)
	g.log = append(g.log, gateEntry{At: clock(), Method: req.Method, Path: req.URL.Path})
	g.mu.Unlock()
	rw := &recordingWriter{ResponseWriter: w}
	defer func() {
		g.mu.Lock()
		g.log[i].Status = rw.status
		g.mu.Unlock()
	}()
	r := g.take(req)
	switch {
	case r == nil:
		g.next.ServeHTTP(rw, req)
	case r.retryAfter > 0:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", fmt.Sprint(r.retryAfter))
		rw.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprintf(rw, `{"status":{"code":429,"description":"Too Many Requests","details":["Retry after %d s."]}}`, r.retryAfter)
	case r.hold:
		// Read the body first: only then does the server notice the client
		// hanging up, which cancels req.Context().
		io.Copy(io.Discard, req.Body)
		select {
		case <-req.Context().Done():
		case <-g.closed:
		}
		panic(http.ErrAbortHandler)
	case r.lose:
		// KSeF takes the invoice; the answer never reaches the client.
		g.next.ServeHTTP(httptest.NewRecorder(), req.WithContext(context.WithoutCancel(req.Context())))
		select {
		case <-req.Context().Done():
		case <-g.closed:
		}
		panic(http.ErrAbortHandler)
	}
}

// recordingWriter notes the status and keeps http.Hijacker for the
// simulator's drop fault.
type recordingWriter struct {
	http.ResponseWriter
	status int
}

func (w *recordingWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recordingWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *recordingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("e2e: response writer cannot hijack")
	}
	return hj.Hijack()
}

// syncBuffer is a bytes.Buffer safe for the concurrent writers of a logger.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
