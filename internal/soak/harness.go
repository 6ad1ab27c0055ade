package soak

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posagent/posagent/certstore"
	"github.com/posagent/posagent/certstore/certstoretest"
	"github.com/posagent/posagent/internal/testutil"
	"github.com/posagent/posagent/ksef"
)

// Secrets of every Site: a test scans the logs for them.
const (
	KSeFToken = "soak-ksef-token-7d1c"
	TillToken = "soak-till-token-0123456789abcdef"
	SellerNIP = certstoretest.NIP
	Terminal  = "SOAK1"
	Numbering = "{terminal}/{yyyy}/{seq:06}"
)

// BuildPosagent compiles cmd/posagent into a temporary directory.
func BuildPosagent(tb testing.TB) string {
	tb.Helper()
	bin, err := BuildPosagentTo(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	return bin
}

// BuildPosagentTo compiles cmd/posagent into dir and returns its path.
func BuildPosagentTo(dir string) (string, error) {
	bin := filepath.Join(dir, "posagent")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/posagent")
	cmd.Dir = testutil.RepoRoot()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/posagent: %w\n%s", err, out)
	}
	return bin, nil
}

// FreeAddr returns a loopback address that was free a moment ago.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// SiteOptions configure a Site.
type SiteOptions struct {
	KSeFURL        string // the simulator's base URL (without /v2)
	BatchThreshold int    // policy.batch_threshold; 0 means 20
	CapMB          int    // store.cap_mb; 0 means the default
	LogLevel       string // log.level; "" means debug
	PrinterPort    string // printer.port; "" means a file in the site's directory
	KSeFTimeout    string // ksef.timeout; "" means 10s
	// PrinterExtra holds more keys of [printer], as TOML lines (baud,
	// handshake, reprint_window …).
	PrinterExtra string
}

// Site is one terminal on this machine: a configuration, a data directory
// with an imported Offline certificate, and the posagent binary. Everything
// the processes print is kept for the secret scan.
type Site struct {
	tb      testing.TB
	Bin     string
	Dir     string
	Config  string
	Till    string // host:port of the till API
	Cert    *certstore.Cert
	KeyPEM  []byte
	Env     []string
	logMu   sync.Mutex // guards logs
	logs    bytes.Buffer
	httpc   *http.Client
	opts    SiteOptions
	DataDir string
}

