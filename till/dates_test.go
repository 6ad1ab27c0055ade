package till_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/posagent/posagent/till"
	"github.com/posagent/posagent/till/tilltest"
)

// TestSaleWithoutIssueDate: issue_date is optional; the invoice gets today
// (the core's clock) as P_1, as a till replaying a queued sale needs.
func TestSaleWithoutIssueDate(t *testing.T) {
	h := newHarness(t, till.Options{})
	body := strings.Replace(validSale, `,"issue_date":"2026-11-21"`, `,"sale_date":"2026-11-20"`, 1)
	if body == validSale {
		t.Fatal("validSale has no issue_date to leave out")
	}
	rec := h.do(request{method: "POST", path: "/v1/sales", key: "k1", body: body})
	if rec.Code != 201 {
		t.Fatalf("status = %d (%s), want 201", rec.Code, rec.Body)
	}
	var v till.View
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	if want := tilltest.FixedNow.Format("2006-01-02"); v.IssueDate.String() != want {
		t.Errorf("issue_date = %v, want today %s", v.IssueDate, want)
	}
}
