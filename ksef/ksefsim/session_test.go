package ksefsim_test

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/internal/testutil"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/ksef/ksefsim"
)

func TestOnlineSession(t *testing.T) {
	e := newEnv(t, nil)
	access := e.login()
	s := e.openOnline(access)
	day := "2026-03-10"

	good := e.send(access, s, invoiceXML(testNIP, "FV/1/2026", day), false)
	good2 := e.send(access, s, invoiceXML(testNIP, "FV/2/2026", day), false)
	dup := e.send(access, s, invoiceXML(testNIP, "FV/1/2026", day), false)
	foreign := e.send(access, s, invoiceXML(otherNIP, "FV/3/2026", day), false)
	badNS := e.send(access, s, []byte(strings.Replace(string(invoiceXML(testNIP, "FV/4/2026", day)), ksefsim.NSFA3, "urn:wrong", 1)), false)

	st := e.invoice(access, s.ref, good)
	if st.Status.Code != 200 || st.InvoicingMode != "Online" || st.InvoiceNumber != "FV/1/2026" {
		t.Fatalf("good invoice = %+v", st)
	}
	if !strings.HasPrefix(st.KsefNumber, testNIP+"-20260310-") || !validCRC(st.KsefNumber) {
		t.Fatalf("KSeF number %q: wrong shape or CRC", st.KsefNumber)
	}
	if k, err := ksef.ParseKSeFNumber(st.KsefNumber); err != nil || k.NIP != testNIP {
		t.Fatalf("ksef.ParseKSeFNumber(%q) = %+v, %v", st.KsefNumber, k, err)
	}
	tests := []struct {
		name string
		ref  string
		want int
	}{
		{"second", good2, 200},
		{"duplicate", dup, 440},
		{"foreign seller", foreign, 450},
		{"wrong namespace", badNS, 430},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := e.sub(t)
			got := e.invoice(access, s.ref, tt.ref)
			if got.Status.Code != tt.want {
				t.Fatalf("status = %+v, want %d", got.Status, tt.want)
			}
			if tt.want >= 400 && (len(got.Status.Details) == 0 || got.KsefNumber != "") {
				t.Fatalf("failed invoice needs details and no KSeF number: %+v", got)
			}
		})
	}
	d := e.invoice(access, s.ref, dup)
	if d.Status.Extensions["originalKsefNumber"] != st.KsefNumber || d.Status.Extensions["originalSessionReferenceNumber"] != s.ref {
		t.Fatalf("duplicate extensions = %v, want original %s in %s", d.Status.Extensions, st.KsefNumber, s.ref)
	}

	t.Run("InvoiceUPO", func(t *testing.T) {
		e := e.sub(t)
		// Pre-signed: no bearer.
		r := e.do("GET", st.UpoDownloadURL, "", nil)
		e.want(r, 200, "")
		h := sha256.Sum256(r.body)
		if got := r.header.Get("x-ms-meta-hash"); got != base64.StdEncoding.EncodeToString(h[:]) {
			t.Fatalf("x-ms-meta-hash = %q, want hash of body", got)
		}
		for _, want := range []string{st.KsefNumber, "<TrybWysylki>Online</TrybWysylki>", "<NumerReferencyjnyTokenaKSeF>", st.InvoiceHash} {
			if !strings.Contains(string(r.body), want) {
				t.Errorf("UPO lacks %q", want)
			}
		}
		xmllintUPO(t, r.body)
		// A tampered signature is refused.
		e.want(e.do("GET", strings.Replace(st.UpoDownloadURL, "sig=", "sig=x", 1), "", nil), 403, "")
		// The bearer endpoints return the same document.
		r2 := e.do("GET", "/v2/sessions/"+s.ref+"/invoices/ksef/"+st.KsefNumber+"/upo", access, nil)
		e.want(r2, 200, "")
		if string(r2.body) != string(r.body) {
			t.Fatalf("UPO by KSeF number differs from the pre-signed download")
		}
	})

	e.want(e.do("POST", "/v2/sessions/online/"+s.ref+"/close", access, nil), 204, "")
	r := e.do("GET", "/v2/sessions/"+s.ref, access, nil)
	e.want(r, 200, "SessionStatusResponse")
	var ss struct {
		Status                                                   struct{ Code int }
		InvoiceCount, SuccessfulInvoiceCount, FailedInvoiceCount int
		Upo                                                      struct {
			Pages []struct{ ReferenceNumber, DownloadURL string }
		}
	}
	r.json(t, &ss)
	if ss.Status.Code != 200 || ss.InvoiceCount != 5 || ss.SuccessfulInvoiceCount != 2 || ss.FailedInvoiceCount != 3 || len(ss.Upo.Pages) != 1 {
		t.Fatalf("session = %s", r.body)
	}
	up := e.do("GET", ss.Upo.Pages[0].DownloadURL, "", nil)
	e.want(up, 200, "")
	if n := strings.Count(string(up.body), "<Dokument>"); n != 2 {
		t.Fatalf("session UPO has %d documents, want 2", n)
	}
	xmllintUPO(t, up.body)

	t.Run("SendAfterClose", func(t *testing.T) {
		e := e.sub(t)
		e.wantCode(e.do("POST", "/v2/sessions/online/"+s.ref+"/invoices", access, sendReq(t, s, invoiceXML(testNIP, "FV/9", day), false, "")), 400, 21180)
	})
	t.Run("Failed", func(t *testing.T) {
		e := e.sub(t)
		r := e.do("GET", "/v2/sessions/"+s.ref+"/invoices/failed", access, nil)
		e.want(r, 200, "SessionInvoicesResponse")
		var out struct{ Invoices []invStatus }
		r.json(t, &out)
		if len(out.Invoices) != 3 {
			t.Fatalf("failed list has %d, want 3", len(out.Invoices))
		}
	})
	got := e.sim.Invoices()
	if len(got) != 2 || got[0].Receipts != 2 || got[1].Receipts != 1 {
		t.Fatalf("Invoices() = %+v, want 2 stored, FV/1 received twice", got)
	}
}

