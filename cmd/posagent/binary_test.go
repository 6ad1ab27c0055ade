package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posagent/posagent/certstore"
	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/escpos"
	"github.com/posagent/posagent/escpos/escpostest"
	"github.com/posagent/posagent/internal/testutil"
	"github.com/posagent/posagent/ksef/ksefsim"
	"github.com/posagent/posagent/receipt"
	"github.com/posagent/posagent/till"
)

var (
	binOnce sync.Once
	binDir  string // removed by TestMain
	binPath string
	binErr  error
)

// posagentBinary builds this command once per test run and returns the
// binary's path. It is not run under -short.
func posagentBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the posagent binary")
	}
	goTool := testutil.RequireTool(t, "go")
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "posagent-bin-"); binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "posagent")
		out, err := exec.Command(goTool, "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// binaryRun is `posagent run` as a process on tm's install root.
type binaryRun struct {
	cmd    *exec.Cmd
	logs   *syncBuffer
	exited chan struct{} // closed when the process has ended, err set
	err    error
	once   sync.Once
}

// startBinary runs the binary with args on tm's root until the test ends.
func startBinary(t *testing.T, tm *testMain, args ...string) *binaryRun {
	t.Helper()
	r := &binaryRun{logs: &syncBuffer{}, exited: make(chan struct{})}
	r.cmd = exec.Command(posagentBinary(t), args...)
	r.cmd.Env = append(os.Environ(), EnvRoot+"="+tm.root)
	r.cmd.Stdout, r.cmd.Stderr = r.logs, r.logs
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.err = r.cmd.Wait(); close(r.exited) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop ends the process with SIGTERM, as systemd does, and checks it exits 0.
func (r *binaryRun) stop(t *testing.T) {
	r.once.Do(func() {
		_ = r.cmd.Process.Signal(os.Interrupt)
		select {
		case <-r.exited:
			if r.err != nil {
				t.Errorf("posagent exited with %v\n%s", r.err, r.logs)
			}
		case <-time.After(20 * time.Second):
			_ = r.cmd.Process.Kill()
			<-r.exited
			t.Errorf("posagent did not stop on SIGTERM\n%s", r.logs)
		}
	})
}

// mustBinary runs a short command of the binary on tm's root.
func mustBinary(t *testing.T, tm *testMain, args ...string) string {
	t.Helper()
	cmd := exec.Command(posagentBinary(t), args...)
	cmd.Env = append(os.Environ(), EnvRoot+"="+tm.root)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("posagent %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// postSale posts a sale to the till API and returns the status and body.
func postSale(t *testing.T, base, key string, sale map[string]any) (int, []byte) {
	t.Helper()
	b, _ := json.Marshal(sale)
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/sales", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// TestBinaryB2BAndDates runs the real binary against the simulator: a B2B
// sale during an outage prints a POTWIERDZENIE TRANSAKCJI without codes and,
// once KSeF accepts the invoice, the invoice with KOD I labelled with its
// KSeF number (printer.print_on_acceptance); the till API refuses an
// issue_date other than today, a sale_date outside the Act's range and a
// quantity beyond 10^9 with their documented codes.
func TestBinaryB2BAndDates(t *testing.T) {
	posagentBinary(t)
	sim, err := ksefsim.New(&ksefsim.Options{Tokens: map[string]string{"test-ksef-token": "5265877635"}, DisableRateLimits: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	tm := newTestMain(t)
	listen := freePort(t)
	paper := filepath.Join(tm.root, "printer.bin")
	path := tm.writeConfig(t, testConfig{ksefURL: srv.URL + "/v2", availURL: srv.URL + "/latarnia", listen: listen,
		printerPort: "file:" + paper, extra: "[policy]\nupload_interval = \"1s\"\n"})
	cfg, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg = bytes.Replace(cfg, []byte("paper = 80\n"), []byte("paper = 80\nprint_on_acceptance = true\n"), 1)
	if err := os.WriteFile(path, cfg, 0o640); err != nil {
		t.Fatal(err)
	}
	mustBinary(t, tm, "cert", "import", writeCertFile(t, certstore.Offline, certstore.KeyEC, time.Now().Add(-time.Hour), 365*24*time.Hour))

	if err := sim.InjectFault(ksefsim.Fault{Kind: ksefsim.FaultDrop, Count: ksefsim.Forever, PathPrefix: "/v2"}); err != nil {
		t.Fatal(err)
	}
	run := startBinary(t, tm, "run")
	base := "http://" + listen
	waitBinary(t, run, "the till API", func() bool {
		resp, err := http.Get(base + "/v1/status")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})

	line := map[string]any{"name": "Olej napędowy ON", "unit": "l", "quantity": "40", "unit_price": "6.49", "vat_rate": "23"}
	sale := func(edit func(map[string]any)) map[string]any {
		s := map[string]any{"buyer": map[string]any{"kind": "nip", "nip": "7740001454", "name": "Firma Transportowa „Łoś” S.A."},
			"lines": []any{line}, "payment": map[string]any{"form": "card", "paid": true}}
		if edit != nil {
			edit(s)
		}
		return s
	}
	for _, tt := range []struct {
		name, code string
		edit       func(map[string]any)
	}{
		{"issue_date 2017", till.CodeIssueDateNotToday, func(s map[string]any) { s["issue_date"] = "2017-01-01" }},
		{"sale_date 2049", till.CodeSaleDateOutOfRange, func(s map[string]any) { s["sale_date"] = "2049-12-31" }},
		{"quantity beyond 10^9", till.CodeQuantityOutOfRange, func(s map[string]any) {
			s["lines"] = []any{map[string]any{"name": "x", "quantity": "1000000001", "unit_price": "1.00", "vat_rate": "23"}}
		}},
	} {
		status, body := postSale(t, base, "bad-"+strings.ReplaceAll(tt.name, " ", "-"), sale(tt.edit))
		var p till.Problem
		if err := json.Unmarshal(body, &p); err != nil || status != http.StatusUnprocessableEntity || p.Code != tt.code {
			t.Errorf("%s: %d %s, want 422 %s", tt.name, status, body, tt.code)
		}
	}

	status, body := postSale(t, base, "b2b", sale(nil))
	var v till.View
	if err := json.Unmarshal(body, &v); err != nil || status != http.StatusCreated {
		t.Fatalf("B2B sale: %d %s", status, body)
	}
	if !v.Confirmation || v.Mode != "offline24" || v.IssueDate.String() == "" {
		t.Errorf("B2B sale during the outage: %s; want offline24, a confirmation and today's issue_date", body)
	}
	conf, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	prof, err := profileFor(conf.Printer) // what the service prints with
	if err != nil {
		t.Fatal(err)
	}
	var page *escpos.Page
	readPaper := func() *escpos.Page {
		b, err := os.ReadFile(paper)
		if err != nil || len(b) == 0 {
			return nil
		}
		p, err := escpos.Render(b, prof)
		if err != nil {
			t.Fatalf("printer.bin: %v", err)
		}
		return p
	}
	waitBinary(t, run, "the confirmation", func() bool { page = readPaper(); return page != nil && page.Cuts >= 1 })
	if text := pageText(page); !strings.Contains(text, receipt.TitleConfirmation) || !strings.Contains(text, v.Number) ||
		!strings.Contains(text, "NIP: 7740001454") || len(page.Graphics) != 0 || strings.Contains(text, receipt.TitleVAT) {
		t.Fatalf("during the outage the paper shows %d codes:\n%s\nwant a POTWIERDZENIE TRANSAKCJI without codes", len(page.Graphics), text)
	}

	sim.ClearFaults()
	waitBinary(t, run, "the invoice after acceptance", func() bool { page = readPaper(); return page != nil && page.Cuts >= 2 })
	resp, err := http.Get(base + "/v1/invoices/" + v.ID)
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&v)
	resp.Body.Close()
	codes, err := escpostest.DecodeAllQR(page)
	if err != nil {
		t.Fatal(err)
	}
	text := pageText(page)
	if v.Upload != "accepted" || len(codes) != 1 || codes[0] != v.Kod1 || !strings.Contains(text, receipt.TitleVAT) ||
		!strings.Contains(text, v.KSeFNumber) || strings.Contains(text, "DUPLIKAT") {
		t.Errorf("after acceptance (%s %s): codes %q, paper:\n%s\nwant the invoice with KOD I labelled with its KSeF number", v.Upload, v.KSeFNumber, codes, text)
	}
	run.stop(t)
}

func waitBinary(t *testing.T, r *binaryRun, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		select {
		case <-r.exited:
			t.Fatalf("posagent exited (%v) while waiting for %s\n%s", r.err, what, r.logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s\n%s", what, r.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func pageText(p *escpos.Page) string {
	var sb strings.Builder
	for _, l := range p.Lines {
		sb.WriteString(l.Text + "\n")
	}
	return sb.String()
}
