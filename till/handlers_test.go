package till_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/posagent/posagent/till"
)

func TestPostSale(t *testing.T) {
	h := newHarness(t, till.Options{})

	rec := h.sale("sale-1", validSale)
	if rec.Code != http.StatusCreated {
		t.Fatalf("first POST status = %d, want 201 (%s)", rec.Code, rec.Body)
	}
	first := viewOf(t, rec)
	if got, want := rec.Header().Get("Location"), "/v1/invoices/"+first.ID; got != want {
		t.Errorf("Location = %q, want %q", got, want)
	}
	if rec.Header().Get("Idempotent-Replayed") != "" {
		t.Errorf("first response has Idempotent-Replayed")
	}
	if first.Gross.String() != "24.60" || first.VAT.String() != "4.60" || first.Kod1 == "" || first.Print != "pending" || first.Deadline == nil {
		t.Errorf("view = %+v, want gross 24.60, vat 4.60, kod1, print pending and a deadline", first)
	}

	rec = h.sale("sale-1", validSale)
	if rec.Code != http.StatusOK {
		t.Fatalf("replay status = %d, want 200 (%s)", rec.Code, rec.Body)
	}
	if got := rec.Header().Get("Idempotent-Replayed"); got != "true" {
		t.Errorf("Idempotent-Replayed = %q, want true", got)
	}
	if again := viewOf(t, rec); again.ID != first.ID || again.Number != first.Number {
		t.Errorf("replay = %s/%s, want %s/%s", again.ID, again.Number, first.ID, first.Number)
	}

	other := strings.Replace(validSale, `"quantity":"2"`, `"quantity":"3"`, 1)
	rec = h.sale("sale-1", other)
	if rec.Code != http.StatusConflict {
		t.Fatalf("reused key status = %d, want 409 (%s)", rec.Code, rec.Body)
	}
	if p := problemOf(t, rec); p.Code != till.CodeKeyReused {
		t.Errorf("code = %q, want %q", p.Code, till.CodeKeyReused)
	}
	if n := h.core.Stored(); n != 1 {
		t.Errorf("stored %d invoices, want 1", n)
	}

	if rec := h.sale("sale-2", other); rec.Code != http.StatusCreated {
		t.Errorf("second sale status = %d, want 201", rec.Code)
	}
	if n := h.core.Stored(); n != 2 {
		t.Errorf("stored %d invoices, want 2", n)
	}
}

func TestGetInvoice(t *testing.T) {
	h := newHarness(t, till.Options{})
	v := viewOf(t, h.sale("k", validSale))
	tests := []struct {
		name, path string
		wantStatus int
		wantCode   string
	}{
		{"found", "/v1/invoices/" + v.ID, 200, ""},
		{"unknown id", "/v1/invoices/99999999", 404, till.CodeNotFound},
		{"malformed id", "/v1/invoices/a%20b", 404, till.CodeNotFound},
		{"no such route", "/v1/invoice/" + v.ID, 404, till.CodeRouteNotFound},
		{"trailing slash", "/v1/invoices/" + v.ID + "/", 404, till.CodeRouteNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := h.do(request{method: "GET", path: tt.path})
			if rec.Code != tt.wantStatus {
				t.Fatalf("GET %s = %d, want %d (%s)", tt.path, rec.Code, tt.wantStatus, rec.Body)
			}
			if tt.wantCode == "" {
				if got := viewOf(t, rec); got.ID != v.ID {
					t.Errorf("id = %q, want %q", got.ID, v.ID)
				}
				return
			}
			if p := problemOf(t, rec); p.Code != tt.wantCode {
				t.Errorf("code = %q, want %q", p.Code, tt.wantCode)
			}
		})
	}
}

