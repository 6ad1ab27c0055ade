package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/till"
)

// tillCore adapts the agent to the till API's Core: it converts types and maps
// the agent's sentinels onto the till's, and decides nothing itself.
type tillCore struct {
	a   *agent.Agent
	env string // KSeF environment for the status page
	now func() time.Time
}

var _ till.Core = (*tillCore)(nil)

// coreErr maps an agent error onto the sentinels the till turns into problem
// codes, keeping the original in the chain.
func coreErr(err error) error {
	if err == nil {
		return nil
	}
	var ve ksef.ValidationErrors
	var re *agent.RequestError
	switch {
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
	if !v.DeadlineAt.IsZero() {
		d := v.DeadlineAt
		tv.Deadline = &d
	}
	if tv.Currency == "" {
		tv.Currency = "PLN"
	}
	return tv
}

func (c *tillCore) Issue(ctx context.Context, req till.IssueRequest) (*till.Issued, error) {
	is, err := c.a.Issue(ctx, agent.IssueRequest{Key: req.Key, Body: req.Body, Sale: req.Sale})
	if err != nil {
		return nil, coreErr(err)
	}
	return &till.Issued{View: tillView(&is.View), Replayed: is.Replayed}, nil
}

func (c *tillCore) Invoice(ctx context.Context, id string) (*till.View, error) {
	v, err := c.a.Invoice(ctx, id)
	if err != nil {
		return nil, coreErr(err)
	}
	tv := tillView(v)
	return &tv, nil
}

func (c *tillCore) Invoices(ctx context.Context, f till.Filter) ([]till.View, error) {
	state := f.State
	switch state {
	case "print_pending", "print_failed":
		state = "print:" + strings.TrimPrefix(state, "print_")
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

func (c *tillCore) Reprint(ctx context.Context, id string) (*till.View, error) {
	v, err := c.a.Reprint(ctx, id)
	if err != nil {
		return nil, coreErr(err)
	}
	tv := tillView(v)
	return &tv, nil
}

func (c *tillCore) Correct(ctx context.Context, id string, req till.CorrectionRequest) (*till.Issued, error) {
	is, err := c.a.Correct(ctx, id, agent.CorrectionRequest{
		Key: req.Key, Body: req.Body, Reason: req.Reason, Type: req.Type, Lines: req.Lines, AfterRows: true,
	})
	if err != nil {
		return nil, coreErr(err)
	}
	return &till.Issued{View: tillView(&is.View), Replayed: is.Replayed}, nil
}

func (c *tillCore) SetMode(ctx context.Context, override string) error {
	if override == "auto" {
		override = agent.OverrideAuto
	}
	return coreErr(c.a.SetMode(ctx, override))
}

// ksefState maps the availability feed's verdict onto the till's names.
func ksefState(feed string) string {
	switch feed {
	case "AVAILABLE":
		return "available"
	case "MAINTENANCE":
		return "maintenance"
	case "FAILURE":
		return "emergency"
	case "TOTAL_FAILURE":
		return "total_failure"
	}
	return "unknown"
}

func printerState(p agent.PrinterStatus) (state, detail string) {
	switch {
	case p.PaperOut:
		state = "paper_out"
	case p.CoverOpen:
		state = "cover_open"
	case p.Offline || !p.Connected && p.LastError != "":
		state = "offline"
	case p.LastError != "":
		state = "error"
	case p.PaperNearEnd:
		state = "paper_low"
	default:
		state = "ok"
	}
	return state, p.LastError
}

func (c *tillCore) Status(ctx context.Context) (*till.Status, error) {
	s, err := c.a.Status(ctx)
	if err != nil {
		return nil, coreErr(err)
	}
	st := &till.Status{
		Now:  c.now(),
		Link: till.Link{State: s.Link},
		KSeF: till.KSeFState{State: ksefState(s.KSeF), Environment: c.env},
		Mode: till.ModeState{Current: s.Mode, Override: s.Override, Policy: s.Policy},
		Backlog: till.Backlog{
			Count: s.Backlog, Exposure: s.PenaltyExposure, Overdue: []till.Overdue{},
		},
		Certificate: till.Certificate{Serial: s.CertSerial, DaysLeft: s.CertDaysLeft},
		Errors:      []till.ErrorItem{},
	}
	if st.Link.State == "" {
		st.Link.State = "unknown"
	}
	if !s.LinkChecked.IsZero() {
		t := s.LinkChecked
		st.Link.Checked = &t
	}
	st.Printer.State, st.Printer.Detail = printerState(s.Printer)
	st.Printer.Pending, st.Printer.Failed = s.Print["pending"], s.Print["failed"]
	if !s.EarliestDeadline.IsZero() {
		t := s.EarliestDeadline
		st.Backlog.EarliestDeadline = &t
	}
	for _, o := range s.Overdue {
		st.Backlog.Overdue = append(st.Backlog.Overdue, till.Overdue{ID: o.ID, Number: o.Number, Deadline: o.Deadline, Exposure: o.Penalty})
	}
	if !s.CertNotAfter.IsZero() {
		t := s.CertNotAfter
		st.Certificate.NotAfter = &t
	}
	for _, e := range slices.Backward(s.Errors) {
		msg := e.Message
		if e.Code != "" {
			msg = e.Code + ": " + msg
		}
		st.Errors = append(st.Errors, till.ErrorItem{Time: e.At, Source: e.Op, Message: msg})
		if st.Link.LastError == "" && (e.Op == "upload" || e.Op == "auth") && st.Link.State == "down" {
			st.Link.LastError = msg
		}
	}
	return st, nil
}