// NewSite writes the configuration and imports a fresh EC Offline
// certificate with `posagent cert import`.
func NewSite(tb testing.TB, bin string, opts SiteOptions) *Site {
	tb.Helper()
	if opts.BatchThreshold == 0 {
		opts.BatchThreshold = 20
	}
	if opts.LogLevel == "" {
		opts.LogLevel = "debug"
	}
	if opts.KSeFTimeout == "" {
		opts.KSeFTimeout = "10s"
	}
	dir := tb.TempDir()
	s := &Site{tb: tb, Bin: bin, Dir: dir, Config: filepath.Join(dir, "posagent.toml"), Till: FreeAddr(tb),
		DataDir: filepath.Join(dir, "data"), httpc: &http.Client{Timeout: 10 * time.Second}, opts: opts}
	if opts.PrinterPort == "" {
		opts.PrinterPort = "file:" + filepath.Join(dir, "printer.bin")
	}
	s.Env = append(os.Environ(), "POSAGENT_KSEF_TOKEN="+KSeFToken, "POSAGENT_TILL_TOKEN="+TillToken, "LOG_LEVEL="+opts.LogLevel)
	capLine := ""
	if opts.CapMB > 0 {
		capLine = fmt.Sprintf("cap_mb = %d\n", opts.CapMB)
	}
	cfg := fmt.Sprintf(`[seller]
nip = %q
name = "Stacja Soak Sp. z o.o."
address_line1 = "ul. Testowa 1"
address_line2 = "00-001 Warszawa"

[terminal]
id = %q
numbering = %q
reset = "never"

[ksef]
environment = "test"
url = %q
availability_url = %q
timeout = %q

[printer]
port = %q
%s
[till]
listen = %q

[store]
dir = %q
%s
[policy]
upload_interval = "1s"
batch_threshold = %d

[log]
level = %q
format = "json"
`, SellerNIP, Terminal, Numbering, opts.KSeFURL+"/v2", opts.KSeFURL+"/latarnia", opts.KSeFTimeout,
		opts.PrinterPort, opts.PrinterExtra, s.Till, s.DataDir, capLine, opts.BatchThreshold, opts.LogLevel)
	if err := os.WriteFile(s.Config, []byte(cfg), 0o600); err != nil {
		tb.Fatal(err)
	}
	certPEM, keyPEM := certstoretest.Generate(tb, certstore.Offline, certstore.KeyEC)
	s.KeyPEM = keyPEM
	c, err := certstore.Parse(certstore.Offline, append(slices.Clone(certPEM), keyPEM...), "", time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	s.Cert = c
	pemFile := filepath.Join(dir, "offline.pem")
	if err := os.WriteFile(pemFile, append(slices.Clone(certPEM), keyPEM...), 0o600); err != nil {
		tb.Fatal(err)
	}
	if out, err := s.CLI("cert", "import", "--config", s.Config, "--usage", "offline", pemFile); err != nil {
		tb.Fatalf("posagent cert import: %v\n%s", err, out)
	}
	// The key now lives encrypted in the store; the plain PEM goes.
	if err := os.Remove(pemFile); err != nil {
		tb.Fatal(err)
	}
	// The agent logs in with XAdES (the default; tokens end on 2026-12-31).
	authPEM, authKey := certstoretest.Generate(tb, certstore.Authentication, certstore.KeyEC)
	authFile := filepath.Join(dir, "authentication.pem")
	if err := os.WriteFile(authFile, append(authPEM, authKey...), 0o600); err != nil {
		tb.Fatal(err)
	}
	if out, err := s.CLI("cert", "import", "--config", s.Config, "--usage", "authentication", authFile); err != nil {
		tb.Fatalf("posagent cert import --usage authentication: %v\n%s", err, out)
	}
	if err := os.Remove(authFile); err != nil {
		tb.Fatal(err)
	}
	return s
}

// StorePath is the bbolt file the agent uses.
func (s *Site) StorePath() string { return filepath.Join(s.DataDir, "outbox.db") }

// CLI runs a posagent verb and keeps its output with the logs.
func (s *Site) CLI(args ...string) ([]byte, error) {
	cmd := exec.Command(s.Bin, args...)
	cmd.Env = s.Env
	out, err := cmd.CombinedOutput()
	_, _ = s.Write(out)
	return out, err
}

// Write appends to the logs; Site is the stdout and stderr of its processes.
func (s *Site) Write(b []byte) (int, error) {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return s.logs.Write(b)
}

// Logs returns everything the processes printed so far.
func (s *Site) Logs() []byte {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return bytes.Clone(s.logs.Bytes())
}

// Tail returns the last 4000 bytes of the logs, for failure messages.
func (s *Site) Tail() string {
	b := s.Logs()
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// Proc is one running posagent process.
type Proc struct {
	Cmd  *exec.Cmd
	done chan error
}

// Start runs `posagent run` and waits until the till API answers.
func (s *Site) Start() *Proc {
	s.tb.Helper()
	cmd := exec.Command(s.Bin, "run", "--config", s.Config)
	cmd.Env = s.Env
	cmd.Stdout, cmd.Stderr = s, s
	if err := cmd.Start(); err != nil {
		s.tb.Fatal(err)
	}
	p := &Proc{Cmd: cmd, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-p.done:
			s.tb.Fatalf("posagent run exited early: %v\n%s", err, s.Tail())
		default:
		}
		if resp, err := s.Do("GET", "/v1/status", "", nil); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			s.tb.Fatalf("till API did not come up in 30 s\n%s", s.Tail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Wait waits for the process to exit, killing it after 30 s.
func (p *Proc) Wait(tb testing.TB) error {
	tb.Helper()
	select {
	case err := <-p.done:
		return err
	case <-time.After(30 * time.Second):
		_ = p.Cmd.Process.Kill()
		tb.Fatal("posagent did not exit within 30 s")
		return nil
	}
}

// Memory is a process's resident set from /proc/PID/status, in KiB.
type Memory struct {
	RSS, HWM int64 // VmRSS now, VmHWM peak
	// RSS by kind: the heap and stacks (Anon) against pages of mapped files
	// (File: the store's mmap and the binary), which the kernel may drop and
	// fault back from the page cache.
	Anon, File, Shmem int64
}

// Memory reads the process's resident set size and its peak.
func (p *Proc) Memory() (Memory, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Cmd.Process.Pid))
	if err != nil {
		return Memory{}, err
	}
	var m Memory
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			m.RSS = v
		case "VmHWM:":
			m.HWM = v
		case "RssAnon:":
			m.Anon = v
		case "RssFile:":
			m.File = v
		case "RssShmem:":
			m.Shmem = v
		}
	}
	if m.RSS == 0 {
		return m, errors.New("soak: no VmRSS in /proc status")
	}
	return m, nil
}

