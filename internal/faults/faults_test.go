package faults_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/posagent/posagent/internal/soak"
	"github.com/posagent/posagent/ksef/ksefsim"
	"github.com/posagent/posagent/outbox"
	"github.com/posagent/posagent/printer"
)

// bin is the posagent binary TestMain builds for every case.
var bin string

func TestMain(m *testing.M) {
	flag.Parse()
	// The cases spend their time waiting on retries and grace periods, not on
	// the CPU: run them all at once rather than GOMAXPROCS at a time.
	if f := flag.Lookup("test.parallel"); f != nil && f.Value.String() == fmt.Sprint(runtime.GOMAXPROCS(0)) {
		_ = flag.Set("test.parallel", "16")
	}
	code := func() int {
		if testing.Short() {
			return m.Run()
		}
		dir, err := os.MkdirTemp("", "posagent-faults-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		if bin, err = soak.BuildPosagentTo(dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return m.Run()
	}()
	os.Exit(code)
}

// posagent returns the binary, skipping under -short.
func posagent(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("the fault matrix runs the real binary; skipped under -short")
	}
	return bin
}

// rig is one agent process with its simulator.
type rig struct {
	t    testing.TB
	sim  *ksefsim.Server
	site *soak.Site
	proc *soak.Proc
	next int
}

type rigOptions struct {
	site       soak.SiteOptions
	rateLimits bool
	wrap       func(http.Handler) http.Handler // around the simulator
	noStart    bool
}

func newRig(t testing.TB, o rigOptions) *rig {
	t.Helper()
	b := posagent(t)
	sim, err := ksefsim.New(&ksefsim.Options{Tokens: map[string]string{soak.KSeFToken: soak.SellerNIP}, DisableRateLimits: !o.rateLimits})
	if err != nil {
		t.Fatal(err)
	}
	h := sim.Handler()
	if o.wrap != nil {
		h = o.wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	o.site.KSeFURL = srv.URL
	if o.site.LogLevel == "" {
		o.site.LogLevel = "info"
	}
	r := &rig{t: t, sim: sim, site: soak.NewSite(t, b, o.site)}
	if !o.noStart {
		r.start()
	}
	return r
}

func (r *rig) start() {
	r.proc = r.site.Start()
	r.t.Cleanup(r.stop)
}

// stop ends the agent with SIGTERM and waits for it.
func (r *rig) stop() {
	if r.proc != nil {
		_ = r.proc.Cmd.Process.Signal(syscall.SIGTERM)
		_ = r.proc.Wait(r.t)
		r.proc = nil
	}
}

// sell posts n sales and returns their acknowledgements.
func (r *rig) sell(n int) []soak.Acked {
	r.t.Helper()
	var out []soak.Acked
	for range n {
		r.next++
		a, ok, err := r.site.Post(fmt.Sprintf("%s-%d", r.t.Name(), r.next), r.next)
		if err != nil || !ok {
			r.t.Fatalf("sale %d: ok=%v err=%v\n%s", r.next, ok, err, r.site.Tail())
		}
		out = append(out, a)
	}
	return out
}

// drained waits until the backlog is empty and the simulator holds want
// invoices, each once.
func (r *rig) drained(want int, within time.Duration) {
	r.t.Helper()
	end := time.Now().Add(within)
	for {
		n, err := r.site.Backlog()
		if err == nil && n == 0 {
			break
		}
		if time.Now().After(end) {
			r.t.Fatalf("backlog %d (err %v) after %v, want 0\n%s", n, err, within, r.site.Tail())
		}
		time.Sleep(100 * time.Millisecond)
	}
	seen := map[string]bool{}
	for _, inv := range r.sim.Invoices() {
		if seen[inv.InvoiceNumber] {
			r.t.Fatalf("simulator holds %s twice", inv.InvoiceNumber)
		}
		seen[inv.InvoiceNumber] = true
	}
	if len(seen) != want {
		r.t.Fatalf("simulator holds %d invoices, want %d", len(seen), want)
	}
}

// view is the part of an invoice view the cases look at.
type view struct {
	Print  string `json:"print_state"`
	Upload string `json:"upload_state"`
	KSeF   string `json:"ksef_number"`
}

func (r *rig) invoice(id string) view {
	r.t.Helper()
	resp, err := r.site.Do("GET", "/v1/invoices/"+id, "", nil)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	var v view
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		r.t.Fatal(err)
	}
	return v
}

type status struct {
	Printer struct {
		State string `json:"state"`
	} `json:"printer"`
	Errors []struct {
		Source, Code, Message string
	} `json:"errors"`
}

func (r *rig) status() status {
	r.t.Helper()
	resp, err := r.site.Do("GET", "/v1/status", "", nil)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	var s status
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		r.t.Fatal(err)
	}
	return s
}

