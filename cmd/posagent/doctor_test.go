package main

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/certstore"
	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/ksef/ksefsim"
)

// simServer is a KSeF simulator behind httptest.
func simServer(t *testing.T) *httptest.Server {
	t.Helper()
	sim, err := ksefsim.New(&ksefsim.Options{Tokens: map[string]string{"test-ksef-token": "5265877635"}, DisableRateLimits: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return srv
}

// doctorChecks runs doctor --json and returns its checks by name.
func doctorChecks(t *testing.T, tm *testMain) (map[string]check, error) {
	t.Helper()
	out, _, err := tm.run(t, "doctor", "--json")
	var list []check
	if jerr := json.Unmarshal([]byte(out), &list); jerr != nil {
		t.Fatalf("doctor --json: %v\n%s", jerr, out)
	}
	byName := map[string]check{}
	for _, c := range list {
		byName[c.Name] = c
		if c.Result == resFail && c.Fix == "" {
			t.Errorf("failure without a fix: %+v", c)
		}
	}
	return byName, err
}

// healthyDoctor is an installation doctor passes: simulator, virtual printer,
// valid Offline and Authentication certificates (XAdES login, the default).
func healthyDoctor(t *testing.T, mod func(*testConfig)) *testMain {
	t.Helper()
	srv := simServer(t)
	tm := newTestMain(t)
	c := testConfig{ksefURL: srv.URL + "/v2", availURL: srv.URL + "/latarnia"}
	if mod != nil {
		mod(&c)
	}
	tm.writeConfig(t, c)
	os.MkdirAll(filepath.Join(tm.root, "var", "lib", "posagent"), 0o750)
	tm.mustRun(t, "cert", "import", writeCertFile(t, certstore.Offline, certstore.KeyEC, time.Now().Add(-time.Hour), 365*24*time.Hour))
	if c.auth == "" {
		tm.mustRun(t, "cert", "import", "--usage", "authentication", writeCertFile(t, certstore.Authentication, certstore.KeyEC, time.Now().Add(-time.Hour), 365*24*time.Hour))
	}
	return tm
}

func TestDoctorHealthy(t *testing.T) {
	tm := healthyDoctor(t, nil)
	checks, err := doctorChecks(t, tm)
	if err != nil {
		t.Fatalf("doctor failed on a healthy install: %v\n%+v", err, checks)
	}
	for _, name := range []string{"configuration", "ksef auth", "data dir", "disk space", "store", "certificate", "ksef", "availability", "backlog"} {
		if c := checks[name]; c.Result != resPass {
			t.Errorf("%s: %+v, want pass", name, c)
		}
	}
	if c := checks["printer"]; c.Result != resWarn || !strings.Contains(c.Detail, "virtual") {
		t.Errorf("printer: %+v, want a warning about the virtual printer", c)
	}
	if c := checks["certificate"]; !strings.Contains(c.Detail, "key matches") || !strings.Contains(c.Detail, "days left") {
		t.Errorf("certificate detail %q", c.Detail)
	}
	out := tm.mustRun(t, "doctor")
	if !strings.Contains(out, "PASS  configuration") || !strings.Contains(out, "WARN  printer") {
		t.Errorf("doctor table:\n%s", out)
	}
}

func TestDoctorFailures(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T) *testMain
		check string
		want  string
	}{
		{"NoPrinter", func(t *testing.T) *testMain {
			return healthyDoctor(t, func(c *testConfig) { c.printerPort = "/dev/ttyPOSAGENT-NONE" })
		}, "printer", "no such device"},
		{"ExpiredCertificate", func(t *testing.T) *testMain {
			tm := healthyDoctor(t, nil)
			tm.Now = func() time.Time { return time.Now().Add(400 * 24 * time.Hour) }
			return tm
		}, "certificate", "expired"},
		{"NoCertificate", func(t *testing.T) *testMain {
			tm := newTestMain(t)
			srv := simServer(t)
			tm.writeConfig(t, testConfig{ksefURL: srv.URL + "/v2"})
			os.MkdirAll(filepath.Join(tm.root, "var", "lib", "posagent"), 0o750)
			return tm
		}, "certificate", "no Offline certificate"},
		{"UnreachableKSeF", func(t *testing.T) *testMain {
			return healthyDoctor(t, func(c *testConfig) { c.ksefURL = "http://" + freePort(t) + "/v2" })
		}, "ksef", "unreachable"},
		{"ClockSkew", func(t *testing.T) *testMain {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Date", time.Now().Add(-10*time.Minute).UTC().Format(http.TimeFormat))
				w.Write([]byte("[]"))
			}))
			t.Cleanup(srv.Close)
			return healthyDoctor(t, func(c *testConfig) { c.ksefURL = srv.URL + "/v2" })
		}, "ksef", "clock skew"},
		{"DiskFull", func(t *testing.T) *testMain {
			tm := healthyDoctor(t, nil)
			tm.Statfs = func(string) (uint64, uint64, error) { return 100 << 10, 8 << 30, nil }
			return tm
		}, "disk space", "disk full"},
		{"StoreAtCap", func(t *testing.T) *testMain {
			tm := healthyDoctor(t, func(c *testConfig) { c.capMB = 16 })
			f, err := os.Create(filepath.Join(tm.root, "var", "lib", "posagent", storeFile))
			if err != nil {
				t.Fatal(err)
			}
			f.Truncate(16 << 20)
			f.Close()
			return tm
		}, "store", "store full"},
		{"TokenReadableByOthers", func(t *testing.T) *testMain {
			tm := healthyDoctor(t, func(c *testConfig) { c.auth = "token" })
			os.Chmod(filepath.Join(tm.root, "etc", "posagent", "ksef-token"), 0o644)
			return tm
		}, "ksef token", "not private"},
		{"DataDirMissing", func(t *testing.T) *testMain {
			tm := healthyDoctor(t, nil)
			os.RemoveAll(filepath.Join(tm.root, "var", "lib", "posagent"))
			return tm
		}, "data dir", "not writable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm := tt.setup(t)
			checks, err := doctorChecks(t, tm)
			wantExit(t, err, exitCheckFailed)
			c := checks[tt.check]
			if c.Result != resFail || !strings.Contains(c.Detail, tt.want) || c.Fix == "" {
				t.Errorf("%s: %+v, want a failure mentioning %q with a fix", tt.check, c, tt.want)
			}
		})
	}
}

