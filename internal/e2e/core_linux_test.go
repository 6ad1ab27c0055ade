//go:build linux

package e2e

import (
	"context"
	"errors"
	"fmt"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/till"
)

// tillCore adapts the agent to till.Core the way cmd/posagent does: it
// converts types and maps the agent's sentinels onto the till's, deciding
// nothing itself. Package main cannot be imported, so the mapping is
// repeated here; a drift would show as a wrong problem code in the tests.
type tillCore struct {
	a *agent.Agent
}

var _ till.Core = tillCore{}

func coreErr(err error) error {
	var ve ksef.ValidationErrors
	var re *agent.RequestError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ve):
		return ve
	case errors.As(err, &re):
		return ksef.ValidationErrors{{Field: re.Field, Reason: re.Reason}}
	case errors.Is(err, agent.ErrNotFound):
		return fmt.Errorf("%w: %w", till.ErrNotFound, err)
	case errors.Is(err, agent.ErrIdempotencyConflict):
		return fmt.Errorf("%w: %w", till.ErrKeyConflict, err)
	case errors.Is(err, agent.ErrIllegalState):
		return fmt.Errorf("%w: %w", till.ErrNotCorrectable, err)
	case errors.Is(err, agent.ErrInvalidMode):
		return fmt.Errorf("%w: %w", till.ErrInvalidMode, err)
	case errors.Is(err, agent.ErrStoreFull), errors.Is(err, agent.ErrNotRunning):
		return fmt.Errorf("%w: %w", till.ErrUnavailable, err)
	}
	return err
}

func tillView(v *agent.View) till.View {
	tv := till.View{
		ID: v.ID, Number: v.Number, Kind: v.Kind, Corrects: v.CorrectionOf, Currency: v.Currency,
		Gross: v.Gross, VAT: v.VAT, Mode: v.Mode, Kod1: v.KOD1, Kod1Label: v.KOD1Label, Kod2: v.KOD2, Hash: v.Hash,
		Print: v.PrintState, PrintHeld: v.PrintHeld, Upload: v.UploadState, Overdue: v.Overdue,
		KSeFNumber: v.KSeFNumber, Error: v.RejectCode,
	}
	if d, err := ksef.ParseDate(v.P1); err == nil {
		tv.IssueDate = d
	}
	if tv.Print == "" {
		tv.Print = "none"
	}
	if tv.Currency == "" {
		tv.Currency = "PLN"
	}
	if !v.DeadlineAt.IsZero() {
		d := v.DeadlineAt
		tv.Deadline = &d
	}
	return tv
}

func (c tillCore) Issue(ctx context.Context, req till.IssueRequest) (*till.Issued, error) {
	is, err := c.a.Issue(ctx, agent.IssueRequest{Key: req.Key, Body: req.Body, Sale: req.Sale})
	if err != nil {
		return nil, coreErr(err)
	}
	return &till.Issued{View: tillView(&is.View), Replayed: is.Replayed}, nil
}

func (c tillCore) Invoice(ctx context.Context, id string) (*till.View, error) {
	v, err := c.a.Invoice(ctx, id)
	if err != nil {
		return nil, coreErr(err)
	}
	tv := tillView(v)
	return &tv, nil
}

func (c tillCore) Invoices(ctx context.Context, f till.Filter) ([]till.View, error) {
	state := f.State
	switch state {
	case "print_pending":
		state = "print:pending"
	case "print_failed":
		state = "print:failed"
	case "printed":
		state = "print:printed"
	}
	vs, err := c.a.Invoices(ctx, agent.Filter{State: state, Limit: f.Limit, After: f.After})
	if err != nil {
		return nil, coreErr(err)
	}
	out := make([]till.View, 0, len(vs))
	for i := range vs {
		out = append(out, tillView(&vs[i]))
	}
	return out, nil
}

func (c tillCore) Reprint(ctx context.Context, id string) (*till.View, error) {
	v, err := c.a.Reprint(ctx, id)
	if err != nil {
		return nil, coreErr(err)
	}
	tv := tillView(v)
	return &tv, nil
}

func (c tillCore) Correct(ctx context.Context, id string, req till.CorrectionRequest) (*till.Issued, error) {
	is, err := c.a.Correct(ctx, id, agent.CorrectionRequest{
		Key: req.Key, Body: req.Body, Reason: req.Reason, Type: req.Type, Lines: req.Lines, AfterRows: true,
	})
	if err != nil {
		return nil, coreErr(err)
	}
	return &till.Issued{View: tillView(&is.View), Replayed: is.Replayed}, nil
}

func (c tillCore) SetMode(ctx context.Context, override string) error {
	if override == "auto" {
		override = agent.OverrideAuto
	}
	return coreErr(c.a.SetMode(ctx, override))
}

// Status maps only what the tests read: link, mode, printer and backlog.
func (c tillCore) Status(ctx context.Context) (*till.Status, error) {
	s, err := c.a.Status(ctx)
	if err != nil {
		return nil, coreErr(err)
	}
	st := &till.Status{
		Link:    till.Link{State: s.Link},
		KSeF:    till.KSeFState{State: "unknown", Environment: "test"},
		Mode:    till.ModeState{Current: s.Mode, Override: s.Override, Policy: s.Policy},
		Backlog: till.Backlog{Count: s.Backlog, Exposure: s.PenaltyExposure, Overdue: []till.Overdue{}},
		Errors:  []till.ErrorItem{},
	}
	switch p := s.Printer; {
	case p.PaperOut:
		st.Printer.State = "paper_out"
	case p.CoverOpen:
		st.Printer.State = "cover_open"
	case p.Offline || !p.Connected && p.LastError != "":
		st.Printer.State = "offline"
	case p.LastError != "":
		st.Printer.State = "error"
	default:
		st.Printer.State = "ok"
	}
	st.Printer.Detail = s.Printer.LastError
	st.Printer.Pending, st.Printer.Failed = s.Print["pending"], s.Print["failed"]
	return st, nil
}
