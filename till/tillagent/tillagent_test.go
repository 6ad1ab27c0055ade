package tillagent_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/agent/agenttest"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/till"
	"github.com/posagent/posagent/till/tillagent"
)

func TestErrors(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantIs   error
		wantCode string // for a *till.Problem
	}{
		{"not found", fmt.Errorf("agent: get invoice: %w", agent.ErrNotFound), till.ErrNotFound, ""},
		{"conflict", agent.ErrIdempotencyConflict, till.ErrKeyConflict, ""},
		{"illegal state", agent.ErrIllegalState, till.ErrNotCorrectable, ""},
		{"bad mode", agent.ErrInvalidMode, till.ErrInvalidMode, ""},
		{"store full", agent.ErrStoreFull, till.ErrStoreFull, ""},
		{"no UPO", agent.ErrNoUPO, till.ErrNoUPO, ""},
		{"too large", fmt.Errorf("agent: issue: %w: %w", agent.ErrInvalidRequest, &ksef.SizeError{Size: 1_629_169, Limit: ksef.MaxInvoiceSize}), ksef.ErrInvoiceTooLarge, ""},
		{"request field", &agent.RequestError{Field: "key", Reason: "too long"}, nil, till.CodeInvalidRequest},
		{"offline certificate", &agent.OfflineCertError{Reason: "KSeF reports certificate 0321C82DA41B4362 revoked"}, till.ErrOfflineCertificateInvalid, till.CodeOfflineCertificateInvalid},
		{"validation", ksef.ValidationErrors{{Field: "lines", Reason: "at least one line required"}}, ksef.ErrInvalidSale, ""},
		{"other", errors.New("disk on fire"), nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &agenttest.Agent{IssueFunc: func(context.Context, agent.IssueRequest) (*agent.Issued, error) { return nil, tt.err }}
			_, err := tillagent.New(fake, tillagent.Options{}).Issue(context.Background(), till.IssueRequest{Key: "k"})
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("Issue error %v, want errors.Is %v", err, tt.wantIs)
			}
			if tt.wantIs != ksef.ErrInvalidSale && tt.wantCode == "" && !errors.Is(err, tt.err) {
				t.Errorf("Issue error %v lost the agent's error from its chain", err)
			}
			var p *till.Problem
			if got := errors.As(err, &p); got != (tt.wantCode != "") || got && (p.Code != tt.wantCode || p.Status != http.StatusUnprocessableEntity) {
				t.Errorf("Issue error %v: problem %+v, want code %q", err, p, tt.wantCode)
			}
		})
	}
}

func TestFilterAndMode(t *testing.T) {
	var gotState string
	var gotMode string
	fake := &agenttest.Agent{
		InvoicesFunc: func(_ context.Context, f agent.Filter) ([]agent.View, error) {
			gotState = f.State
			return nil, nil
		},
		SetModeFunc: func(_ context.Context, m string) error { gotMode = m; return nil },
	}
	c := tillagent.New(fake, tillagent.Options{})
	for in, want := range map[string]string{"print_pending": "print:pending", "printed": "print:printed", "print_failed": "print:failed",
		"print_uncertain": "print:uncertain", "queued": "queued", "": ""} {
		c.Invoices(context.Background(), till.Filter{State: in})
		if gotState != want {
			t.Errorf("state %q became %q, want %q", in, gotState, want)
		}
	}
	for in, want := range map[string]string{"auto": agent.OverrideAuto, "offline24": "offline24"} {
		c.SetMode(context.Background(), in)
		if gotMode != want {
			t.Errorf("mode %q became %q, want %q", in, gotMode, want)
		}
	}
}

func TestStatus(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	t0 := now.Add(-time.Hour)
	printer := agent.PrinterStatus{Known: true, Connected: true, PaperOut: true, Queued: 2, Pending: 40, Uncertain: 1,
		UncertainReceipts: []agent.UncertainView{{ID: "7", Number: "FV/7", IssuedAt: t0}}}
	fake := &agenttest.Agent{StatusFunc: func(context.Context) (*agent.Status, error) {
		return &agent.Status{
			Link: "down", LinkChecked: t0, KSeF: "FAILURE", Mode: "emergency", Override: "emergency", Policy: "offline-first",
			Printer: printer,
			Print:   map[string]int{"failed": 1}, Backlog: 3, EarliestDeadline: t0,
			Overdue:         []agent.OverdueView{{ID: "1", Number: "FV/1", Deadline: t0, Penalty: 460}},
			PenaltyExposure: 460,
			Errors: []agent.ErrorEntry{
				{At: t0, Op: "upload", Message: "older"},
				{At: now, Op: "print", Message: "newer"},
			},
		}, nil
	}}
	st, err := tillagent.New(fake, tillagent.Options{Environment: "test", Now: func() time.Time { return now }}).Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Link.State != "down" || st.Link.LastError != "older" || st.KSeF.State != "emergency" || st.Printer.State != "paper_out" ||
		st.Printer.Failed != 1 || st.Backlog.Overdue[0].Exposure != 460 || st.Errors[0].Message != "newer" || st.Certificate.NotAfter != nil {
		t.Errorf("status = %+v", st)
	}
	// printer.pending is the store's count, not the worker's queue.
	if p := st.Printer; p.Pending != 40 || p.Uncertain != 1 || len(p.UncertainReceipts) != 1 || p.UncertainReceipts[0].FirstAttempt != nil {
		t.Errorf("printer = %+v, want 40 pending from the store and one uncertain receipt never tried", p)
	}
}
