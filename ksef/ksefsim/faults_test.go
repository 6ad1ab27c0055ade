package ksefsim_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/ksef/ksefsim"
)

func TestRateLimit(t *testing.T) {
	e := newEnv(t, &ksefsim.Options{TimeScale: 60})
	access := e.login()
	s := e.openOnline(access)
	get := func() result { return e.do("GET", "/v2/sessions/"+s.ref, access, nil) }
	// sessionMisc allows 10 per second.
	for i := 0; i < 10; i++ {
		e.want(get(), 200, "SessionStatusResponse")
	}
	r := get()
	e.want(r, 429, "TooManyRequestsResponse")
	if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 1 {
		t.Fatalf("Retry-After = %q, want whole seconds ≥ 1", r.header.Get("Retry-After"))
	}
	e.extra = http.Header{"X-Error-Format": {"problem-details"}}
	r = get()
	e.extra = nil
	e.want(r, 429, "TooManyRequestsProblemDetails")

	// With TimeScale 60 the one-second window passes in 1/60 s.
	e.clk.Add(time.Second / 50)
	e.want(get(), 200, "SessionStatusResponse")

	// 120 per (scaled) minute: 1 s of simulator time. Fill it at 10 per
	// (scaled) second, one request per 5 ms: the second window never fills,
	// the minute window does.
	for i := 0; i < 300; i++ {
		e.clk.Add(time.Second / 200)
		if r = get(); r.status == 429 {
			break
		}
	}
	if r.status != 429 || !strings.Contains(string(r.body), "minutę") {
		t.Fatalf("minute window never refused: %d %s", r.status, r.body)
	}
	t.Run("OtherGroupUnaffected", func(t *testing.T) {
		e := e.sub(t)
		// Auth endpoints are another group: still open.
		e.challenge()
	})
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name   string
		fault  ksefsim.Fault
		check  func(t *testing.T, resp *http.Response, err error)
		client time.Duration
	}{
		{"500", ksefsim.Fault{Kind: ksefsim.Fault500, Count: 1}, wantStatus(500, "text/plain"), 0},
		{"HTML502", ksefsim.Fault{Kind: ksefsim.FaultHTML502, Count: 1}, wantStatus(502, "text/html"), 0},
		{"503", ksefsim.Fault{Kind: ksefsim.Fault503, Count: 1}, func(t *testing.T, resp *http.Response, err error) {
			wantStatus(503, "text/plain")(t, resp, err)
			if resp.Header.Get("Retry-After") == "" {
				t.Fatal("503 without Retry-After")
			}
		}, 0},
		{"429", ksefsim.Fault{Kind: ksefsim.Fault429, Count: 1, Delay: 2500 * time.Millisecond}, func(t *testing.T, resp *http.Response, err error) {
			wantStatus(429, "application/json")(t, resp, err)
			if got := resp.Header.Get("Retry-After"); got != "3" {
				t.Fatalf("Retry-After = %q, want 3 (2.5 s rounded up)", got)
			}
		}, 0},
		{"Drop", ksefsim.Fault{Kind: ksefsim.FaultDrop, Count: 1}, func(t *testing.T, resp *http.Response, err error) {
			if err == nil {
				t.Fatalf("dropped connection gave a response: %d", resp.StatusCode)
			}
		}, 0},
		{"Delay", ksefsim.Fault{Kind: ksefsim.FaultDelay, Count: 1, Delay: 5 * time.Second}, func(t *testing.T, resp *http.Response, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), "Timeout") {
				t.Fatalf("err = %v, want a client timeout", err)
			}
		}, 200 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			tt.fault.PathPrefix = "/v2/auth/"
			if err := e.sim.InjectFault(tt.fault); err != nil {
				t.Fatal(err)
			}
			// A path outside the prefix is untouched.
			e.want(e.do("GET", "/v2/security/public-key-certificates", "", nil), 200, "")
			hc := &http.Client{Timeout: 5 * time.Second}
			if tt.client > 0 {
				hc.Timeout = tt.client
			}
			resp, err := hc.Post(e.srv.URL+"/v2/auth/challenge", "application/json", nil)
			tt.check(t, resp, err)
			if resp != nil {
				resp.Body.Close()
			}
			// The fault is used up: the next request succeeds.
			e.challenge()
		})
	}
	// A delayed request whose client gave up is dropped, not served late: the
	// server must notice the departure even for a request with a body.
	t.Run("DelayClientLeaves", func(t *testing.T) {
		e := newEnv(t, nil)
		if err := e.sim.InjectFault(ksefsim.Fault{Kind: ksefsim.FaultDelay, Count: 1, Delay: 10 * time.Second}); err != nil {
			t.Fatal(err)
		}
		hc := &http.Client{Timeout: 200 * time.Millisecond}
		if _, err := hc.Post(e.srv.URL+"/v2/auth/challenge", "application/json", strings.NewReader(`{"x":1}`)); err == nil {
			t.Fatal("delayed request answered")
		}
		start := time.Now()
		e.srv.Close() // blocks until every handler has returned
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("Close took %v: the delayed handler outlived its client", d)
		}
	})
	t.Run("Invalid", func(t *testing.T) {
		e := newEnv(t, nil)
		for _, f := range []ksefsim.Fault{{Kind: "boom", Count: 1}, {Kind: ksefsim.Fault500}, {Kind: ksefsim.FaultDelay, Count: 1}} {
			if err := e.sim.InjectFault(f); !errors.Is(err, ksefsim.ErrFault) {
				t.Errorf("InjectFault(%+v) = %v, want ErrFault", f, err)
			}
		}
	})
}

