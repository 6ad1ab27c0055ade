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
// valid Offline certificate.
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
	return tm
}

func TestDoctorHealthy(t *testing.T) {
	tm := healthyDoctor(t, nil)
	checks, err := doctorChecks(t, tm)
	if err != nil {
		t.Fatalf("doctor failed on a healthy install: %v\n%+v", err, checks)
	}
	for _, name := range []string{"configuration", "ksef token", "data dir", "disk space", "store", "certificate", "ksef", "availability", "backlog"} {
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
			tm := healthyDoctor(t, nil)
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