func TestListInvoices(t *testing.T) {
	h := newHarness(t, till.Options{})
	var ids []string
	for i := range 5 {
		ids = append(ids, viewOf(t, h.sale(fmt.Sprint("k", i), validSale)).ID)
	}
	if err := h.core.SetState(ids[1], "printed", "accepted", "5265877635-20261121-0100000000AB-2C"); err != nil {
		t.Fatal(err)
	}
	list := func(query string) (till.Problem, []string, string) {
		t.Helper()
		rec := h.do(request{method: "GET", path: "/v1/invoices" + query})
		if rec.Code != http.StatusOK {
			return problemOf(t, rec), nil, ""
		}
		var l struct {
			Invoices []till.View `json:"invoices"`
			Next     string      `json:"next"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, v := range l.Invoices {
			got = append(got, v.ID)
		}
		return till.Problem{}, got, l.Next
	}
	tests := []struct {
		query    string
		want     []string
		wantNext string
		wantCode string
	}{
		{"", ids, "", ""},
		{"?state=accepted", ids[1:2], "", ""},
		{"?state=queued&limit=2", []string{ids[0], ids[2]}, ids[2], ""},
		{"?state=queued&limit=2&after=" + ids[2], []string{ids[3], ids[4]}, ids[4], ""},
		{"?state=print_pending&after=" + ids[3], ids[4:], "", ""},
		{"?state=lost", nil, "", till.CodeInvalidState},
		{"?state=", nil, "", till.CodeInvalidState},
		{"?limit=0", nil, "", till.CodeInvalidQuery},
		{"?limit=501", nil, "", till.CodeInvalidQuery},
		{"?limit=x", nil, "", till.CodeInvalidQuery},
		{"?after=../etc", nil, "", till.CodeInvalidQuery},
		{"?sort=id", nil, "", till.CodeInvalidQuery},
		{"?state=queued&state=accepted", nil, "", till.CodeInvalidQuery},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			p, got, next := list(tt.query)
			if p.Code != tt.wantCode {
				t.Fatalf("code = %q, want %q", p.Code, tt.wantCode)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") || next != tt.wantNext {
				t.Errorf("ids = %v next %q, want %v next %q", got, next, tt.want, tt.wantNext)
			}
		})
	}
}

func TestReprint(t *testing.T) {
	h := newHarness(t, till.Options{})
	v := viewOf(t, h.sale("k", validSale))
	h.core.SetState(v.ID, "printed", "", "")
	rec := h.do(request{method: "POST", path: "/v1/invoices/" + v.ID + "/reprint"})
	if rec.Code != http.StatusAccepted {
		t.Fatalf("reprint = %d, want 202 (%s)", rec.Code, rec.Body)
	}
	if got := viewOf(t, rec); got.Print != "pending" {
		t.Errorf("print_state = %q, want pending", got.Print)
	}
	rec = h.do(request{method: "POST", path: "/v1/invoices/nope/reprint"})
	if p := problemOf(t, rec); rec.Code != 404 || p.Code != till.CodeNotFound {
		t.Errorf("reprint of unknown = %d %q, want 404 not_found", rec.Code, p.Code)
	}
}

func TestCorrections(t *testing.T) {
	h := newHarness(t, till.Options{})
	orig := viewOf(t, h.sale("k", validSale))
	h.core.SetState(orig.ID, "", "accepted", "5265877635-20261121-0100001AF629-00") // corrected once in KSeF
	path := "/v1/invoices/" + orig.ID + "/corrections"
	good := `{"reason":"zwrot","type":1,"lines":[{"name":"Kawa","quantity":"1","unit_price":"12.30","vat_rate":"23"}]}`

	rec := h.do(request{method: "POST", path: path, key: "c1", body: good})
	if rec.Code != http.StatusCreated {
		t.Fatalf("correction = %d, want 201 (%s)", rec.Code, rec.Body)
	}
	kor := viewOf(t, rec)
	if kor.Kind != "KOR" || kor.Corrects != orig.ID || kor.Gross.String() != "-12.30" {
		t.Errorf("correction = %+v, want KOR of %s, gross -12.30", kor, orig.ID)
	}
	if rec := h.do(request{method: "POST", path: path, key: "c1", body: good}); rec.Code != 200 || rec.Header().Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay = %d %q, want 200 replayed", rec.Code, rec.Header().Get("Idempotent-Replayed"))
	}

	tests := []struct {
		name       string
		path, key  string
		body       string
		wantStatus int
		wantCode   string
	}{
		{"missing key", path, "-", good, 400, till.CodeKeyMissing},
		{"reused key", path, "c1", `{"lines":[]}`, 409, till.CodeKeyReused},
		{"unknown invoice", "/v1/invoices/00000099/corrections", "c2", good, 404, till.CodeNotFound},
		{"correction of a correction", "/v1/invoices/" + kor.ID + "/corrections", "c3", good, 409, till.CodeNotCorrectable},
		{"bad type", path, "c4", `{"type":7,"lines":[]}`, 422, till.CodeInvalidCorrection},
		{"missing lines", path, "c5", `{"reason":"x"}`, 422, till.CodeFieldRequired},
		{"unknown field", path, "c6", `{"lines":[],"before":[]}`, 400, till.CodeUnknownField},
		{"negative quantity", path, "c7", `{"lines":[{"name":"Kawa","quantity":"-1","unit_price":"1","vat_rate":"23"}]}`, 422, till.CodeQuantityNegative},
		{"unknown rate", path, "c8", `{"lines":[{"name":"Kawa","quantity":"1","unit_price":"1","vat_rate":"7"}]}`, 422, till.CodeUnknownVATRate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := h.core.Stored()
			rec := h.do(request{method: "POST", path: tt.path, key: tt.key, body: tt.body})
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d (%s)", rec.Code, tt.wantStatus, rec.Body)
			}
			if p := problemOf(t, rec); p.Code != tt.wantCode {
				t.Errorf("code = %q, want %q", p.Code, tt.wantCode)
			}
			if h.core.Stored() != before {
				t.Errorf("a rejected correction was stored")
			}
		})
	}
	rec = h.do(request{method: "POST", path: path, key: "c9", body: `{"reason":"anulowanie","lines":[]}`})
	if rec.Code != http.StatusCreated {
		t.Fatalf("full cancellation = %d (%s)", rec.Code, rec.Body)
	}
	if v := viewOf(t, rec); v.Gross.String() != "-24.60" {
		t.Errorf("full cancellation gross = %s, want -24.60", v.Gross)
	}
}

func TestStatusAndMode(t *testing.T) {
	h := newHarness(t, till.Options{})
	rec := h.do(request{method: "GET", path: "/v1/status"})
	if rec.Code != 200 {
		t.Fatalf("status = %d", rec.Code)
	}
	var st till.Status
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	if st.Mode.Current != "offline24" || st.Mode.Override != "" || st.Errors == nil {
		t.Errorf("status = %+v, want offline24 without override and an empty error list", st)
	}

	tests := []struct {
		name, body   string
		wantStatus   int
		wantCode     string
		wantOverride string
	}{
		{"force online", `{"mode":"online"}`, 200, "", "online"},
		{"announce emergency", `{"mode":"emergency"}`, 200, "", "emergency"},
		{"unknown mode", `{"mode":"turbo"}`, 422, till.CodeInvalidMode, "emergency"},
		{"empty mode", `{"mode":""}`, 422, till.CodeInvalidMode, "emergency"},
		{"mode as number", `{"mode":2}`, 400, till.CodeWrongType, "emergency"},
		{"extra field", `{"mode":"online","until":"tomorrow"}`, 400, till.CodeUnknownField, "emergency"},
		{"back to auto", `{"mode":"auto"}`, 200, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := h.do(request{method: "POST", path: "/v1/mode", body: tt.body})
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d (%s)", rec.Code, tt.wantStatus, rec.Body)
			}
			if tt.wantCode != "" {
				if p := problemOf(t, rec); p.Code != tt.wantCode {
					t.Errorf("code = %q, want %q", p.Code, tt.wantCode)
				}
			} else {
				var st till.Status
				json.Unmarshal(rec.Body.Bytes(), &st)
				if st.Mode.Override != tt.wantOverride {
					t.Errorf("response override = %q, want %q", st.Mode.Override, tt.wantOverride)
				}
			}
			if got := h.core.Override(); got != tt.wantOverride {
				t.Errorf("core override = %q, want %q", got, tt.wantOverride)
			}
		})
	}
}

func TestMethodNotAllowed(t *testing.T) {
	h := newHarness(t, till.Options{})
	tests := []struct{ method, path, allow string }{
		{"GET", "/v1/sales", "POST"},
		{"PUT", "/v1/sales", "POST"},
		{"DELETE", "/v1/invoices/00000001", "GET, HEAD"},
		{"GET", "/v1/invoices/00000001/reprint", "POST"},
		{"POST", "/v1/status", "GET, HEAD"},
		{"GET", "/v1/mode", "POST"},
		{"POST", "/metrics", "GET, HEAD"},
		{"POST", "/", "GET, HEAD"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			rec := h.do(request{method: tt.method, path: tt.path})
			if rec.Code != http.StatusMethodNotAllowed {
				t.Fatalf("status = %d, want 405", rec.Code)
			}
			if p := problemOf(t, rec); p.Code != till.CodeMethodNotAllowed {
				t.Errorf("code = %q", p.Code)
			}
			if got := rec.Header().Get("Allow"); got != tt.allow {
				t.Errorf("Allow = %q, want %q", got, tt.allow)
			}
		})
	}
}

// TestCoreErrors maps errors from the core to responses; internal details
// never reach the client.
func TestCoreErrors(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
	}{
		{"unavailable", fmt.Errorf("closing: %w", till.ErrUnavailable), 503, till.CodeUnavailable},
		{"store full", fmt.Errorf("store: %w", till.ErrStoreFull), 503, till.CodeStoreFull},
		{"offline certificate", fmt.Errorf("issue: %w", till.ErrOfflineCertificateInvalid), 422, till.CodeOfflineCertificateInvalid},
		{"offline certificate problem", till.OfflineCertificateProblem("certificate 0321C82DA41B4362 expired on 2026-12-01"), 422, till.CodeOfflineCertificateInvalid},
		{"not found", till.ErrNotFound, 404, till.CodeNotFound},
		{"internal", errors.New("open /var/lib/posagent/secret.key: permission denied"), 500, till.CodeInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, till.Options{})
			h.core.Err = tt.err
			rec := h.sale("k", validSale)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d", rec.Code, tt.wantStatus)
			}
			p := problemOf(t, rec)
			if p.Code != tt.wantCode {
				t.Errorf("code = %q, want %q", p.Code, tt.wantCode)
			}
			if strings.Contains(p.Detail, "secret") || strings.Contains(p.Detail, "/var/lib") {
				t.Errorf("detail leaks the internal error: %q", p.Detail)
			}
			if tt.wantStatus == 503 && rec.Header().Get("Retry-After") == "" {
				t.Errorf("503 without Retry-After")
			}
		})
	}
}
