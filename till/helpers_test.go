package till_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/posagent/posagent/till"
	"github.com/posagent/posagent/till/tilltest"
)

// validSale is a minimal valid sale; tests derive bad ones from it.
const validSale = `{"buyer":{"kind":"consumer"},` +
	`"lines":[{"name":"Kawa","unit":"szt.","quantity":"2","unit_price":"12.30","vat_rate":"23"}],` +
	`"payment":{"form":"card","paid":true},"issue_date":"2026-11-21"}`

// harness is a Server on a fake core, driven through its Handler.
type harness struct {
	t    *testing.T
	core *tilltest.Core
	srv  *till.Server
}

func newHarness(t *testing.T, opts till.Options) *harness {
	t.Helper()
	core := tilltest.New()
	srv, err := till.New(core, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &harness{t: t, core: core, srv: srv}
}

// request is one HTTP request in a test.
type request struct {
	method, path string
	body         string
	key          string // Idempotency-Key; "-" sends none
	contentType  string // default application/json
	token        string // bearer token, if any
	header       http.Header
	host         string // Host header; default 127.0.0.1:8080
}

func (h *harness) do(r request) *httptest.ResponseRecorder {
	h.t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	req := httptest.NewRequest(r.method, r.path, body)
	req.RemoteAddr = "127.0.0.1:40000"
	req.Host = "127.0.0.1:8080" // what a till on the machine sends; see TestHostCheck
	if r.host != "" {
		req.Host = r.host
	}
	if r.body != "" || r.contentType != "" {
		ct := r.contentType
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	if r.key != "" && r.key != "-" {
		req.Header.Set("Idempotency-Key", r.key)
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	for k, vs := range r.header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	rec := httptest.NewRecorder()
	h.srv.Handler().ServeHTTP(rec, req)
	return rec
}

// sale posts a sale with a key and returns the response.
func (h *harness) sale(key, body string) *httptest.ResponseRecorder {
	h.t.Helper()
	return h.do(request{method: "POST", path: "/v1/sales", key: key, body: body})
}

// problemOf decodes a problem+json response and fails the test otherwise.
func problemOf(t *testing.T, rec *httptest.ResponseRecorder) till.Problem {
	t.Helper()
	if got, want := rec.Header().Get("Content-Type"), till.ContentTypeProblem; got != want {
		t.Fatalf("Content-Type = %q, want %q (body %s)", got, want, rec.Body)
	}
	var p till.Problem
	dec := json.NewDecoder(rec.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("decode problem: %v", err)
	}
	if p.Status != rec.Code {
		t.Errorf("problem status %d, response status %d", p.Status, rec.Code)
	}
	return p
}

func viewOf(t *testing.T, rec *httptest.ResponseRecorder) till.View {
	t.Helper()
	var v till.View
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode view: %v (%s)", err, rec.Body)
	}
	return v
}
