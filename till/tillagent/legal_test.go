package tillagent_test

import (
	"encoding/json"
	"testing"

	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/till"
)

// TestUPROverLimit: art. 106e ust. 5 pkt 3 ustawy o VAT allows a simplified
// invoice (UPR) only up to 450 PLN (or 100 EUR) gross. Above it the real
// agent behind the till answers 422 upr_over_limit and stores nothing; at
// the limit it issues the UPR.
func TestUPROverLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole agent")
	}
	s := newStack(t)
	today := ksef.DateOf(s.Clock.Now()).String()
	upr := func(qty, price string) string {
		return `{"kind":"UPR","buyer":{"kind":"nip","nip":"5265877635"},"lines":[{"name":"Benzyna Pb95","unit":"l","quantity":"` + qty +
			`","unit_price":"` + price + `","vat_rate":"23"}],"payment":{"form":"cash","paid":true},"issue_date":"` + today + `"}`
	}
	_, b := s.call("POST", "/v1/sales", "upr-big", upr("1000", "6.15"), "Problem", 422)
	var p till.Problem
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if p.Code != till.CodeUPROverLimit || len(p.Errors) != 1 || p.Errors[0].Field != "kind" {
		t.Errorf("6150 PLN UPR: problem %+v, want %s at kind", p, till.CodeUPROverLimit)
	}
	_, b = s.call("GET", "/v1/invoices", "", "", "InvoiceList", 200)
	var list struct{ Invoices []till.View }
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Invoices) != 0 {
		t.Fatalf("store holds %d invoices after a refused UPR, want 0", len(list.Invoices))
	}
	_, b = s.call("POST", "/v1/sales", "upr-limit", upr("1", "450.00"), "Invoice", 201)
	if v := viewOf(t, b); v.Kind != ksef.KindUPR || v.Gross.String() != "450.00" {
		t.Errorf("UPR at the limit = %+v", v)
	}
}

// TestLegalOverHTTP: through the real agent, a correction of an invoice
// without a KSeF number answers 202 (kept pending until the original has
// its number, tryby-offline.md), an operator's announcement with its
// reference lands in GET /v1/journal, and the total-failure invoice it
// covers is listed as outside (not uploaded).
func TestLegalOverHTTP(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole agent")
	}
	s := newStack(t)
	s.Down()
	today := ksef.DateOf(s.Clock.Now()).String()
	sale := `{"buyer":{"kind":"consumer"},"lines":[{"name":"Kawa","unit":"szt.","quantity":"2","unit_price":"12.30","vat_rate":"23"}],` +
		`"payment":{"form":"card","paid":true},"issue_date":"` + today + `"}`
	_, b := s.call("POST", "/v1/sales", "s1", sale, "Invoice", 201)
	v := viewOf(t, b)
	_, b = s.call("POST", "/v1/invoices/"+v.ID+"/corrections", "c1", `{"reason":"zwrot","lines":[]}`, "PendingCorrection", 202)
	var p till.PendingCorrection
	if err := json.Unmarshal(b, &p); err != nil || p.Corrects != v.ID || p.State != till.StatePending {
		t.Errorf("pending = %+v, %v", p, err)
	}
	s.call("POST", "/v1/mode", "", `{"mode":"total_failure","reference":"komunikat MF o awarii całkowitej"}`, "Status", 200)
	_, b = s.call("POST", "/v1/sales", "s2", sale, "Invoice", 201)
	if tf := viewOf(t, b); tf.Mode != "total_failure" || tf.Upload != "outside" || tf.Kod1 != "" {
		t.Errorf("total-failure sale = %+v", tf)
	}
	_, b = s.call("GET", "/v1/invoices?state=outside", "", "", "InvoiceList", 200)
	var list struct{ Invoices []till.View }
	if err := json.Unmarshal(b, &list); err != nil || len(list.Invoices) != 1 {
		t.Errorf("outside invoices = %+v, %v", list.Invoices, err)
	}
	_, b = s.call("GET", "/v1/journal", "", "", "Journal", 200)
	var j struct{ Announcements []till.Announcement }
	if err := json.Unmarshal(b, &j); err != nil || len(j.Announcements) != 1 || j.Announcements[0].Source != "operator" ||
		j.Announcements[0].Reference != "komunikat MF o awarii całkowitej" || j.Announcements[0].End != "" {
		t.Errorf("journal = %+v, %v", j.Announcements, err)
	}
}
