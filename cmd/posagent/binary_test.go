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
	"strconv"
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
	// XAdES: token logins end on 2026-12-31.
	mustBinary(t, tm, "cert", "import", "--usage", "authentication", writeCertFile(t, certstore.Authentication, certstore.KeyEC, time.Now().Add(-time.Hour), 365*24*time.Hour))

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

// TestBinaryDemo2027 is the rehearsal of issue #15 through the real binary:
// a demo on 2027-01-04 hands the B2B buyer a POTWIERDZENIE TRANSAKCJI
// without KOD II during the outage and, after the drain, its invoice with
// KOD I only, labelled with a KSeF number of that day.
func TestBinaryDemo2027(t *testing.T) {
	tm := newTestMain(t)
	dir := filepath.Join(t.TempDir(), "demo")
	out := mustBinary(t, tm, "demo", "--dir", dir, "--sales", "0", "--date", "2027-01-04T10:00")
	if !strings.Contains(out, "POTWIERDZENIE TRANSAKCJI") {
		t.Errorf("the demo does not say the B2B buyer got a confirmation:\n%s", out)
	}
	checkDemo(t, dir, 5, "ec")
	var demo demoContract
	raw, err := os.ReadFile(filepath.Join(dir, "demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &demo); err != nil {
		t.Fatal(err)
	}
	b2b := 0
	for _, inv := range demo.Invoices {
		if inv.P1 != "2027-01-04" || !strings.Contains(inv.KSeFNumber, "-20270104-") {
			t.Errorf("%s: p1 %s ksef %s, want 2027-01-04", inv.Number, inv.P1, inv.KSeFNumber)
		}
		xml, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(inv.File)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(xml, []byte("<NIP>"+demoBuyerNIP+"<")) || !bytes.Contains(xml, []byte("<RodzajFaktury>VAT<")) {
			continue
		}
		b2b++
		stem := filepath.Join(dir, "receipts", fileName(inv.Number))
		if codes := decodePNG(t, stem+"-potwierdzenie.png"); len(codes) != 0 {
			t.Errorf("the B2B confirmation carries codes %q, want none (no KOD II)", codes)
		}
		if codes := decodePNG(t, stem+".png"); len(codes) != 1 || codes[0] != inv.KOD1 {
			t.Errorf("the B2B invoice after the drain carries %q, want only KOD I %s", codes, inv.KOD1)
		}
	}
	if b2b != 1 {
		t.Errorf("%d B2B VAT invoices in the demo, want 1", b2b)
	}
}

// rehearsalCert is an Offline certificate valid both today and on every
// rehearsal date of these tests, whatever day they run.
func rehearsalCert(t *testing.T) string {
	from := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC)
	if now := time.Now(); now.Before(from) {
		from = now.Add(-time.Hour)
	} else if now.Add(24 * time.Hour).After(to) {
		to = now.Add(365 * 24 * time.Hour)
	}
	return writeCertFile(t, certstore.Offline, certstore.KeyEC, from, to.Sub(from))
}

// TestBinaryPenalties2027 runs the binary on three rehearsal dates over one
// store while KSeF is unreachable: on 2027-01-12 an invoice whose deadline
// passed on 2026-12-31 is overdue without exposure, one due 2027-01-05 is
// exposed to 100% of its VAT (art. 106ni), and the status, the page, the
// metric and the alarm say so.
func TestBinaryPenalties2027(t *testing.T) {
	posagentBinary(t)
	sim, err := ksefsim.New(&ksefsim.Options{Tokens: map[string]string{"test-ksef-token": "5265877635"}, DisableRateLimits: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.InjectFault(ksefsim.Fault{Kind: ksefsim.FaultDrop, Count: ksefsim.Forever, PathPrefix: "/v2"}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	tm := newTestMain(t)
	listen := freePort(t)
	tm.writeConfig(t, testConfig{ksefURL: srv.URL + "/v2", availURL: srv.URL + "/latarnia", listen: listen})
	mustBinary(t, tm, "cert", "import", rehearsalCert(t))
	base := "http://" + listen
	up := func(r *binaryRun) {
		waitBinary(t, r, "the till API", func() bool {
			resp, err := http.Get(base + "/v1/status")
			if err == nil {
				resp.Body.Close()
			}
			return err == nil
		})
	}
	sale := map[string]any{"buyer": map[string]any{"kind": "consumer"},
		"lines":   []any{map[string]any{"name": "Kawa", "quantity": "2", "unit_price": "12.30", "vat_rate": "23"}},
		"payment": map[string]any{"form": "card", "paid": true}}
	var views []till.View
	for i, date := range []string{"2026-12-30T10:00", "2027-01-04T10:00"} {
		r := startBinary(t, tm, "run", "--date", date)
		up(r)
		status, body := postSale(t, base, fmt.Sprint("s", i), sale)
		var v till.View
		if err := json.Unmarshal(body, &v); err != nil || status != http.StatusCreated {
			t.Fatalf("sale on %s: %d %s", date, status, body)
		}
		views = append(views, v)
		r.stop(t)
	}
	r := startBinary(t, tm, "run", "--date", "2027-01-12T10:00")
	up(r)
	var st till.Status
	resp, err := http.Get(base + "/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	want := map[string]till.Overdue{
		views[0].ID: {Exposure: 0, Basis: "none"},
		views[1].ID: {Exposure: views[1].VAT, Basis: "100% VAT"},
	}
	if len(st.Backlog.Overdue) != 2 || st.Backlog.Exposure != views[1].VAT {
		t.Fatalf("status backlog %+v, want two overdue and exposure %v", st.Backlog, views[1].VAT)
	}
	for _, o := range st.Backlog.Overdue {
		if w := want[o.ID]; o.Exposure != w.Exposure || o.Basis != w.Basis {
			t.Errorf("%s (deadline %v): exposure %v %s, want %v %s", o.Number, o.Deadline, o.Exposure, o.Basis, w.Exposure, w.Basis)
		}
	}
	metric := fmt.Sprintf("\nposagent_penalty_exposure_pln %s\n", strconv.FormatFloat(float64(views[1].VAT)/100, 'g', -1, 64))
	waitBinary(t, r, "the metric and the alarm", func() bool {
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			return false
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return bytes.Contains(b, []byte(metric)) && strings.Contains(r.logs.String(), "ALARM")
	})
	logs := r.logs.String()
	for _, w := range []string{"art. 106ni ust. 1 pkt 3", "100% VAT: 1 invoice", "none (deadline before 2027-01-01): 1 invoice"} {
		if !strings.Contains(logs, w) {
			t.Errorf("the alarm does not say %q:\n%s", w, logs)
		}
	}
	resp, err = http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(page, []byte(views[1].VAT.String()+" PLN (100% VAT)")) || !bytes.Contains(page, []byte("0.00 PLN (none)")) {
		t.Errorf("the status page lacks the exposure per invoice:\n%s", page)
	}
}
