package agent_test

import (
	"context"
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/outbox"
)

// TestIssueDates: P_1 is the agent's today in Warsaw, whatever the till
// sends, and P_6 stays within art. 106i ust. 6 and 7 of it; checked on the
// injected clock across a year's end and a month's 15th.
func TestIssueDates(t *testing.T) {
	u := newUnit(t, nil)
	ctx := context.Background()
	d := ksef.MustParseDate
	tests := []struct {
		name        string
		now         time.Time
		issue, sale string
		wantRule    error  // nil: issued
		wantP1      string // when issued
	}{
		{"last second of 2026", time.Date(2026, 12, 31, 23, 59, 59, 0, ksef.Warsaw), "2026-12-31", "", nil, "2026-12-31"},
		{"a second later", time.Date(2027, 1, 1, 0, 0, 1, 0, ksef.Warsaw), "2026-12-31", "", ksef.ErrIssueDateNotToday, ""},
		{"23:30 UTC is already the 1st in Warsaw", time.Date(2026, 12, 31, 23, 30, 0, 0, time.UTC), "", "", nil, "2027-01-01"},
		{"2017 (issue #15)", time.Date(2027, 1, 4, 10, 0, 0, 0, ksef.Warsaw), "2017-01-01", "", ksef.ErrIssueDateNotToday, ""},
		{"tomorrow", time.Date(2027, 1, 4, 10, 0, 0, 0, ksef.Warsaw), "2027-01-05", "", ksef.ErrIssueDateNotToday, ""},
		{"sale 2049-12-31 (issue #15)", time.Date(2027, 1, 4, 10, 0, 0, 0, ksef.Warsaw), "", "2049-12-31", ksef.ErrSaleDateOutOfRange, ""},
		{"sale 60 days ahead", time.Date(2027, 1, 1, 10, 0, 0, 0, ksef.Warsaw), "", "2027-03-02", nil, "2027-01-01"},
		{"sale 61 days ahead", time.Date(2027, 1, 1, 10, 0, 0, 0, ksef.Warsaw), "", "2027-03-03", ksef.ErrSaleDateOutOfRange, ""},
		{"queued sale from September, 15th", time.Date(2027, 1, 15, 10, 0, 0, 0, ksef.Warsaw), "", "2026-09-01", nil, "2027-01-15"},
		{"from August", time.Date(2027, 1, 15, 10, 0, 0, 0, ksef.Warsaw), "", "2026-08-31", ksef.ErrSaleDateOutOfRange, ""},
		{"from September, 16th", time.Date(2027, 1, 16, 10, 0, 0, 0, ksef.Warsaw), "", "2026-09-30", ksef.ErrSaleDateOutOfRange, ""},
		{"from October, 16th", time.Date(2027, 1, 16, 10, 0, 0, 0, ksef.Warsaw), "", "2026-10-01", nil, "2027-01-16"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u.clock.Set(tt.now)
			s := consumerSale()
			if tt.issue != "" {
				s.IssueDate = d(tt.issue)
			}
			if tt.sale != "" {
				s.SaleDate = d(tt.sale)
			}
			before, err := u.store.Stats(ctx, tt.now)
			if err != nil {
				t.Fatal(err)
			}
			v, err := u.agent.Issue(ctx, agent.IssueRequest{Key: "d" + string(rune('a'+i)), Sale: s})
			if tt.wantRule != nil {
				if !errors.Is(err, tt.wantRule) || !errors.Is(err, agent.ErrInvalidRequest) {
					t.Fatalf("Issue = %v, want %v", err, tt.wantRule)
				}
				after, _ := u.store.Stats(ctx, tt.now)
				if after.Upload[outbox.UploadQueued] != before.Upload[outbox.UploadQueued] {
					t.Error("a refused sale was stored")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			inv, err := u.store.Get(ctx, v.ID)
			if err != nil {
				t.Fatal(err)
			}
			if v.P1 != tt.wantP1 || !regexp.MustCompile(`<P_1>`+tt.wantP1+`</P_1>`).Match(inv.XML) {
				t.Errorf("P_1 %s, want %s", v.P1, tt.wantP1)
			}
			if tt.sale != "" && !regexp.MustCompile(`<P_6>`+tt.sale+`</P_6>`).Match(inv.XML) {
				t.Errorf("the XML lacks P_6 %s", tt.sale)
			}
		})
	}
}
