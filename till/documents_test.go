package till_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/posagent/posagent/till"
)

// TestDocuments: the XML and the UPO come as stored, application/xml, named
// after the invoice; a UPO before acceptance is a precise 404.
func TestDocuments(t *testing.T) {
	h := newHarness(t, till.Options{})
	v := viewOf(t, h.sale("doc", validSale))
	base := "/v1/invoices/" + v.ID

	rec := h.do(request{method: "GET", path: base + "/xml"})
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/xml" ||
		!strings.Contains(rec.Body.String(), "<P_2>"+v.Number+"</P_2>") {
		t.Fatalf("GET xml = %d %q %s, want 200 application/xml naming %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body, v.Number)
	}
	want := `attachment; filename=` + strings.ReplaceAll(v.Number, "/", "_") + `.xml`
	if got := rec.Header().Get("Content-Disposition"); got != want {
		t.Errorf("Content-Disposition = %q, want %q", got, want)
	}
	if rec := h.do(request{method: "HEAD", path: base + "/xml"}); rec.Code != http.StatusOK {
		t.Errorf("HEAD xml = %d, want 200", rec.Code)
	}

	rec = h.do(request{method: "GET", path: base + "/upo"})
	if rec.Code != http.StatusNotFound || problemOf(t, rec).Code != till.CodeUPONotAvailable {
		t.Fatalf("GET upo before acceptance = %d %s, want 404 %s", rec.Code, rec.Body, till.CodeUPONotAvailable)
	}
	if err := h.core.SetState(v.ID, "", "accepted", "5265877635-20261121-0100A0B1C2D3-AB"); err != nil {
		t.Fatal(err)
	}
	rec = h.do(request{method: "GET", path: base + "/upo"})
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/xml" || !strings.Contains(rec.Body.String(), "5265877635-20261121") ||
		!strings.HasSuffix(rec.Header().Get("Content-Disposition"), ".upo.xml") {
		t.Fatalf("GET upo after acceptance = %d %v %s, want 200 application/xml, a .upo.xml file", rec.Code, rec.Header(), rec.Body)
	}
	for _, p := range []string{"/v1/invoices/nope/xml", "/v1/invoices/nope/upo"} {
		if rec := h.do(request{method: "GET", path: p}); rec.Code != http.StatusNotFound || problemOf(t, rec).Code != till.CodeNotFound {
			t.Errorf("GET %s = %d %s, want 404 %s", p, rec.Code, rec.Body, till.CodeNotFound)
		}
	}
	if rec := h.do(request{method: "POST", path: base + "/xml"}); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST xml = %d, want 405", rec.Code)
	}
}