func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	end := time.Now().Add(within)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestKSeFFaults: every KSeF-side failure is ridden out — the sales are
// acknowledged at once, and in the end each invoice is accepted exactly once.
func TestKSeFFaults(t *testing.T) {
	t.Parallel() // every case of the matrix overlaps the others: most of it is waiting
	tests := []struct {
		name   string
		inject func(t *testing.T, sim *ksefsim.Server)
	}{
		{"5xx-html-page", func(t *testing.T, sim *ksefsim.Server) {
			must(t, sim.InjectFault(ksefsim.Fault{Kind: ksefsim.FaultHTML502, Count: 4}))
		}},
		{"500", func(t *testing.T, sim *ksefsim.Server) {
			must(t, sim.InjectFault(ksefsim.Fault{Kind: ksefsim.Fault500, Count: 4}))
		}},
		{"503-retry-after", func(t *testing.T, sim *ksefsim.Server) {
			must(t, sim.InjectFault(ksefsim.Fault{Kind: ksefsim.Fault503, Count: 3}))
		}},
		{"timeout", func(t *testing.T, sim *ksefsim.Server) {
			// Longer than ksef.timeout (2 s): the client gives up mid-request.
			must(t, sim.InjectFault(ksefsim.Fault{Kind: ksefsim.FaultDelay, Delay: 4 * time.Second, Count: 2, PathPrefix: "/v2/sessions"}))
		}},
		{"dropped-connection", func(t *testing.T, sim *ksefsim.Server) {
			must(t, sim.InjectFault(ksefsim.Fault{Kind: ksefsim.FaultDrop, Count: 4, PathPrefix: "/v2/sessions"}))
		}},
		{"key-rotation", func(t *testing.T, sim *ksefsim.Server) {
			must(t, sim.RotateKeys())
		}},
		{"token-expiry", func(t *testing.T, sim *ksefsim.Server) {
			sim.ExpireTokens(true)
		}},
		{"session-expiry", func(t *testing.T, sim *ksefsim.Server) {
			sim.ExpireSessions()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // each case mostly waits: on retries, and on agent.DefaultSendGrace
			r := newRig(t, rigOptions{site: soak.SiteOptions{KSeFTimeout: "2s"}})
			// A first sale logs in and opens a session, so the fault meets
			// a warm agent.
			r.sell(1)
			r.drained(1, 30*time.Second)
			tt.inject(t, r.sim)
			acks := r.sell(5)
			// A send answered with a 5xx, a timeout or a drop stays "sending"
			// until KSeF's session shows it absent and agent.DefaultSendGrace
			// (2 min) has passed; hence the generous bound.
			r.drained(6, 3*time.Minute)
			for _, a := range acks {
				if v := r.invoice(a.ID); v.Upload != "accepted" || v.KSeF == "" {
					t.Errorf("%s: upload %q ksef %q, want accepted with a number", a.Number, v.Upload, v.KSeF)
				}
			}
		})
	}
}

// TestRateLimited429: interactive sending meets KSeF's real limits (10
// invoices a second, 30 a minute); the agent honours 429 + Retry-After,
// turns to a batch session and loses nothing.
func TestRateLimited429(t *testing.T) {
	t.Parallel()
	// debug: the KSeF client logs each call with its HTTP status.
	r := newRig(t, rigOptions{rateLimits: true, site: soak.SiteOptions{BatchThreshold: 10000, LogLevel: "debug"}})
	r.sell(40)
	r.drained(40, 3*time.Minute)
	logs := string(r.site.Logs())
	if !strings.Contains(logs, `"status":429`) {
		t.Fatalf("no 429 in the logs: the case did not meet the rate limit\n%s", r.site.Tail())
	}
}

// fullStore starts an agent on a store filled to its 16 MiB cap the way
// an outage fills it: offline invoices until outbox.ErrStoreFull.
func fullStore(t *testing.T) (*rig, int) {
	t.Helper()
	r := newRig(t, rigOptions{site: soak.SiteOptions{CapMB: 16}, noStart: true})
	n, err := soak.Prefill(context.Background(), r.site.StorePath(), r.site.Cert, 100000, &outbox.Options{MaxSize: 16 << 20})
	if !errors.Is(err, outbox.ErrStoreFull) {
		t.Fatalf("Prefill = %d, %v; want outbox.ErrStoreFull", n, err)
	}
	r.start()
	backlog, err := r.site.Backlog()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("store full after %d invoices; backlog %d", n, backlog)
	if backlog < n {
		t.Fatalf("backlog %d after a restart, want at least the %d issued", backlog, n)
	}
	return r, backlog
}