func wantStatus(code int, ctype string) func(t *testing.T, resp *http.Response, err error) {
	return func(t *testing.T, resp *http.Response, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != code || !strings.HasPrefix(resp.Header.Get("Content-Type"), ctype) {
			t.Fatalf("got %d %q, want %d %q", resp.StatusCode, resp.Header.Get("Content-Type"), code, ctype)
		}
	}
}

func TestAdminEndpoint(t *testing.T) {
	e := newEnv(t, nil)
	access := e.login()
	admin := func(path, body string) {
		t.Helper()
		resp, err := http.Post(e.srv.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("POST %s = %d", path, resp.StatusCode)
		}
	}
	admin("/admin/faults", `{"kind":"html502","count":2,"pathPrefix":"/v2/sessions"}`)
	for i := 0; i < 2; i++ {
		if r := e.do("GET", "/v2/sessions/x", access, nil); r.status != 502 {
			t.Fatalf("request %d = %d, want 502", i, r.status)
		}
	}
	e.wantCode(e.do("GET", "/v2/sessions/x", access, nil), 400, 21173)

	old := e.publicKey(ksefsim.UsageSymmetricEncryption)
	admin("/admin/rotate-keys", ``)
	if e.publicKey(ksefsim.UsageSymmetricEncryption).id == old.id {
		t.Fatal("keys not rotated")
	}
	r := e.do("POST", "/v2/sessions/online", access, map[string]any{
		"formCode":   map[string]string{"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"},
		"encryption": map[string]any{"encryptedSymmetricKey": []byte("x"), "initializationVector": make([]byte, 16), "publicKeyId": old.id},
	})
	e.wantCode(r, 400, 21470)

	admin("/admin/expire-tokens", `{"refresh":false}`)
	e.want(e.do("GET", "/v2/sessions/x", access, nil), 401, "UnauthorizedProblemDetails")

	admin("/admin/availability", `{"status":"FAILURE","text":"Awaria"}`)
	r = e.do("GET", "/latarnia/status", "", nil)
	e.want(r, 200, "")
	var st struct {
		Status   string
		Messages []ksefsim.LatarniaMessage
	}
	r.json(t, &st)
	if st.Status != "FAILURE" || len(st.Messages) != 1 || st.Messages[0].Category != "FAILURE" || st.Messages[0].Text != "Awaria" {
		t.Fatalf("latarnia = %s", r.body)
	}
	admin("/admin/availability", `{"status":"AVAILABLE"}`)
	if r = e.do("GET", "/latarnia/status", "", nil); !bytes.Contains(r.body, []byte(`"AVAILABLE"`)) {
		t.Fatalf("latarnia = %s", r.body)
	}
	resp, err := http.Post(e.srv.URL+"/admin/availability", "application/json", strings.NewReader(`{"status":"DOWN"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("bad availability = %d, want 400", resp.StatusCode)
	}
	r = e.do("GET", "/admin/invoices", "", nil)
	e.want(r, 200, "")
}

func TestStateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	e := newEnv(t, &ksefsim.Options{StateFile: path})
	access := e.login()
	s := e.openOnline(access)
	e.send(access, s, invoiceXML(testNIP, "FV/S/1", "2026-03-10"), false)
	key := e.publicKey(ksefsim.UsageSymmetricEncryption)
	if err := e.sim.Save(); err != nil {
		t.Fatal(err)
	}
	before := e.sim.Invoices()

	e2 := newEnv(t, &ksefsim.Options{StateFile: path})
	if got := e2.sim.Invoices(); len(got) != 1 || got[0].KSeFNumber != before[0].KSeFNumber {
		t.Fatalf("reloaded invoices = %+v, want %+v", got, before)
	}
	if e2.publicKey(ksefsim.UsageSymmetricEncryption).id != key.id {
		t.Fatal("keys not restored")
	}
	// The duplicate index survives: the same invoice is a duplicate.
	access2 := e2.login()
	s2 := e2.openOnline(access2)
	ref := e2.send(access2, s2, invoiceXML(testNIP, "FV/S/1", "2026-03-10"), false)
	if st := e2.invoice(access2, s2.ref, ref); st.Status.Code != 440 {
		t.Fatalf("after reload status = %d, want 440", st.Status.Code)
	}
}

func TestStart(t *testing.T) {
	sim, err := ksefsim.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := sim.Start(ctx, "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(sim.URL() + "/latarnia/status")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status = %d", resp.StatusCode)
	}
	if err := sim.Close(); err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(ctx, "127.0.0.1:0"); !errors.Is(err, ksefsim.ErrClosed) {
		t.Fatalf("Start after Close = %v, want ErrClosed", err)
	}
}

func TestNewOptions(t *testing.T) {
	tests := []ksefsim.Options{
		{TimeScale: -1},
		{ProcessingDelay: -time.Second},
		{Tokens: map[string]string{"a|b": testNIP}},
		{Tokens: map[string]string{"tok": "123"}},
	}
	for _, o := range tests {
		if _, err := ksefsim.New(&o); !errors.Is(err, ksefsim.ErrOptions) {
			t.Errorf("New(%+v) = %v, want ErrOptions", o, err)
		}
	}
}

// TestDateHeader: the Date header is the simulator's clock, so a doctor run
// on a rehearsal date measures no skew against a simulator on the same date.
func TestDateHeader(t *testing.T) {
	e := newEnv(t, nil)
	for _, path := range []string{"/v2/security/public-key-certificates", "/latarnia/status"} {
		r := e.do("GET", path, "", nil)
		got, err := http.ParseTime(r.header.Get("Date"))
		if want := e.clk.Now().Truncate(time.Second); err != nil || !got.Equal(want) {
			t.Errorf("GET %s: Date %q (%v), want the simulator's %v", path, r.header.Get("Date"), err, want)
		}
	}
}
