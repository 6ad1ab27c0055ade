package ksefe2e_test

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/certstore"
	"github.com/posagent/posagent/ksef/ksefapi"
	"github.com/posagent/posagent/ksef/ksefsim"
	"github.com/posagent/posagent/ksef/ksefsim/ksefsimtest"
)

// TestConformance drives every API operation the client uses, with success
// and error answers, through the validating wire: each request body the client
// writes and each response body the simulator writes must match the schema
// open-api.json names for that operation, status and media type. The test then
// checks that the run really covered every operation and error shape.
func TestConformance(t *testing.T) {
	h := start(t, ksefsim.Options{TimeScale: 60})
	c := h.tokenClient()

	// Online: open, send (good and broken), close, statuses, lists, UPOs.
	s := openOnline(t, c)
	ref := send(t, s, invoice(t, "FV/C/1", h.clk.today(), "1.00"))
	badRef := send(t, s, []byte("<not-an-invoice/>"))
	if err := s.Close(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitSession(ctx(t), s.Reference); err != nil {
		t.Fatal(err)
	}
	st := waitInvoice(t, c, s.Reference, ref)
	waitInvoice(t, c, s.Reference, badRef)
	if _, err := c.AllInvoices(ctx(t), s.Reference, false); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AllInvoices(ctx(t), s.Reference, true); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.InvoiceUPO(ctx(t), s.Reference, ref); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.DownloadUPO(ctx(t), st.UpoDownloadURL); err != nil {
		t.Fatal(err)
	}

	// Batch.
	if _, err := c.SendBatch(ctx(t), one("c.xml", invoice(t, "FV/C/2", h.clk.today(), "2.00")), ksefapi.BatchOptions{TempDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}

	// XAdES login and refresh.
	x := h.client(h.xadesAuth(ksefsimtest.NIP, certstore.KeyEC), nil)
	tok, err := x.Authenticate(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x.Refresh(ctx(t), tok.Refresh); err != nil {
		t.Fatal(err)
	}

	// Certificates, after the XAdES login: limits, data, enroll, status,
	// retrieve, query, revoke; and the refusals after a token login.
	enrollCert(t, h, x, ksefapi.CertOffline)
	if _, err := c.EnrollmentData(ctx(t)); err == nil {
		t.Error("enrollment data after a token login succeeded")
	}
	if err := c.RevokeCertificate(ctx(t), "0000000000000001", ""); err == nil {
		t.Error("revocation after a token login succeeded")
	}

	// Errors: 400 (problem+json), 401, 429.
	if _, err := c.InvoiceStatus(ctx(t), s.Reference, "20261120-EE-0000000000-0000000000-00"); err == nil {
		t.Error("status of an unknown invoice succeeded")
	}
	h.sim.ExpireTokens(false)
	if _, err := c.SessionStatus(ctx(t), s.Reference); err != nil {
		t.Fatal(err)
	}
	s2 := openOnline(t, c)
	for i := range 40 {
		_, err := s2.Send(ctx(t), invoice(t, fmt.Sprintf("FV/C/R%d", i), h.clk.today(), price(i)), ksefapi.SendOptions{})
		if err != nil {
			if ae := asAPIError(t, err); ae.Status != http.StatusTooManyRequests {
				t.Fatalf("send %d: %v", i, err)
			}
			break
		}
	}

	// The legacy error formats, which the client never asks for: a request
	// without X-Error-Format gets ExceptionResponse / TooManyRequestsResponse.
	raw := &http.Client{Transport: h.wire, Timeout: 10 * time.Second}
	bearer := accessToken(t, c)
	for range 300 {
		req, err := http.NewRequestWithContext(ctx(t), http.MethodGet, h.sim.Base+"/sessions/"+s.Reference+"/invoices/20261120-EE-0000000000-0000000000-00", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+bearer)
		resp, err := raw.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			break
		}
	}

	// Coverage: every operation the client calls, and every error shape.
	seen := map[string]bool{}
	for _, ex := range h.wire.exchanges() {
		if ex.Op != "" {
			seen[fmt.Sprintf("%s %s %d %s", ex.Method, ex.Op, ex.Status, mediaType(ex.RespType))] = true
			seen[ex.Method+" "+ex.Op] = true
		}
	}
	want := []string{
		"GET /security/public-key-certificates",
		"POST /auth/challenge",
		"POST /auth/ksef-token",
		"POST /auth/xades-signature",
		"GET /auth/{referenceNumber}",
		"POST /auth/token/redeem",
		"POST /auth/token/refresh",
		"POST /sessions/online",
		"POST /sessions/online/{referenceNumber}/invoices",
		"POST /sessions/online/{referenceNumber}/close",
		"POST /sessions/batch",
		"POST /sessions/batch/{referenceNumber}/close",
		"GET /sessions/{referenceNumber}",
		"GET /sessions/{referenceNumber}/invoices",
		"GET /sessions/{referenceNumber}/invoices/failed",
		"GET /sessions/{referenceNumber}/invoices/{invoiceReferenceNumber}",
		"GET /sessions/{referenceNumber}/invoices/{invoiceReferenceNumber}/upo",
		"GET /sessions/{referenceNumber}/invoices/{invoiceReferenceNumber} 400 application/problem+json",
		"GET /sessions/{referenceNumber} 401 application/problem+json",
		"POST /sessions/online/{referenceNumber}/invoices 429 application/problem+json",
		"GET /sessions/{referenceNumber}/invoices/{invoiceReferenceNumber} 400 application/json",
		"GET /sessions/{referenceNumber}/invoices/{invoiceReferenceNumber} 429 application/json",
		"GET /certificates/limits",
		"GET /certificates/enrollments/data",
		"POST /certificates/enrollments",
		"GET /certificates/enrollments/{referenceNumber}",
		"POST /certificates/retrieve",
		"POST /certificates/query",
		"POST /certificates/{certificateSerialNumber}/revoke 204 ",
		"GET /certificates/enrollments/data 400 application/problem+json",
		"POST /certificates/{certificateSerialNumber}/revoke 403 application/problem+json",
	}
	for _, w := range want {
		if !seen[w] {
			t.Errorf("not exercised: %s", w)
		}
	}
	if t.Failed() {
		var got []string
		for k := range seen {
			got = append(got, k)
		}
		sort.Strings(got)
		t.Logf("exercised:\n%s", strings.Join(got, "\n"))
	}
}

// accessToken logs c in afresh and returns the new access token.
func accessToken(t *testing.T, c *ksefapi.Client) string {
	t.Helper()
	tok, err := c.Authenticate(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	return tok.Access.Token
}

// TestSpecCheck proves the wire's validator can fail: each broken exchange
// must be reported, each good one must pass.
func TestSpecCheck(t *testing.T) {
	spec := loadSpec(t)
	const sess = "/v2/sessions/20261120-SO-0000000000-0000000000-00"
	tests := []struct {
		name    string
		ex      exchange
		wantErr string
	}{
		{"GoodStatus", exchange{Method: "GET", Path: sess, Status: 200, RespType: "application/json",
			RespBody: []byte(`{"status":{"code":100,"description":"Sesja otwarta"},"dateCreated":"2026-11-20T10:00:00Z","dateUpdated":"2026-11-20T10:00:00Z"}`)}, ""},
		{"StatusMissing", exchange{Method: "GET", Path: sess, Status: 200, RespType: "application/json",
			RespBody: []byte(`{"dateCreated":"2026-11-20T10:00:00Z","dateUpdated":"2026-11-20T10:00:00Z"}`)}, "SessionStatusResponse"},
		{"BadDate", exchange{Method: "GET", Path: sess, Status: 200, RespType: "application/json",
			RespBody: []byte(`{"status":{"code":100,"description":"x"},"dateCreated":"yesterday","dateUpdated":"2026-11-20T10:00:00Z"}`)}, "SessionStatusResponse"},
		{"UndeclaredMediaType", exchange{Method: "GET", Path: sess, Status: 401, RespType: "application/json",
			RespBody: []byte(`{"title":"Unauthorized","status":401,"detail":"x","timestamp":"2026-11-20T10:00:00Z"}`)}, "not declared"},
		{"UndeclaredStatus", exchange{Method: "GET", Path: sess, Status: 404, RespType: "application/json", RespBody: []byte(`{}`)}, "not declared"},
		{"RequestMissingRequired", exchange{Method: "POST", Path: "/v2/sessions/online", ReqType: "application/json",
			ReqBody: []byte(`{"formCode":{"systemCode":"FA (3)","schemaVersion":"1-0E","value":"FA"}}`), Status: 201, RespType: "application/json",
			RespBody: []byte(`{"referenceNumber":"20261120-SO-0000000000-0000000000-00","validUntil":"2026-11-20T22:00:00Z"}`)}, "encryption"},
		{"UnknownOperation", exchange{Method: "POST", Path: sess + "/x", Status: 204}, "no such operation"},
		{"BodyOnClose", exchange{Method: "POST", Path: "/v2/sessions/online/20261120-SO-0000000000-0000000000-00/close",
			ReqType: "application/json", ReqBody: []byte(`{}`), Status: 204}, "takes none"},
		{"ArrayItem", exchange{Method: "GET", Path: "/v2/security/public-key-certificates", Status: 200, RespType: "application/json",
			RespBody: []byte(`[{"certificate":"AAAA"}]`)}, "item 0"},
		{"BadReferenceInPath", exchange{Method: "GET", Path: "/v2/sessions/SO-123", Status: 200, RespType: "application/json",
			RespBody: []byte(`{"status":{"code":100,"description":"x"},"dateCreated":"2026-11-20T10:00:00Z","dateUpdated":"2026-11-20T10:00:00Z"}`)}, "referenceNumber"},
		{"Blob", exchange{Method: "GET", Path: "/blob/upo/x/y", Status: 200, RespType: "text/plain", RespBody: []byte("anything")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := spec.check(tt.ex)
			var msgs []string
			for _, e := range errs {
				msgs = append(msgs, e.Error())
			}
			all := strings.Join(msgs, "; ")
			switch {
			case tt.wantErr == "" && len(errs) > 0:
				t.Errorf("check = %s, want no error", all)
			case tt.wantErr != "" && !strings.Contains(all, tt.wantErr):
				t.Errorf("check = %q, want an error mentioning %q", all, tt.wantErr)
			}
		})
	}
	if op := spec.find("GET", sess+"/invoices/failed"); op == nil || op.template != "/sessions/{referenceNumber}/invoices/failed" {
		t.Errorf("find(.../invoices/failed) = %v, want the literal route", op)
	}
	if !slices.ContainsFunc(spec.ops, func(o operation) bool { return o.template == "/sessions/online" }) {
		t.Error("spec has no /sessions/online")
	}
}

// TestPublicKeys: the MF key list as the client reads it from the simulator
// follows ksef-api.md §3: one key per usage valid now, publicKeyId =
// Base64(SHA-256(SubjectPublicKeyInfo)), certificateId = Base64(SHA-256(DER)).
func TestPublicKeys(t *testing.T) {
	h := start(t, ksefsim.Options{})
	c := h.tokenClient()
	keys, err := c.PublicKeys(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if got, want := k.PublicKeyID, hashB64(k.Certificate.RawSubjectPublicKeyInfo); got != want {
			t.Errorf("publicKeyId %s, want %s", got, want)
		}
		if got, want := k.CertificateID, hashB64(k.Certificate.Raw); got != want {
			t.Errorf("certificateId %s, want %s", got, want)
		}
		if k.RSA.N.BitLen() < 2048 {
			t.Errorf("RSA key of %d bits", k.RSA.N.BitLen())
		}
	}
	for _, u := range []ksefapi.KeyUsage{ksefapi.UsageKsefToken, ksefapi.UsageSymmetricKey} {
		k, err := ksefapi.SelectKey(keys, u, h.clk.Now())
		if err != nil {
			t.Errorf("SelectKey(%s): %v", u, err)
			continue
		}
		if k.Certificate.Subject.CommonName != "Ministerstwo Finansów" {
			t.Errorf("%s key CN %q", u, k.Certificate.Subject.CommonName)
		}
	}
}
