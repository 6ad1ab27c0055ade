package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
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

// runningService starts `posagent run` against the simulator and returns
// the test main, the till address and a stop function.
func runningService(t *testing.T) (tm *testMain, listen string, logs *syncBuffer, stop func()) {
	t.Helper()
	srv := simServer(t)
	tm = newTestMain(t)
	listen = freePort(t)
	tm.writeConfig(t, testConfig{ksefURL: srv.URL + "/v2", availURL: srv.URL + "/latarnia", listen: listen,
		extra: "[policy]\nupload_interval = \"1s\"\n\n[log]\nlevel = \"debug\"\nformat = \"json\"\n"})
	tm.mustRun(t, "cert", "import", writeCertFile(t, certstore.Offline, certstore.KeyRSA, time.Now().Add(-time.Hour), 365*24*time.Hour))
	// XAdES: token logins end on 2026-12-31.
	tm.mustRun(t, "cert", "import", "--usage", "authentication", writeCertFile(t, certstore.Authentication, certstore.KeyEC, time.Now().Add(-time.Hour), 365*24*time.Hour))
	logs = &syncBuffer{}
	svc := &Main{Stdout: logs, Stderr: logs, Root: tm.root, Getenv: tm.Getenv, certKDF: tm.certKDF}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx, []string{"run"}) }()
	tc := &tillClient{base: "http://" + listen, http: &http.Client{Timeout: 5 * time.Second}}
	waitUntil(t, "the till API", func() bool { return tc.do(ctx, http.MethodGet, "/v1/status", nil, nil, nil) == nil }, done, logs)
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run returned %v\n%s", err, logs)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("run did not stop\n%s", logs)
		}
	}
	t.Cleanup(stop)
	return tm, listen, logs, stop
}

// post sends body to the running till API as a till would, with host as
// the Host header, and returns the status, the header and the answer.
func post(t *testing.T, listen, path, host, key, body string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+listen+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, raw
}

func problemBody(t *testing.T, raw []byte) till.Problem {
	t.Helper()
	var p till.Problem
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatalf("not a problem: %s", raw)
	}
	return p
}