// fakeTCPPrinter answers DLE EOT n over TCP like a printer whose paper sensor
// reports paper (0x12 is a healthy reply with the fixed bits only).
func fakeTCPPrinter(t *testing.T, paper byte) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				var prev [2]byte
				buf := make([]byte, 256)
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					for _, b := range buf[:n] {
						if prev[0] == 0x10 && prev[1] == 0x04 {
							reply := byte(0x12)
							if b == 4 {
								reply = paper
							}
							c.Write([]byte{reply})
						}
						prev[0], prev[1] = prev[1], b
					}
				}
			}(c)
		}
	}()
	return ln.Addr().String()
}

func TestDoctorPrinterStatus(t *testing.T) {
	tests := []struct {
		name   string
		paper  byte
		result string
		want   string
	}{
		{"Ready", 0x12, resPass, "ready"},
		{"PaperOut", 0x12 | 0x60, resFail, "paper"},
		{"PaperNearEnd", 0x12 | 0x0c, resWarn, "near end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := fakeTCPPrinter(t, tt.paper)
			tm := healthyDoctor(t, func(c *testConfig) { c.printerPort = "tcp://" + addr })
			checks, _ := doctorChecks(t, tm)
			if c := checks["printer"]; c.Result != tt.result || !strings.Contains(strings.ToLower(c.Detail), tt.want) {
				t.Errorf("printer: %+v, want %s mentioning %q", c, tt.result, tt.want)
			}
		})
	}
}

