package tillagent_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/agent/agenttest"
	"github.com/posagent/posagent/internal/metrics"
	"github.com/posagent/posagent/internal/openapischema"
	"github.com/posagent/posagent/internal/testutil"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/till"
	"github.com/posagent/posagent/till/tillagent"
)

// stack is the real agent (agenttest.Stack: outbox in a temp dir, the KSeF
// simulator, a virtual printer behind the real print worker) behind the
// real till server.
type stack struct {
	*agenttest.Stack
	t   *testing.T
	url string
	doc *openapischema.Doc
}

func newStack(t *testing.T) *stack {
	t.Helper()
	reg := metrics.NewRegistry()
	a := agenttest.NewStack(t, agenttest.WithOptions(func(o *agent.Options) { o.Metrics = reg }))
	srv, err := till.New(tillagent.New(a.Agent, tillagent.Options{Environment: "test"}), till.Options{Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := srv.Serve(ctx, ln); err != nil {
			t.Errorf("till Serve = %v", err)
		}
	})
	// Registered after the Stack's, so the till stops before the agent.
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	raw, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), "docs", "openapi-till.json"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapischema.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return &stack{Stack: a, t: t, url: "http://" + ln.Addr().String(), doc: doc}
}

// call does one request and validates a JSON body against schema ("" skips).
func (s *stack) call(method, path, key, body, schema string, wantStatus int) (*http.Response, []byte) {
	s.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, s.url+path, r)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		s.t.Fatalf("%s %s = %d, want %d: %s", method, path, resp.StatusCode, wantStatus, b)
	}
	if schema != "" {
		if err := s.doc.Validate(schema, b); err != nil {
			s.t.Errorf("%s %s: body does not match %s: %v\n%s", method, path, schema, err, b)
		}
	}
	return resp, b
}

func viewOf(t *testing.T, b []byte) till.View {
	t.Helper()
	var v till.View
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole agent")
	}
	s := newStack(t)
	today := ksef.DateOf(s.Clock.Now()).String() // the agent's clock, not the test's
	sale := `{"buyer":{"kind":"consumer"},"lines":[{"name":"Kawa","unit":"szt.","quantity":"2","unit_price":"12.30","vat_rate":"23"}],` +
		`"payment":{"form":"card","paid":true},"issue_date":"` + today + `"}`

	resp, b := s.call("POST", "/v1/sales", "till-1", sale, "Invoice", 201)
	v := viewOf(t, b)
	if resp.Header.Get("Location") != "/v1/invoices/"+v.ID || v.Gross.String() != "24.60" || v.Kod1 == "" || v.Kod2 == "" || v.Kod1Label != "OFFLINE" {
		t.Errorf("issued %+v (Location %q)", v, resp.Header.Get("Location"))
	}
	resp, b = s.call("POST", "/v1/sales", "till-1", sale, "Invoice", 200)
	if again := viewOf(t, b); again.ID != v.ID || resp.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay = %s (%q), want %s replayed", again.ID, resp.Header.Get("Idempotent-Replayed"), v.ID)
	}
	s.call("POST", "/v1/sales", "till-1", strings.Replace(sale, `"2"`, `"3"`, 1), "Problem", 409)
	s.call("POST", "/v1/sales", "till-2", strings.Replace(sale, `"23"`, `"24"`, 1), "Problem", 422)
	_, b = s.call("GET", "/v1/invoices", "", "", "InvoiceList", 200)
	var list struct{ Invoices []till.View }
	json.Unmarshal(b, &list)
	if len(list.Invoices) != 1 {
		t.Fatalf("store holds %d invoices after rejected input, want 1", len(list.Invoices))
	}

	s.Flush(20 * time.Second)
	agenttest.WaitFor(t, "the invoice accepted and printed", 10*time.Second, func() bool {
		_, b = s.call("GET", "/v1/invoices/"+v.ID, "", "", "Invoice", 200)
		v = viewOf(t, b)
		return v.Upload == "accepted" && v.Print == "printed"
	})
	if v.KSeFNumber == "" {
		t.Errorf("accepted invoice without a KSeF number: %+v", v)
	}
	if s.Virtual.Written() == 0 {
		t.Errorf("nothing reached the printer")
	}

	s.call("POST", "/v1/invoices/"+v.ID+"/reprint", "", "", "Invoice", 202)
	_, b = s.call("POST", "/v1/invoices/"+v.ID+"/corrections", "kor-1", `{"reason":"zwrot","type":2,"lines":[{"name":"Kawa","unit":"szt.","quantity":"1","unit_price":"12.30","vat_rate":"23"}]}`, "Invoice", 201)
	if kor := viewOf(t, b); kor.Kind != "KOR" || kor.Corrects != v.ID || kor.Gross.String() != "-12.30" {
		t.Errorf("correction = %+v", kor)
	}
	s.call("GET", "/v1/invoices/99999999", "", "", "Problem", 404)
	s.call("POST", "/v1/mode", "", `{"mode":"emergency"}`, "Status", 200)
	_, b = s.call("GET", "/v1/status", "", "", "Status", 200)
	var st till.Status
	json.Unmarshal(b, &st)
	if st.Mode.Override != "emergency" || st.Certificate.NotAfter == nil || st.Certificate.DaysLeft <= 0 {
		t.Errorf("status = %+v", st)
	}
	s.call("POST", "/v1/mode", "", `{"mode":"auto"}`, "Status", 200)

	_, b = s.call("GET", "/", "", "", "", 200)
	if !bytes.Contains(b, []byte(`id="cert-days"`)) || !bytes.Contains(b, []byte("offline-first")) {
		t.Errorf("status page lacks the certificate or the policy")
	}
	_, b = s.call("GET", "/metrics", "", "", "", 200)
	for _, want := range []string{"posagent_sales_total 2", `posagent_http_requests_total{route="POST /v1/sales",code="201"} 1`} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
