package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posagent/posagent/certstore"
	"github.com/posagent/posagent/till"
)

// syncBuffer is a bytes.Buffer safe for the service's concurrent logging.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRunServiceEndToEnd runs `posagent run` against the simulator with a
// virtual printer, sells through the till API, drives mode, status and
// reprint through the CLI, stops it, and reads the closed store.
func TestRunServiceEndToEnd(t *testing.T) {
	srv := simServer(t)
	tm := newTestMain(t)
	listen := freePort(t)
	tm.writeConfig(t, testConfig{ksefURL: srv.URL + "/v2", availURL: srv.URL + "/latarnia", listen: listen,
		extra: "[policy]\nupload_interval = \"1s\"\n\n[log]\nlevel = \"debug\"\nformat = \"json\"\n"})
	tm.mustRun(t, "cert", "import", writeCertFile(t, certstore.Offline, certstore.KeyRSA, time.Now().Add(-time.Hour), 365*24*time.Hour))
	tm.mustRun(t, "cert", "import", "--usage", "authentication", writeCertFile(t, certstore.Authentication, certstore.KeyEC, time.Now().Add(-time.Hour), 365*24*time.Hour))
	tm.mustRun(t, "install", "--binary", "/usr/bin/posagent")

	logs := &syncBuffer{}
	svc := &Main{Stdout: logs, Stderr: logs, Root: tm.root, Getenv: tm.Getenv, certKDF: tm.certKDF}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx, []string{"run"}) }()

	tc := &tillClient{base: "http://" + listen, http: &http.Client{Timeout: 5 * time.Second}}
	waitUntil(t, "the till API", func() bool { return tc.do(ctx, http.MethodGet, "/v1/status", nil, nil, nil) == nil }, done, logs)

	sale := map[string]any{
		"buyer":   map[string]any{"kind": "consumer"},
		"lines":   []any{demoLine("Kawa zbożowa", "szt.", "1", "7.50", "8")},
		"payment": map[string]any{"form": "cash", "paid": true},
	}
	var v till.View
	if err := tc.do(ctx, http.MethodPost, "/v1/sales", map[string]string{"Idempotency-Key": "run-test-1"}, sale, &v); err != nil {
		t.Fatalf("sale: %v\n%s", err, logs)
	}
	waitUntil(t, "acceptance", func() bool {
		var got till.View
		return tc.do(ctx, http.MethodGet, "/v1/invoices/"+v.ID, nil, nil, &got) == nil && got.Upload == "accepted" && got.Print == "printed"
	}, done, logs)

	out, _, err := tm.run(t, "status")
	if err != nil || !strings.Contains(out, "posagent: running") || !strings.Contains(out, "mode.current") {
		t.Errorf("status: %v\n%s", err, out)
	}
	// An override without an announcement changes behaviour, not the legal
	// period: sales are offline24. With the MF announcement's reference the
	// period is recorded and sales are emergency.
	tm.mustRun(t, "mode", "emergency")
	var ms modeState
	if err := json.Unmarshal([]byte(tm.mustRun(t, "mode", "--json")), &ms); err != nil || !ms.Running || ms.Override != "emergency" || ms.Current != "offline24" {
		t.Errorf("mode after an unannounced override = %+v, %v", ms, err)
	}
	tm.mustRun(t, "mode", "auto")
	tm.mustRun(t, "mode", "emergency", "--reference", "BIP MF: awaria KSeF")
	if err := json.Unmarshal([]byte(tm.mustRun(t, "mode", "--json")), &ms); err != nil || ms.Override != "emergency" || ms.Current != "emergency" {
		t.Errorf("mode after an announced failure = %+v, %v", ms, err)
	}
	if _, _, err := tm.run(t, "mode", "online", "--reference", "x"); err == nil {
		t.Error("mode online --reference was accepted")
	}
	tm.mustRun(t, "mode", "auto")
	var journal []journalRow
	if err := json.Unmarshal([]byte(tm.mustRun(t, "invoices", "journal", "--json")), &journal); err != nil || len(journal) != 1 ||
		journal[0].Reference != "BIP MF: awaria KSeF" || journal[0].End == "" || journal[0].Source != "operator" {
		t.Errorf("journal through the till API = %+v, %v", journal, err)
	}
	if out := tm.mustRun(t, "invoices", "reprint", v.ID); !strings.Contains(out, "sent to the printer") {
		t.Errorf("reprint through the API = %q", out)
	}
	var live []invoiceRow
	if err := json.Unmarshal([]byte(tm.mustRun(t, "invoices", "list", "--json")), &live); err != nil || len(live) != 1 || live[0].ID != v.ID || live[0].Upload != "accepted" {
		t.Errorf("invoices list through the till API = %+v, %v", live, err)
	}
	if out, _, err := tm.run(t, "invoices", "show", v.ID); err != nil || !strings.Contains(out, "till API") {
		t.Errorf("invoices show while running (through the till API): %v\n%s", err, out)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run returned %v\n%s", err, logs)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("run did not stop\n%s", logs)
	}
	var rows []invoiceRow
	if err := json.Unmarshal([]byte(tm.mustRun(t, "invoices", "list", "--json")), &rows); err != nil || len(rows) != 1 || rows[0].Upload != "accepted" {
		t.Errorf("after stop: %+v, %v", rows, err)
	}
	if l := logs.String(); !strings.Contains(l, `"msg":"posagent stopped"`) || strings.Contains(l, "test-ksef-token") {
		t.Errorf("service log lacks the stop line or leaks the token:\n%s", l)
	}
	agentLines := 0
	for _, l := range strings.Split(logs.String(), "\n") {
		if n := strings.Count(l, `"component":`); n > 1 {
			t.Errorf("log line names its component %d times: %s", n, l)
		}
		if strings.Contains(l, `"component":"agent"`) {
			agentLines++
		}
	}
	if agentLines == 0 {
		t.Error(`no log line of the agent ("component":"agent")`)
	}
	if err := json.Unmarshal([]byte(tm.mustRun(t, "invoices", "journal", "--json")), &journal); err != nil || len(journal) != 1 || journal[0].Mode != "emergency" {
		t.Errorf("journal from the store = %+v, %v", journal, err)
	}
	out, _, err = tm.run(t, "status")
	wantExit(t, err, exitCheckFailed)
	if !strings.Contains(out, "stopped") {
		t.Errorf("status after stop = %q", out)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool, done <-chan error, logs *syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		select {
		case err := <-done:
			t.Fatalf("run stopped while waiting for %s: %v\n%s", what, err, logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s\n%s", what, logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRunFailsClearly(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, tm *testMain)
		want  string
	}{
		{"NoCertificate", func(t *testing.T, tm *testMain) { tm.writeConfig(t, testConfig{}) }, "posagent cert import"},
		{"NoConfig", func(t *testing.T, tm *testMain) {}, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm := newTestMain(t)
			tt.setup(t, tm)
			done := make(chan error, 1)
			go func() { _, _, err := tm.run(t, "run"); done <- err }()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("run = %v, want an error mentioning %q", err, tt.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("run did not give up")
			}
		})
	}
}
