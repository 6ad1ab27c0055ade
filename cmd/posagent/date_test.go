package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/certstore"
	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/internal/simclock"
	"github.com/posagent/posagent/ksef/ksefsim"
)

func TestDateFlagRefused(t *testing.T) {
	tm := newTestMain(t)
	for _, args := range [][]string{
		{"demo", "--dir", t.TempDir(), "--date", "2026-02-30"},
		{"ksefsim", "--listen", "127.0.0.1:0", "--date", "tomorrow"},
		{"doctor", "--date", "2027-03-28T02:30"}, // skipped by the DST switch
		{"run", "--date", "2026-12-24 10:00"},
	} {
		_, _, err := tm.run(t, args...)
		var ue *usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--date") {
			t.Errorf("posagent %v = %v, want a usage error naming --date", args, err)
		}
	}
}

// TestRunDateNeedsLoopbackKSeF: a rehearsal date is never shown to a real
// KSeF; run refuses before it opens anything.
func TestRunDateNeedsLoopbackKSeF(t *testing.T) {
	tests := []struct {
		url, avail string
		ok         bool
	}{
		{"http://127.0.0.1:8443/v2", "http://127.0.0.1:8443/latarnia", true},
		{"http://[::1]:8443/v2", "", true},
		{"http://localhost:8443/v2", "http://localhost:8443/latarnia", true},
		{"", "", false}, // the environment's own: api-test.ksef.mf.gov.pl
		{"https://api-test.ksef.mf.gov.pl/v2", "", false},
		{"http://127.0.0.1.nip.io/v2", "", false},
		{"http://10.0.0.7:8443/v2", "", false},
		{"http://127.0.0.1:8443/v2", "https://api-latarnia-test.ksef.mf.gov.pl", false},
	}
	for _, tt := range tests {
		cfg := config.Default()
		cfg.KSeF.Environment, cfg.KSeF.URL, cfg.KSeF.AvailabilityURL = "test", tt.url, tt.avail
		err := requireLoopbackKSeF(cfg)
		if (err == nil) != tt.ok {
			t.Errorf("url %q availability %q: %v, want ok=%v", tt.url, tt.avail, err, tt.ok)
		}
	}

	tm := newTestMain(t)
	tm.writeConfig(t, testConfig{ksefURL: "https://api-test.ksef.mf.gov.pl/v2"})
	_, _, err := tm.run(t, "run", "--date", "2026-12-23")
	var ue *usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("run --date against a real KSeF = %v, want a usage error naming loopback", err)
	}
	if _, err := os.Stat(filepath.Join(tm.root, "var", "lib", "posagent", storeFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the refused run created a store: %v", err)
	}
}

// TestDoctorDate: doctor --date judges the certificate as of that day, and
// measures no skew against a simulator running on the same date.
func TestDoctorDate(t *testing.T) {
	start, err := simclock.Parse("2026-12-20")
	if err != nil {
		t.Fatal(err)
	}
	sim, err := ksefsim.New(&ksefsim.Options{Tokens: map[string]string{"test-ksef-token": "5265877635"}, Now: simclock.Since(start)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	tm := newTestMain(t)
	tm.writeConfig(t, testConfig{ksefURL: srv.URL + "/v2", availURL: srv.URL + "/latarnia"})
	os.MkdirAll(filepath.Join(tm.root, "var", "lib", "posagent"), 0o750)
	// Valid 2026-01-01 10:00 to 2027-01-01 10:00 UTC, imported on a fixed day.
	from := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	tm.Now = func() time.Time { return from.Add(24 * time.Hour) }
	tm.mustRun(t, "cert", "import", writeCertFile(t, certstore.Offline, certstore.KeyEC, from, 365*24*time.Hour))
	tm.Now = nil

	tests := []struct {
		date, cert, certWant, ksef string
	}{
		{"2026-12-20", resWarn, "(12 days left)", resPass},
		{"2027-01-02", resFail, "expired on 2027-01-01", resFail}, // and 13 days of skew
	}
	for _, tt := range tests {
		out, _, _ := tm.run(t, "doctor", "--json", "--date", tt.date)
		var list []check
		if err := json.Unmarshal([]byte(out), &list); err != nil {
			t.Fatalf("doctor --json: %v\n%s", err, out)
		}
		got := map[string]check{}
		for _, c := range list {
			got[c.Name] = c
		}
		if c := got["certificate"]; c.Result != tt.cert || !strings.Contains(c.Detail, tt.certWant) {
			t.Errorf("doctor --date %s: certificate %+v, want %s with %q", tt.date, c, tt.cert, tt.certWant)
		}
		if c := got["ksef"]; c.Result != tt.ksef {
			t.Errorf("doctor --date %s: ksef %+v, want %s", tt.date, c, tt.ksef)
		}
	}
}

// TestKSeFSimDate: ksefsim --date answers with that date in its Date header.
func TestKSeFSimDate(t *testing.T) {
	out := &syncBuffer{}
	m := &Main{Stdout: out, Stderr: &syncBuffer{}, Root: t.TempDir(), Getenv: func(string) string { return "" }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- m.Run(ctx, []string{"ksefsim", "--listen", "127.0.0.1:0", "--date", "2026-12-23T08:00"})
	}()
	var url string
	waitUntil(t, "the simulator", func() bool {
		s := out.String()
		i := strings.Index(s, "KSeF simulator on ")
		if i < 0 || !strings.Contains(s, "KSeF token") {
			return false
		}
		url = strings.Fields(s[i+len("KSeF simulator on "):])[0]
		return true
	}, done, out)
	resp, err := http.Get(url + "/v2/security/public-key-certificates")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	date, err := http.ParseTime(resp.Header.Get("Date"))
	if want := "2026-12-23 07"; err != nil || date.UTC().Format("2006-01-02 15") != want {
		t.Errorf("Date %q (%v), want %s:xx UTC", resp.Header.Get("Date"), err, want)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("ksefsim returned %v", err)
	}
}

// TestDemoDate: demo --date runs the simulator and the agent on that day:
// numbers carry its month, P_1 is that Warsaw date, and the rest of the demo
// holds as on any day.
func TestDemoDate(t *testing.T) {
	dir, _ := runDemoIn(t, "--sales", "0", "--date", "2026-12-23T20:00")
	checkDemo(t, dir, 5, "ec")
	var demo demoContract
	raw, err := os.ReadFile(filepath.Join(dir, "demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &demo); err != nil {
		t.Fatal(err)
	}
	for _, inv := range demo.Invoices {
		if inv.P1 != "2026-12-23" || !strings.Contains(inv.Number, "/2026/12/") {
			t.Errorf("%s: p1 %s, want 2026-12-23 and a December 2026 number", inv.Number, inv.P1)
		}
	}
}