// TestDoctorAuth: on the doctor's injected clock, token login is a warning
// with the days left before 2027 and a failure from 2027-01-01 Warsaw (§ 13
// ust. 1 pkt 1 of the KSeF regulation of 12.12.2025); XAdES passes with a
// valid Authentication certificate and fails with a revoked or expired one.
func TestDoctorAuth(t *testing.T) {
	dec5 := time.Date(2026, 12, 5, 9, 0, 0, 0, ksef.Warsaw)
	newYear := time.Date(2027, 1, 1, 0, 1, 0, 0, ksef.Warsaw)
	tests := []struct {
		name   string
		auth   string // ksef.auth; "" is the default xades with a certificate
		at     time.Time
		edit   func(t *testing.T, tm *testMain)
		result string
		want   string
	}{
		{"TokenBefore2027", "token", dec5, nil, resWarn, "tokens end 2026-12-31, 26 days left: import an Authentication certificate and set ksef.auth = xades"},
		{"TokenLastDay", "token", time.Date(2026, 12, 31, 23, 59, 0, 0, ksef.Warsaw), nil, resWarn, "0 days left"},
		{"TokenFrom2027", "token", newYear, nil, resFail, "KSeF tokens ended on 2026-12-31"},
		{"XAdES", "", dec5, nil, resPass, "xades with Authentication certificate"},
		{"XAdESWithoutCertificateFallsBack", "xades", dec5, nil, resWarn, "the KSeF token stands in: tokens end 2026-12-31"},
		{"XAdESWithoutCertificateFrom2027", "xades", newYear, nil, resFail, "KSeF tokens ended"},
		{"XAdESRevoked", "", dec5, func(t *testing.T, tm *testMain) { setRecord(t, tm, certstore.Authentication, certstore.StateRevoked) }, resFail, "KSeF reports it revoked"},
		{"XAdESExpired", "", time.Now().Add(400 * 24 * time.Hour), nil, resFail, "expired on"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm := healthyDoctor(t, func(c *testConfig) { c.auth = tt.auth })
			if tt.edit != nil {
				tt.edit(t, tm)
			}
			tm.Now = func() time.Time { return tt.at }
			checks, _ := doctorChecks(t, tm)
			c := checks["ksef auth"]
			if c.Result != tt.result || !strings.Contains(c.Detail, tt.want) {
				t.Errorf("ksef auth = %+v, want %s mentioning %q", c, tt.result, tt.want)
			}
			if c.Result != resPass && !strings.Contains(c.Fix, "--usage authentication") {
				t.Errorf("fix %q does not say how to install the certificate", c.Fix)
			}
		})
	}
	// The same through the command line's rehearsal date.
	tm := healthyDoctor(t, func(c *testConfig) { c.auth = "token" })
	out, _, err := tm.run(t, "doctor", "--date", "2027-01-01T00:01")
	wantExit(t, err, exitCheckFailed)
	if !strings.Contains(out, "FAIL  ksef auth") || !strings.Contains(out, "KSeF tokens ended on 2026-12-31") {
		t.Errorf("doctor --date 2027-01-01T00:01:\n%s", out)
	}
}

// TestDoctorRevokedOffline: an Offline certificate KSeF reports revoked or
// suspended fails the certificate check (issue 18 point 5).
func TestDoctorRevokedOffline(t *testing.T) {
	for _, state := range []string{certstore.StateRevoked, certstore.StateBlocked} {
		tm := healthyDoctor(t, nil)
		setRecord(t, tm, certstore.Offline, state)
		checks, err := doctorChecks(t, tm)
		wantExit(t, err, exitCheckFailed)
		if c := checks["certificate"]; c.Result != resFail || !strings.Contains(c.Detail, "offline sales are refused") || !strings.Contains(c.Fix, "cert enroll --usage offline") {
			t.Errorf("%s: certificate = %+v", state, c)
		}
	}
}

// setRecord records that KSeF reports the installed certificate of usage in state.
func setRecord(t *testing.T, tm *testMain, usage certstore.Usage, state string) {
	t.Helper()
	cfg, err := config.Load(tm.configPath())
	if err != nil {
		t.Fatal(err)
	}
	s, err := tm.openCerts(cfg, tm.configPath(), false)
	if err != nil {
		t.Fatal(err)
	}
	infos, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range infos {
		if i.Usage == usage {
			if err := s.SetRecord(usage, certstore.Record{Serial: i.Serial, State: state, Checked: time.Now()}); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("no %s certificate", usage)
}
