package ksefsim

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/posagent/posagent/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestUPOGolden(t *testing.T) {
	at := time.Date(2026, 3, 10, 11, 5, 40, 841e6, time.UTC)
	s := &Server{st: newState()}
	s.st.AuthOps["20260310-AU-0000000001-0000000002-11"] = &authOp{TokenRef: "20260310-TK-0A0B0C0D0E-0F10111213-8A"}
	ss := &session{Ref: "20260310-SO-2C3E6C8000-B675CF5D68-07", NIP: "5265877635", AuthRef: "20260310-AU-0000000001-0000000002-11"}
	invs := []*invoice{
		{SellerNIP: "5265877635", KSeF: "5265877635-20260310-0100001AF629-AF", Number: "FV/1/2026 & <A>", IssueDate: "2026-03-10",
			InvoicingDate: at, Acquired: at.Add(204 * time.Millisecond), Hash: "GZMGNVzs3krF6URKgvaw77OOeG3nJ+WGziT5xguliQ8="},
		{SellerNIP: "5265877635", KSeF: "5265877635-20260310-010080DD2B5E-26", Number: "FV/2/2026", IssueDate: "2026-03-09",
			InvoicingDate: at, Acquired: at, Hash: "EbrK4cOSjW4hEpJaHU71YXSOZZmqP5++dK9nLgTzgV4=", Offline: true},
	}
	got := s.upo(ss, invs)
	golden := filepath.Join("testdata", "upo-session.golden.xml")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("UPO differs from %s:\ngot:\n%s", golden, got)
	}
	testutil.XMLLintSchema(t, testutil.Official("ksef/upo/upo-v4-3.xsd"), golden)
}

func TestRateLimitWindows(t *testing.T) {
	s := &Server{limits: map[string][]time.Time{}, scale: 1}
	t0 := time.Date(2026, 3, 10, 10, 0, 0, 0, time.UTC)
	// invoiceSend: 10/s, 30/min, 180/h. Ten in the same instant pass.
	for i := 0; i < 10; i++ {
		if err := s.rateLimit(groupInvoiceSend, "n", "ip", t0); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	err := s.rateLimit(groupInvoiceSend, "n", "ip", t0.Add(500*time.Millisecond))
	rl, ok := err.(*rateLimitError)
	if !ok || rl.retryAfter != 1 {
		t.Fatalf("11th in a second = %v, want 429 with Retry-After 1", err)
	}
	// Another context or IP has its own windows.
	if err := s.rateLimit(groupInvoiceSend, "other", "ip", t0); err != nil {
		t.Fatalf("other context: %v", err)
	}
	// 20 more spread over the minute fill the 30/min window.
	for i := 1; i <= 20; i++ {
		if err := s.rateLimit(groupInvoiceSend, "n", "ip", t0.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatalf("request at %ds: %v", i, err)
		}
	}
	err = s.rateLimit(groupInvoiceSend, "n", "ip", t0.Add(30*time.Second))
	rl, ok = err.(*rateLimitError)
	if !ok || rl.retryAfter != 30 {
		t.Fatalf("31st in a minute = %v, want Retry-After 30 (the first ten leave at 60 s)", err)
	}
	if err := s.rateLimit(groupInvoiceSend, "n", "ip", t0.Add(60*time.Second)); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}
