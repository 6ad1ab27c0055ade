package till_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/posagent/posagent/till"
)

// TestPendingCorrectionAnswer: a correction of an invoice without a KSeF
// number is answered 202 with the pending request (tryby-offline.md: the
// correction is issued once the original has its number); a replay
// answers the same, marked replayed; the original lists it.
func TestPendingCorrectionAnswer(t *testing.T) {
	h := newHarness(t, till.Options{})
	orig := viewOf(t, h.sale("k", validSale))
	path := "/v1/invoices/" + orig.ID + "/corrections"
	body := `{"reason":"zwrot","lines":[]}`
	rec := h.do(request{method: "POST", path: path, key: "p1", body: body})
	if rec.Code != http.StatusAccepted || rec.Header().Get("Location") != "/v1/invoices/"+orig.ID {
		t.Fatalf("correction of a queued invoice = %d (Location %q), want 202 (%s)", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	var p till.PendingCorrection
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	if p.State != till.StatePending || p.Corrects != orig.ID || p.ID == "" {
		t.Errorf("pending = %+v, want state %s correcting %s, with an id", p, till.StatePending, orig.ID)
	}
	rec = h.do(request{method: "POST", path: path, key: "p1", body: body})
	if rec.Code != http.StatusAccepted || rec.Header().Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay = %d %q, want 202 replayed", rec.Code, rec.Header().Get("Idempotent-Replayed"))
	}
	rec = h.do(request{method: "GET", path: "/v1/invoices/" + orig.ID})
	if v := viewOf(t, rec); len(v.PendingCorrections) != 1 || v.PendingCorrections[0] != p.ID {
		t.Errorf("original's pending corrections = %v, want [%s]", v.PendingCorrections, p.ID)
	}
}

// TestModeReferenceAndJournal: POST /v1/mode with a reference records the
// MF announcement; a reference with a mode that is not announced is a 422;
// GET /v1/journal lists the record.
func TestModeReferenceAndJournal(t *testing.T) {
	h := newHarness(t, till.Options{})
	if rec := h.do(request{method: "POST", path: "/v1/mode", body: `{"mode":"offline24","reference":"BIP"}`}); rec.Code != 422 || problemOf(t, rec).Code != till.CodeInvalidRequest {
		t.Errorf("reference with offline24 = %d %s, want 422 %s", rec.Code, rec.Body, till.CodeInvalidRequest)
	}
	rec := h.do(request{method: "POST", path: "/v1/mode", body: `{"mode":"total_failure","reference":"komunikat MF 7.12.2026"}`})
	if rec.Code != 200 {
		t.Fatalf("announce = %d %s, want 200", rec.Code, rec.Body)
	}
	rec = h.do(request{method: "GET", path: "/v1/journal"})
	var j struct{ Announcements []till.Announcement }
	if err := json.Unmarshal(rec.Body.Bytes(), &j); err != nil || rec.Code != 200 {
		t.Fatalf("journal = %d %s, want 200 and a JSON body", rec.Code, rec.Body)
	}
	if len(j.Announcements) != 1 || j.Announcements[0].Reference != "komunikat MF 7.12.2026" || j.Announcements[0].Mode != "total_failure" {
		t.Errorf("journal = %+v, want one total_failure with its reference", j.Announcements)
	}
}