// TestRunTillDeveloper drives the running service from outside as a till
// developer would (issue 19): a sale KSeF would refuse for its size, a
// re-serialized replay, odd requests, DNS rebinding, and the stored XML and
// UPO through the API and the CLI while the service holds the store.
func TestRunTillDeveloper(t *testing.T) {
	tm, listen, logs, stop := runningService(t)
	// No issue_date: the service dates the sale by its own clock (the
	// test's today differs from it for a moment at midnight).
	sale := `{"buyer":{"kind":"consumer"},"lines":[{"name":"Kawa zbożowa","unit":"szt.","quantity":"2","unit_price":"7.50","vat_rate":"8"}],"payment":{"form":"cash","paid":true}}`

	// An invoice KSeF would refuse for its size: refused at issue, nothing
	// stored, no number used.
	var lines []string
	for i := range ksef.MaxLines {
		lines = append(lines, fmt.Sprintf(`{"name":"Towar %d","quantity":"1","unit_price":"1.00","vat_rate":"23"}`, i))
	}
	big := `{"buyer":{"kind":"consumer"},"lines":[` + strings.Join(lines, ",") + `]}`
	code, _, raw := post(t, listen, "/v1/sales", "", "big", big)
	p := problemBody(t, raw)
	if code != http.StatusUnprocessableEntity || p.Code != till.CodeInvoiceTooLarge || p.Limit != ksef.MaxInvoiceSize || p.Size <= p.Limit {
		t.Fatalf("10 000-line sale = %d %s, want 422 %s with size > limit %d", code, raw, till.CodeInvoiceTooLarge, ksef.MaxInvoiceSize)
	}
	code, _, raw = post(t, listen, "/v1/sales", "", "first", sale)
	var first till.View
	if code != http.StatusCreated || json.Unmarshal(raw, &first) != nil || !strings.HasSuffix(first.Number, "/000001") {
		t.Fatalf("first sale after the refusal = %d %s, want 201 with number …/000001", code, raw)
	}

	// The same sale re-serialized under its key is a replay.
	var m map[string]any
	if err := json.Unmarshal([]byte(sale), &m); err != nil {
		t.Fatal(err)
	}
	again, _ := json.MarshalIndent(m, "", "    ") // sorted keys, indented
	code, hdr, raw := post(t, listen, "/v1/sales", "", "first", string(again))
	var replay till.View
	if code != http.StatusOK || hdr.Get("Idempotent-Replayed") != "true" || json.Unmarshal(raw, &replay) != nil || replay.ID != first.ID {
		t.Errorf("re-serialized replay = %d %s, want 200 with %s", code, raw, first.ID)
	}

	// Odd shapes: a lone surrogate, a path with "..", a Host that is not
	// loopback, an oversized body written whole before the answer is read.
	code, _, raw = post(t, listen, "/v1/sales", "", "surrogate", strings.Replace(sale, "Kawa zbożowa", `Kawa \ud800`, 1))
	if p := problemBody(t, raw); code != http.StatusUnprocessableEntity || p.Code != till.CodeInvalidText || !strings.Contains(p.Detail, "lone UTF-16 surrogate") {
		t.Errorf("lone surrogate = %d %s, want 422 naming the surrogate", code, raw)
	}
	resp, err := http.Get("http://" + listen + "/v1/invoices/../status")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Content-Type") != till.ContentTypeProblem {
		t.Errorf("GET /v1/invoices/../status = %d %s %s, want 404 problem+json", resp.StatusCode, resp.Header.Get("Content-Type"), raw)
	}
	_, port, _ := net.SplitHostPort(listen)
	for host, want := range map[string]int{"rebind.example:" + port: http.StatusForbidden, "localhost:" + port: http.StatusCreated, "[::1]:" + port: http.StatusCreated} {
		code, _, raw := post(t, listen, "/v1/sales", host, "host-"+host, sale)
		if code != want || (want == http.StatusForbidden && problemBody(t, raw).Code != till.CodeHostNotAllowed) {
			t.Errorf("POST with Host %s = %d %s, want %d", host, code, raw, want)
		}
	}
	tooLarge(t, listen)

	// The XML and the UPO through the API while the service runs.
	tc := &tillClient{base: "http://" + listen, http: &http.Client{Timeout: 5 * time.Second}}
	ctx := context.Background()
	waitUntil(t, "acceptance", func() bool {
		var v till.View
		return tc.do(ctx, http.MethodGet, "/v1/invoices/"+first.ID, nil, nil, &v) == nil && v.Upload == "accepted"
	}, nil, logs)
	xml, err := tc.raw(ctx, "/v1/invoices/"+first.ID+"/xml")
	if sum := sha256.Sum256(xml); err != nil || hex.EncodeToString(sum[:]) != first.Hash {
		t.Fatalf("GET xml: %v; sha256 of %d bytes != the invoice's hash %s", err, len(xml), first.Hash)
	}
	upo, err := tc.raw(ctx, "/v1/invoices/"+first.ID+"/upo")
	if err != nil || !bytes.Contains(upo, []byte("NumerKSeFDokumentu")) {
		t.Fatalf("GET upo = %v %.200s", err, upo)
	}

	// And through the CLI, which reads the running store via the API.
	if out := tm.mustRun(t, "invoices", "show", "--xml", first.ID); out != string(xml) {
		t.Errorf("invoices show --xml while running: %d bytes, want the %d stored", len(out), len(xml))
	}
	if out := tm.mustRun(t, "invoices", "show", first.Number); !strings.Contains(out, first.Hash) || !strings.Contains(out, "accepted") {
		t.Errorf("invoices show NUMBER while running:\n%s", out)
	}
	live := filepath.Join(t.TempDir(), "live")
	var files []exported
	if err := json.Unmarshal([]byte(tm.mustRun(t, "invoices", "export", "--json", "--dir", live)), &files); err != nil || len(files) != 3 {
		t.Fatalf("invoices export while running = %+v, %v; want 3 invoices", files, err)
	}

	// The prefix of an error is not doubled.
	cfg, err := (&flags{m: tm.Main, config: tm.configPath()}).loadConfig()
	if err == nil {
		_, err = openStoreFor(cfg)
	}
	tm.stderr.Reset()
	tm.reportError(err)
	if got := tm.stderr.String(); !strings.HasPrefix(got, "posagent: the store is in use") || strings.Contains(got, "posagent: posagent:") {
		t.Errorf("error line = %q, want one \"posagent: \" prefix", got)
	}

	// After the stop the same export comes from the store: the same bytes.
	stop()
	closed := filepath.Join(t.TempDir(), "closed")
	tm.mustRun(t, "invoices", "export", "--dir", closed)
	for _, f := range files {
		for _, p := range []string{f.XML, f.UPO} {
			if p == "" {
				continue
			}
			a, err1 := os.ReadFile(p)
			b, err2 := os.ReadFile(filepath.Join(closed, filepath.Base(p)))
			if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
				t.Errorf("%s: exported while running and from the store differ (%v, %v)", filepath.Base(p), err1, err2)
			}
		}
	}
	if files[0].UPO == "" {
		t.Errorf("the accepted invoice was exported without its UPO: %+v", files[0])
	}
}

// tooLarge writes a 12 MiB body whole, as a simple client does, and wants
// the 413 back rather than a reset connection.
func tooLarge(t *testing.T, listen string) {
	t.Helper()
	conn, err := net.Dial("tcp", listen)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	body := strings.Repeat("x", 12<<20)
	head := fmt.Sprintf("POST /v1/sales HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nIdempotency-Key: huge\r\nContent-Length: %d\r\n\r\n", listen, len(body))
	if _, err := io.WriteString(conn, head+body); err != nil {
		t.Errorf("writing a 12 MiB body: %v, want it read and answered with 413", err)
		return
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Errorf("reading the answer to a 12 MiB body: %v", err)
		return
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("12 MiB body = %d, want 413", resp.StatusCode)
	}
}