// validCRC checks a KSeF number's CRC-8 (poly 0x07, init 0, over 32 chars).
func validCRC(k string) bool {
	if len(k) != 35 {
		return false
	}
	var c byte
	for _, x := range []byte(k[:32]) {
		c ^= x
		for i := 0; i < 8; i++ {
			if c&0x80 != 0 {
				c = c<<1 ^ 0x07
			} else {
				c <<= 1
			}
		}
	}
	return fmt.Sprintf("%02X", c) == k[33:]
}

func TestCRCVectors(t *testing.T) {
	for _, k := range []string{"5265877635-20250826-0100001AF629-AF", "5265877635-20250626-010080DD2B5E-26", "5265877635-20250729-01004014E040-00"} {
		if !validCRC(k) {
			t.Errorf("validCRC(%s) = false", k)
		}
	}
}

func xmllintUPO(t *testing.T, b []byte) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "upo.xml")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	testutil.XMLLintSchema(t, testutil.Official("ksef/upo/upo-v4-3.xsd"), p)
}

func TestSendInvoiceErrors(t *testing.T) {
	e := newEnv(t, nil)
	access := e.login()
	s := e.openOnline(access)
	xml := invoiceXML(testNIP, "FV/E/1", "2026-03-10")
	tests := []struct {
		name   string
		mutate func(m map[string]any)
		code   int
	}{
		{"EncryptedSize", func(m map[string]any) { m["encryptedInvoiceSize"] = m["encryptedInvoiceSize"].(int) + 16 }, 21402},
		{"EncryptedHash", func(m map[string]any) { m["encryptedInvoiceHash"] = b64sha([]byte("other")) }, 21403},
		{"PlainSize", func(m map[string]any) { m["invoiceSize"] = m["invoiceSize"].(int) - 1 }, 21402},
		{"PlainHash", func(m map[string]any) { m["invoiceHash"] = b64sha([]byte("other")) }, 21403},
		{"MissingHash", func(m map[string]any) { delete(m, "invoiceHash") }, 21405},
		{"NotJSON", nil, 21405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := e.sub(t)
			var body any = "not json"
			if tt.mutate != nil {
				m := sendReq(t, s, xml, false, "")
				tt.mutate(m)
				body = m
			}
			e.wantCode(e.do("POST", "/v2/sessions/online/"+s.ref+"/invoices", access, body), 400, tt.code)
		})
	}
	t.Run("ProblemDetails", func(t *testing.T) {
		e := e.sub(t)
		e.extra = map[string][]string{"X-Error-Format": {"problem-details"}}
		defer func() { e.extra = nil }()
		m := sendReq(t, s, xml, false, "")
		m["encryptedInvoiceHash"] = b64sha([]byte("other"))
		r := e.do("POST", "/v2/sessions/online/"+s.ref+"/invoices", access, m)
		e.want(r, 400, "BadRequestProblemDetails")
		if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
			t.Fatalf("Content-Type = %q", ct)
		}
		if !strings.Contains(string(r.body), `"code":21403`) {
			t.Fatalf("problem lacks 21403: %s", r.body)
		}
	})
	t.Run("UnknownSession", func(t *testing.T) {
		e := e.sub(t)
		e.wantCode(e.do("GET", "/v2/sessions/20260310-SO-0000000000-0000000000-00", access, nil), 400, 21173)
	})
	t.Run("NothingStored", func(t *testing.T) {
		e := e.sub(t)
		if got := e.sim.Invoices(); len(got) != 0 {
			t.Fatalf("rejected requests stored %d invoices", len(got))
		}
	})
}

