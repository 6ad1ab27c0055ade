package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/certstore"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/till"
)

// process is one `posagent <verb>` running in the background, as a
// separate invocation of the binary would: its own Main, logs and context.
type process struct {
	logs   *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

// start runs args on a Main of tm's install root (a rehearsal date comes
// with --date, as on the command line), with the simulator's KSeF token in
// the environment.
func (tm *testMain) start(t *testing.T, args ...string) *process {
	t.Helper()
	p := &process{logs: &syncBuffer{}, done: make(chan error, 1)}
	m := &Main{Stdout: p.logs, Stderr: p.logs, Root: tm.root, certKDF: tm.certKDF,
		Getenv: func(k string) string {
			if k == "POSAGENT_KSEF_TOKEN" {
				return "test-ksef-token"
			}
			return ""
		}}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	go func() { p.done <- m.Run(ctx, args) }()
	t.Cleanup(func() { p.stop(t) })
	return p
}

// stop ends the process and waits for it; it is idempotent.
func (p *process) stop(t *testing.T) {
	t.Helper()
	if p.cancel == nil {
		return
	}
	p.cancel()
	p.cancel = nil
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("process ended with %v\n%s", err, p.logs)
		}
	case <-time.After(20 * time.Second):
		t.Errorf("process did not stop\n%s", p.logs)
	}
}