// Do sends a request to the till API with the bearer token.
func (s *Site) Do(method, path, key string, body []byte) (*http.Response, error) {
	req, err := http.NewRequest(method, "http://"+s.Till+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	req.Header.Set("Authorization", "Bearer "+TillToken)
	return s.httpc.Do(req)
}

// SaleBody is the i-th sale of a run: two lines, the fuel quantity varying
// with i, dated today (Europe/Warsaw).
func SaleBody(i int) []byte {
	return fmt.Appendf(nil, `{"issue_date":%q,"buyer":{"kind":"consumer"},"lines":[`+
		`{"name":"Benzyna Pb95","unit":"l","quantity":"%d.25","unit_price":"6.49","vat_rate":"23"},`+
		`{"name":"Kawa czarna","unit":"szt.","quantity":"1","unit_price":"12.30","vat_rate":"23"}]}`,
		ksef.DateOf(time.Now()).String(), 10+i%40)
}

// Acked is a sale the till API acknowledged (201, or 200 for a replay).
type Acked struct {
	Key    string
	ID     string
	Number string
}

// Post sends sale i under key, the way a till does: a 503 (store busy or
// full) is retried after its Retry-After, up to MaxBusy times. ok is false
// when no acknowledgement arrived (the process died mid-request): the till
// must retry the key. err reports any other answer than 200/201.
func (s *Site) Post(key string, i int) (a Acked, ok bool, err error) {
	for try := 0; ; try++ {
		resp, err := s.Do("POST", "/v1/sales", key, SaleBody(i))
		if err != nil {
			return Acked{}, false, nil
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return Acked{}, false, nil // killed while answering
		}
		if resp.StatusCode == http.StatusServiceUnavailable && try < MaxBusy {
			wait := time.Second
			if n, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && n > 0 {
				wait = min(time.Duration(n)*time.Second, 5*time.Second)
			}
			time.Sleep(wait)
			continue
		}
		if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
			size := int64(-1)
			if fi, err := os.Stat(s.StorePath()); err == nil {
				size = fi.Size()
			}
			return Acked{}, false, fmt.Errorf("POST /v1/sales %s: %d %s (store file %d bytes, try %d)", key, resp.StatusCode, b, size, try+1)
		}
		var v struct{ ID, Number string }
		if err := json.Unmarshal(b, &v); err != nil || v.ID == "" || v.Number == "" {
			if err == nil {
				err = errors.New("no id or number")
			}
			return Acked{}, false, fmt.Errorf("POST /v1/sales %s: bad body %q: %w", key, b, err)
		}
		return Acked{Key: key, ID: v.ID, Number: v.Number}, true, nil
	}
}

// MaxBusy is how many 503 answers Post rides out for one sale.
const MaxBusy = 10

// Backlog returns backlog.count of /v1/status: invoices not yet accepted.
func (s *Site) Backlog() (int, error) {
	var st struct {
		Backlog struct {
			Count *int `json:"count"`
		} `json:"backlog"`
	}
	if err := s.getJSON("/v1/status", &st); err != nil {
		return 0, err
	}
	if st.Backlog.Count == nil {
		return 0, errors.New("soak: status without backlog.count")
	}
	return *st.Backlog.Count, nil
}

// getJSON decodes the answer to a GET of the till API into v.
func (s *Site) getJSON(path string, v any) error {
	resp, err := s.Do("GET", path, "", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("soak: GET %s: %d %s", path, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("soak: GET %s: %w", path, err)
	}
	return nil
}

// PrintPending returns printer.pending of /v1/status: the print jobs the
// store holds not yet printed.
func (s *Site) PrintPending() (int, error) {
	var st struct {
		Printer struct {
			Pending *int `json:"pending"`
		} `json:"printer"`
	}
	if err := s.getJSON("/v1/status", &st); err != nil {
		return 0, err
	}
	if st.Printer.Pending == nil {
		return 0, errors.New("soak: status without printer.pending")
	}
	return *st.Printer.Pending, nil
}

// Listed is an invoice as GET /v1/invoices lists it.
type Listed struct {
	ID     string `json:"id"`
	Number string `json:"number"`
	Print  string `json:"print_state"`
}

// Invoices returns every invoice in state (the till API's filter; "" for
// all), paging through GET /v1/invoices.
func (s *Site) Invoices(state string) ([]Listed, error) {
	var all []Listed
	after := ""
	for {
		path := "/v1/invoices?limit=500"
		if state != "" {
			path += "&state=" + state
		}
		if after != "" {
			path += "&after=" + after
		}
		var page struct {
			Invoices []Listed `json:"invoices"`
			Next     string   `json:"next"`
		}
		if err := s.getJSON(path, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Invoices...)
		if page.Next == "" || len(page.Invoices) == 0 {
			return all, nil
		}
		after = page.Next
	}
}

// Reprint asks for a duplicate of invoice id.
func (s *Site) Reprint(id string) error {
	resp, err := s.Do("POST", "/v1/invoices/"+id+"/reprint", "", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("soak: reprint %s: %d %s", id, resp.StatusCode, b)
	}
	return nil
}