func TestOfflineClassification(t *testing.T) {
	e := newEnv(t, nil)
	// 23:30 UTC on 9 March is 00:30 on 10 March in Warsaw.
	e.clk.t = time.Date(2026, 3, 9, 23, 30, 0, 0, time.UTC)
	access := e.login()
	s := e.openOnline(access)
	tests := []struct {
		p1       string
		offline  bool
		wantMode string
		wantCode int
	}{
		{"2026-03-10", false, "Online", 200},
		{"2026-03-09", false, "Offline", 200},
		{"2026-03-10", true, "Offline", 200},
		{"2026-03-11", false, "", 450},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%s-%v", tt.p1, tt.offline), func(t *testing.T) {
			e := e.sub(t)
			ref := e.send(access, s, invoiceXML(testNIP, fmt.Sprintf("FV/O/%d", i), tt.p1), tt.offline)
			got := e.invoice(access, s.ref, ref)
			if got.Status.Code != tt.wantCode || got.InvoicingMode != tt.wantMode {
				t.Fatalf("got %d %q, want %d %q (%v)", got.Status.Code, got.InvoicingMode, tt.wantCode, tt.wantMode, got.Status.Details)
			}
		})
	}
}

func TestTechnicalCorrection(t *testing.T) {
	e := newEnv(t, nil)
	access := e.login()
	s := e.openOnline(access)
	// The original is rejected for a technical reason (declared encoding).
	orig := []byte(strings.Replace(string(invoiceXML(testNIP, "FV/K/1", "2026-03-10")), `encoding="UTF-8"`, `encoding="ISO-8859-2"`, 1))
	ref := e.send(access, s, orig, true)
	if got := e.invoice(access, s.ref, ref); got.Status.Code != 430 {
		t.Fatalf("original status = %d, want 430", got.Status.Code)
	}
	fixed := invoiceXML(testNIP, "FV/K/1", "2026-03-10")
	post := func(xml []byte, corrects string) result {
		return e.do("POST", "/v2/sessions/online/"+s.ref+"/invoices", access, sendReq(t, s, xml, true, corrects))
	}
	r := post(fixed, b64sha(orig))
	e.want(r, 202, "SendInvoiceResponse")
	var out struct{ ReferenceNumber string }
	r.json(t, &out)
	if got := e.invoice(access, s.ref, out.ReferenceNumber); got.Status.Code != 200 || got.InvoicingMode != "Offline" {
		t.Fatalf("correction = %+v", got)
	}
	e.wantCode(post(invoiceXML(testNIP, "FV/K/2", "2026-03-10"), b64sha(orig)), 400, 21166)
	e.wantCode(post(invoiceXML(testNIP, "FV/K/3", "2026-03-10"), b64sha(fixed)), 400, 21167)
}

func TestSessionLimitAndExpiry(t *testing.T) {
	e := newEnv(t, &ksefsim.Options{SessionInvoiceLimit: 2})
	access := e.login()
	s := e.openOnline(access)
	e.send(access, s, invoiceXML(testNIP, "FV/L/1", "2026-03-10"), false)
	e.send(access, s, invoiceXML(testNIP, "FV/L/2", "2026-03-10"), false)
	e.wantCode(e.do("POST", "/v2/sessions/online/"+s.ref+"/invoices", access, sendReq(t, s, invoiceXML(testNIP, "FV/L/3", "2026-03-10"), false, "")), 400, 21155)

	s2 := e.openOnline(access)
	e.sim.ExpireSessions()
	e.wantCode(e.do("POST", "/v2/sessions/online/"+s2.ref+"/invoices", access, sendReq(t, s2, invoiceXML(testNIP, "FV/L/4", "2026-03-10"), false, "")), 400, 21180)
	r := e.do("GET", "/v2/sessions/"+s2.ref, access, nil)
	e.want(r, 200, "SessionStatusResponse")
	if !strings.Contains(string(r.body), `"code":440`) {
		t.Fatalf("expired empty session = %s, want 440", r.body)
	}
}

func TestPaging(t *testing.T) {
	e := newEnv(t, nil)
	access := e.login()
	s := e.openOnline(access)
	for i := 0; i < 12; i++ {
		e.send(access, s, invoiceXML(testNIP, fmt.Sprintf("FV/P/%d", i), "2026-03-10"), false)
		e.clk.Add(time.Second) // stay under 10 sends per second
	}
	seen := map[string]bool{}
	token := ""
	for page := 0; ; page++ {
		if token != "" {
			e.extra = map[string][]string{"X-Continuation-Token": {token}}
		}
		r := e.do("GET", "/v2/sessions/"+s.ref+"/invoices?pageSize=10", access, nil)
		e.extra = nil
		e.want(r, 200, "SessionInvoicesResponse")
		var out struct {
			ContinuationToken string
			Invoices          []invStatus
		}
		r.json(t, &out)
		for _, inv := range out.Invoices {
			seen[inv.ReferenceNumber] = true
		}
		if out.ContinuationToken == "" {
			break
		}
		token = out.ContinuationToken
		if page > 3 {
			t.Fatal("paging does not end")
		}
	}
	if len(seen) != 12 {
		t.Fatalf("paged through %d invoices, want 12", len(seen))
	}
	e.wantCode(e.do("GET", "/v2/sessions/"+s.ref+"/invoices?pageSize=5", access, nil), 400, 21405)
}