// TestNewYearTokenEnd rehearses 1 January 2027 through the binary: the
// simulator (`posagent ksefsim --date`) and the agent (`posagent run
// --date`) run on the same rehearsal date and are restarted between phases. KSeF tokens
// authenticate until 2026-12-31 (§ 13 ust. 1 pkt 1 of the KSeF regulation of
// 12.12.2025):
//
//   - 2026-12-31 23:59 Warsaw: token login works and the sale is uploaded;
//   - 2027-01-01 00:01: the sale is still issued (offline24), the login is
//     refused, the upload waits, the alarm is raised (log, status, metrics);
//   - after `cert import --usage authentication` and ksef.auth = "xades",
//     the backlog drains.
func TestNewYearTokenEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("three service runs")
	}
	tm := newTestMain(t)
	simAddr, listen := freePort(t), freePort(t)
	state := filepath.Join(t.TempDir(), "ksefsim.json")
	conf := func(auth string) {
		tm.writeConfig(t, testConfig{ksefURL: "http://" + simAddr + "/v2", listen: listen, auth: auth,
			extra: "[policy]\nupload_interval = \"1s\"\n\n[log]\nlevel = \"info\"\nformat = \"json\"\n"})
	}
	conf("token")
	eve := time.Date(2026, 12, 31, 23, 59, 0, 0, ksef.Warsaw)
	tm.Now = func() time.Time { return eve }
	tm.mustRun(t, "cert", "import", writeCertFile(t, certstore.Offline, certstore.KeyEC, eve.Add(-time.Hour), 365*24*time.Hour))
	tc := &tillClient{base: "http://" + listen, http: &http.Client{Timeout: 5 * time.Second}}
	ctx := context.Background()
	phase := func(at time.Time) (sim, svc *process) {
		date := at.In(ksef.Warsaw).Format("2006-01-02T15:04")
		sim = tm.start(t, "ksefsim", "--date", date, "--listen", simAddr, "--state", state)
		waitUntil(t, "the simulator", func() bool {
			resp, err := http.Get("http://" + simAddr + "/v2/security/public-key-certificates")
			if err == nil {
				resp.Body.Close()
			}
			return err == nil
		}, sim.done, sim.logs)
		svc = tm.start(t, "run", "--date", date)
		waitUntil(t, "the till API", func() bool { return tc.do(ctx, http.MethodGet, "/v1/status", nil, nil, nil) == nil }, svc.done, svc.logs)
		return sim, svc
	}
	sell := func(key string, day time.Time) till.View {
		t.Helper()
		sale := map[string]any{
			"buyer":      map[string]any{"kind": "consumer"},
			"lines":      []any{demoLine("Szampan", "szt.", "1", "39.99", "23")},
			"payment":    map[string]any{"form": "card", "paid": true},
			"issue_date": ksef.DateOf(day).String(),
		}
		var v till.View
		if err := tc.do(ctx, http.MethodPost, "/v1/sales", map[string]string{"Idempotency-Key": key}, sale, &v); err != nil {
			t.Fatalf("sale %s: %v", key, err)
		}
		return v
	}
	invoice := func(id string) till.View {
		var v till.View
		if err := tc.do(ctx, http.MethodGet, "/v1/invoices/"+id, nil, nil, &v); err != nil {
			t.Fatal(err)
		}
		return v
	}

	// 23:59 on 31 December: the token still logs in; the sale is uploaded.
	sim, svc := phase(eve)
	v1 := sell("eve", eve)
	waitUntil(t, "acceptance at 23:59", func() bool { return invoice(v1.ID).Upload == "accepted" }, svc.done, svc.logs)
	var st till.Status
	if err := tc.do(ctx, http.MethodGet, "/v1/status", nil, nil, &st); err != nil || st.Auth.Method != "token" || st.Auth.Alarm != "" {
		t.Errorf("status at 23:59: auth %+v, %v", st.Auth, err)
	}
	svc.stop(t)
	sim.stop(t)

	// 00:01 on 1 January: sales go on offline; logins and uploads are refused.
	newYear := time.Date(2027, 1, 1, 0, 1, 0, 0, ksef.Warsaw)
	sim, svc = phase(newYear)
	v2 := sell("new-year", newYear)
	if v2.Mode != "offline24" || v2.Kod2 == "" || v2.Upload == "accepted" {
		t.Fatalf("sale at 00:01 = mode %s upload %s kod2 %q, want offline24 with both codes", v2.Mode, v2.Upload, v2.Kod2)
	}
	waitUntil(t, "the login alarm", func() bool {
		return tc.do(ctx, http.MethodGet, "/v1/status", nil, nil, &st) == nil && st.Auth.FailedLogins > 0
	}, svc.done, svc.logs)
	if !strings.Contains(st.Auth.Alarm, "stopped working on 2027-01-01") || st.Backlog.Count != 1 {
		t.Errorf("status at 00:01: auth %+v, backlog %d", st.Auth, st.Backlog.Count)
	}
	var scrape json.RawMessage
	if err := tc.do(ctx, http.MethodGet, "/metrics", nil, nil, &scrape); err != nil {
		t.Fatal(err)
	}
	if m := string(scrape); !strings.Contains(m, `posagent_ksef_auth_method{method="token"} 1`) ||
		!strings.Contains(m, "\nposagent_ksef_auth_failures_total ") || strings.Contains(m, "\nposagent_ksef_auth_failures_total 0\n") {
		t.Errorf("metrics at 00:01 lack the token method or a failed login:\n%s", m)
	}
	if l := svc.logs.String(); !strings.Contains(l, "ALARM: KSeF tokens stopped working on 2027-01-01") || !strings.Contains(l, "Token nieaktywny") {
		t.Errorf("the log at 00:01 lacks the alarm or KSeF's refusal:\n%s", l)
	}
	if v := invoice(v2.ID); v.Upload == "accepted" {
		t.Fatal("uploaded with a token in 2027")
	}
	svc.stop(t)
	sim.stop(t)

	// The technician imports the Authentication certificate and switches to XAdES.
	fix := newYear.Add(4 * time.Minute)
	tm.Now = func() time.Time { return fix }
	out := tm.mustRun(t, "cert", "import", "--usage", "authentication", writeCertFile(t, certstore.Authentication, certstore.KeyEC, fix.Add(-time.Hour), 365*24*time.Hour))
	if !strings.Contains(out, "installed authentication certificate") {
		t.Errorf("cert import = %q", out)
	}
	conf("xades")
	sim, svc = phase(fix)
	waitUntil(t, "the backlog to drain", func() bool { return invoice(v2.ID).Upload == "accepted" }, svc.done, svc.logs)
	var after till.Status // a fresh value: the JSON leaves empty fields out
	if err := tc.do(ctx, http.MethodGet, "/v1/status", nil, nil, &after); err != nil || after.Auth.Method != "xades" || after.Auth.Alarm != "" ||
		after.Auth.TokensEnd != nil || after.Auth.Certificate == nil || after.Backlog.Count != 0 {
		t.Errorf("status after the switch: auth %+v backlog %d, %v", after.Auth, after.Backlog.Count, err)
	}
	if v := invoice(v1.ID); v.Upload != "accepted" {
		t.Errorf("the 23:59 invoice is %s", v.Upload)
	}
	svc.stop(t)
	sim.stop(t)
	if b, err := os.ReadFile(state); err != nil || len(b) == 0 {
		t.Errorf("simulator state: %v", err)
	}
}