// TestStoreFull: a store at its cap refuses new sales with 503 and a clear
// problem (code, detail, Retry-After) and keeps its whole queue.
func TestStoreFull(t *testing.T) {
	t.Parallel()
	r, backlog := fullStore(t)
	resp, err := r.site.Do("POST", "/v1/sales", "after-full", soak.SaleBody(1))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("POST /v1/sales on a full store = %d %s %s, want 503 problem+json", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	var p struct{ Code, Detail string }
	if err := json.Unmarshal(body, &p); err != nil || p.Code != "store_full" || p.Detail == "" {
		t.Fatalf("problem %s: want code store_full and a detail", body)
	}
	if resp.Header.Get("Retry-After") == "" {
		t.Errorf("503 without Retry-After")
	}
	t.Logf("refused: %s (%s)", p.Code, p.Detail)
	// The queue is kept through upload rounds: nothing dropped to make room.
	time.Sleep(3 * time.Second)
	if n, err := r.site.Backlog(); err != nil || n+len(r.sim.Invoices()) < backlog {
		t.Fatalf("backlog %d + accepted %d after 3 s (err %v), want the %d queued kept", n, len(r.sim.Invoices()), err, backlog)
	}
	if v := r.invoice("0000000001"); v.Upload == "" {
		t.Fatalf("first invoice unreadable after the refusal: %+v", v)
	}
}

// TestStoreFullDrains: the queue of a full store is uploaded. New sales stop
// while each queued invoice still has its drain reserve (outbox
// DrainReserve), and the agent marks batches sending in chunks that fit.
func TestStoreFullDrains(t *testing.T) {
	t.Parallel()
	r, backlog := fullStore(t)
	r.drained(backlog, 3*time.Minute)
}

// TestClockSkew: doctor compares the terminal's clock with the Date header
// of KSeF's answers and fails clearly when they disagree by minutes.
func TestClockSkew(t *testing.T) {
	t.Parallel()
	skewed := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			w.Header().Set("Date", time.Now().Add(10*time.Minute).UTC().Format(http.TimeFormat))
			h.ServeHTTP(w, req)
		})
	}
	r := newRig(t, rigOptions{wrap: skewed, noStart: true})
	out, err := r.site.CLI("doctor", "--config", r.site.Config)
	var ee interface{ ExitCode() int }
	if !errors.As(err, &ee) || ee.ExitCode() != 3 { // exitCheckFailed
		t.Fatalf("doctor with a 10 min clock skew: %v, want exit 3\n%s", err, out)
	}
	var failLine string
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[0] == "FAIL" && f[1] == "ksef" && strings.Contains(l, "clock skew") {
			failLine = strings.TrimSpace(l)
		}
	}
	if failLine == "" {
		t.Fatalf("doctor has no FAIL ksef line naming the clock skew:\n%s", out)
	}
	t.Logf("doctor: %s", failLine)
}

// TestPrinterFaults: a printer fault never blocks a sale; the receipt waits,
// the status page names the fault, and it prints once the fault clears.
func TestPrinterFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		fault     printer.Faults
		wantState string // status page printer.state while the fault lasts; "" = any
		garbage   bool   // the fault does not stop printing
	}{
		{name: "paper-out", fault: printer.Faults{PaperOut: true}, wantState: "paper_out"},
		{name: "cover-open", fault: printer.Faults{CoverOpen: true}, wantState: "cover_open"},
		{name: "garbage-bytes", fault: printer.Faults{Garbage: true}, garbage: true},
		{name: "unplug-replug", fault: printer.Faults{Unplugged: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := soak.NewTCPPrinter(t)
			r := newRig(t, rigOptions{site: soak.SiteOptions{PrinterPort: "tcp://" + p.Addr}})
			first := r.sell(1)[0]
			waitFor(t, "the first receipt", 20*time.Second, func() bool { return r.invoice(first.ID).Print == "printed" })
			p.VP.SetFaults(tt.fault)
			if tt.fault.Unplugged {
				p.Unplug()
			}
			a := r.sell(1)[0] // acknowledged at once despite the fault
			if tt.garbage {
				waitFor(t, "printing through noise", 30*time.Second, func() bool { return r.invoice(a.ID).Print == "printed" })
				return
			}
			time.Sleep(2 * time.Second)
			if v := r.invoice(a.ID); v.Print == "printed" {
				t.Fatalf("receipt printed while the printer reports %s", tt.name)
			}
			if tt.wantState != "" {
				waitFor(t, "status "+tt.wantState, 20*time.Second, func() bool { return r.status().Printer.State == tt.wantState })
			}
			p.VP.SetFaults(printer.Faults{})
			if tt.fault.Unplugged {
				p.Replug()
			}
			waitFor(t, "the receipt after the fault cleared", 60*time.Second, func() bool { return r.invoice(a.ID).Print == "printed" })
			r.drained(2, 30*time.Second)
		})
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
