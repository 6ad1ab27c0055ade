package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/certstore/certstoretest"
)

// testMain is a Main on a temporary install root with captured output.
type testMain struct {
	*Main
	root           string
	stdout, stderr *bytes.Buffer
}

func newTestMain(t *testing.T) *testMain {
	t.Helper()
	root := t.TempDir()
	tm := &testMain{root: root, stdout: new(bytes.Buffer), stderr: new(bytes.Buffer)}
	tm.Main = &Main{
		Stdin: strings.NewReader(""), Stdout: tm.stdout, Stderr: tm.stderr, Root: root,
		Getenv: func(string) string { return "" }, certKDF: &certstoretest.FastKDF, HTTP: loopbackOnly(t),
		systemctl: func(context.Context, ...string) ([]byte, error) {
			t.Error("systemctl called on a temporary root")
			return nil, fmt.Errorf("no systemctl in tests")
		},
	}
	return tm
}

// run runs a command line and returns its output; err is what Run returned.
func (tm *testMain) run(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	tm.stdout.Reset()
	tm.stderr.Reset()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err = tm.Run(ctx, args)
	return tm.stdout.String(), tm.stderr.String(), err
}

// mustRun runs a command line that must succeed.
func (tm *testMain) mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, err := tm.run(t, args...)
	if err != nil {
		t.Fatalf("posagent %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// configPath is the default configuration path under the root.
func (tm *testMain) configPath() string {
	return filepath.Join(tm.root, "etc", "posagent", "posagent.toml")
}

// testConfig holds the values of a test configuration file.
type testConfig struct {
	ksefURL, availURL string
	printerPort       string
	listen            string
	storeDir          string
	capMB             int
	auth              string // ksef.auth; empty leaves the default (xades)
	extra             string // appended verbatim
}

// writeConfig writes a valid configuration under the root with a KSeF token
// file, and returns its path.
func (tm *testMain) writeConfig(t *testing.T, c testConfig) string {
	t.Helper()
	dir := filepath.Dir(tm.configPath())
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	tok := filepath.Join(dir, "ksef-token")
	if err := os.WriteFile(tok, []byte("test-ksef-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c.printerPort == "" {
		c.printerPort = "virtual"
	}
	if c.ksefURL == "" {
		// Never the environment's own KSeF: no test resolves or contacts a
		// real KSeF host. Nothing listens here.
		c.ksefURL = "http://" + freePort(t) + "/v2"
	}
	if c.listen == "" {
		c.listen = freePort(t) // nothing listens: the agent is "not running"
	}
	if c.storeDir == "" {
		c.storeDir = filepath.Join(tm.root, "var", "lib", "posagent")
	}
	if c.capMB == 0 {
		c.capMB = 64
	}
	var b strings.Builder
	fmt.Fprintf(&b, "[seller]\nnip = %q\nname = %q\naddress_line1 = %q\naddress_line2 = %q\n\n", "5265877635", "Sklep Testowy „Żółw” Sp. z o.o.", "ul. Łąkowa 1", "00-001 Warszawa")
	fmt.Fprintf(&b, "[terminal]\nid = \"KASA01\"\n\n")
	fmt.Fprintf(&b, "[ksef]\nenvironment = \"test\"\ntoken_file = %q\n", tok)
	if c.auth != "" {
		fmt.Fprintf(&b, "auth = %q\n", c.auth)
	}
	if c.ksefURL != "" {
		fmt.Fprintf(&b, "url = %q\n", c.ksefURL)
	}
	if c.availURL != "" {
		fmt.Fprintf(&b, "availability_url = %q\n", c.availURL)
	}
	fmt.Fprintf(&b, "timeout = \"2s\"\n\n[printer]\nport = %q\npaper = 80\n\n", c.printerPort)
	fmt.Fprintf(&b, "[till]\nlisten = %q\n\n[store]\ndir = %q\ncap_mb = %d\nheadroom_mb = 0\n\n", c.listen, c.storeDir, c.capMB)
	b.WriteString(c.extra)
	if err := os.WriteFile(tm.configPath(), []byte(b.String()), 0o640); err != nil {
		t.Fatal(err)
	}
	return tm.configPath()
}

// loopbackOnly is an HTTP client (doctor's checks, the till API) that fails
// the test instead of dialling anything but loopback: no test resolves or
// contacts a real KSeF host.
func loopbackOnly(t *testing.T) *http.Client {
	c := guardedClient(func(addr string) { t.Errorf("the test dialled %s: tests contact loopback hosts only", addr) })
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// guardedClient dials loopback addresses only; refused hears of the others.
func guardedClient(refused func(addr string)) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	var d net.Dialer
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil || !loopbackHost(host) {
			refused(addr)
			return nil, fmt.Errorf("dial %s: not loopback (test guard)", addr)
		}
		return d.DialContext(ctx, network, addr)
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: tr}
}

// freePort returns a loopback address nobody listens on right now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// wantExit checks the exit status an error maps to.
func wantExit(t *testing.T, err error, code int) {
	t.Helper()
	if got := exitCode(err); got != code {
		t.Fatalf("exit code = %d (err %v), want %d", got, err, code)
	}
}

// TestLoopbackOnly: the guard refuses the environment's real KSeF before any
// name is resolved.
func TestLoopbackOnly(t *testing.T) {
	var refused []string
	c := guardedClient(func(addr string) { refused = append(refused, addr) })
	defer c.CloseIdleConnections()
	if _, err := c.Get("https://api-test.ksef.mf.gov.pl/v2/security/public-key-certificates"); err == nil || !strings.Contains(err.Error(), "test guard") {
		t.Errorf("GET api-test.ksef.mf.gov.pl = %v, want the guard's refusal", err)
	}
	if len(refused) != 1 || refused[0] != "api-test.ksef.mf.gov.pl:443" {
		t.Errorf("refused %q, want the KSeF host by name (not resolved)", refused)
	}
}
