// Package tillagent adapts the agent to the till API: it implements till.Core
// on top of *agent.Agent, translating views, filters, the status and the
// agent's errors into the till's types and sentinels.
//
// # Concepts
//
// The till package owns its wire types so that the HTTP contract
// (docs/openapi-till.json) does not move when the agent's internals do; this
// package is the one place that knows both sides. Wire it in main:
//
//	srv, err := till.New(tillagent.New(a, tillagent.Options{Environment: "test"}), opts)
//
// # Caveats
//
// A correction's lines are the rows after the correction (AfterRows); the
// till API has no difference rows. A correction that waits for its
// original's KSeF number comes back as till.Issued.Pending (a 202).
// Status.Link.LastError is the newest error of a KSeF operation in the
// agent's error list.
package tillagent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/outbox"
	"github.com/posagent/posagent/till"
)

// Agent is what the adapter needs from *agent.Agent.
type Agent interface {
	Issue(ctx context.Context, req agent.IssueRequest) (*agent.Issued, error)
	Invoice(ctx context.Context, id string) (*agent.View, error)
	Invoices(ctx context.Context, f agent.Filter) ([]agent.View, error)
	Reprint(ctx context.Context, id string) (*agent.View, error)
	Correct(ctx context.Context, id string, req agent.CorrectionRequest) (*agent.Issued, error)
	Status(ctx context.Context) (*agent.Status, error)
	SetMode(ctx context.Context, override string) error
	Announce(ctx context.Context, an agent.Announcement) error
	Journal(ctx context.Context) ([]outbox.Announcement, error)
	InvoiceXML(ctx context.Context, id string) (*agent.Document, error)
	InvoiceUPO(ctx context.Context, id string) (*agent.Document, error)
}

var _ Agent = (*agent.Agent)(nil)

// Options configure the adapter.
type Options struct {
	Environment string           // KSeF environment shown in the status (test, demo, prod)
	Now         func() time.Time // default time.Now
}

// Core is a till.Core backed by an Agent.
type Core struct {
	a    Agent
	opts Options
}

var _ till.Core = (*Core)(nil)

// New returns the adapter.
func New(a Agent, opts Options) *Core {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Core{a: a, opts: opts}
}

// Issue implements till.Core.
func (c *Core) Issue(ctx context.Context, req till.IssueRequest) (*till.Issued, error) {
	res, err := c.a.Issue(ctx, agent.IssueRequest{Key: req.Key, Body: req.Body, Sale: req.Sale})
	if err != nil {
		return nil, mapErr(err)
	}
	return issued(res), nil
}

// Invoice implements till.Core.
func (c *Core) Invoice(ctx context.Context, id string) (*till.View, error) {
	v, err := c.a.Invoice(ctx, id)
	if err != nil {
		return nil, mapErr(err)
	}
	tv := View(v)
	return &tv, nil
}

// Invoices implements till.Core.
func (c *Core) Invoices(ctx context.Context, f till.Filter) ([]till.View, error) {
	state := f.State
	switch state {
	case "print_pending":
		state = "print:pending"
	case "printed":
		state = "print:printed"
	case "print_failed":
		state = "print:failed"
	case "print_uncertain":
		state = "print:uncertain"
	}
	list, err := c.a.Invoices(ctx, agent.Filter{State: state, Limit: f.Limit, After: f.After})
	if err != nil {
		return nil, mapErr(err)
	}
	out := make([]till.View, len(list))
	for i := range list {
		out[i] = View(&list[i])
	}
	return out, nil
}

// Reprint implements till.Core.
func (c *Core) Reprint(ctx context.Context, id string) (*till.View, error) {
	v, err := c.a.Reprint(ctx, id)
	if err != nil {
		return nil, mapErr(err)
	}
	tv := View(v)
	return &tv, nil
}

// Correct implements till.Core: the lines are the rows after the correction.
func (c *Core) Correct(ctx context.Context, id string, req till.CorrectionRequest) (*till.Issued, error) {
	res, err := c.a.Correct(ctx, id, agent.CorrectionRequest{
		Key: req.Key, Body: req.Body, Reason: req.Reason, Type: req.Type, Lines: req.Lines, AfterRows: true,
	})
	if err != nil {
		return nil, mapErr(err)
	}
	return issued(res), nil
}

// InvoiceXML implements till.Core.
func (c *Core) InvoiceXML(ctx context.Context, id string) (*till.Document, error) {
	return document(c.a.InvoiceXML(ctx, id))
}

// InvoiceUPO implements till.Core.
func (c *Core) InvoiceUPO(ctx context.Context, id string) (*till.Document, error) {
	return document(c.a.InvoiceUPO(ctx, id))
}

func document(d *agent.Document, err error) (*till.Document, error) {
	if err != nil {
		return nil, mapErr(err)
	}
	return &till.Document{ID: d.ID, Number: d.Number, Data: d.Data}, nil
}

// SetMode implements till.Core; "auto" clears the override.
func (c *Core) SetMode(ctx context.Context, override string) error {
	if override == "auto" {
		override = agent.OverrideAuto
	}
	return mapErr(c.a.SetMode(ctx, override))
}

// Announce implements till.Core: the operator's record of an MF
// announcement, starting today.
func (c *Core) Announce(ctx context.Context, mode, reference string) error {
	return mapErr(c.a.Announce(ctx, agent.Announcement{Mode: mode, Reference: reference}))
}

// Journal implements till.Core.
func (c *Core) Journal(ctx context.Context) ([]till.Announcement, error) {
	list, err := c.a.Journal(ctx)
	if err != nil {
		return nil, mapErr(err)
	}
	return Journal(list), nil
}

// Journal converts the store's announcements journal to the till's.
func Journal(list []outbox.Announcement) []till.Announcement {
	out := make([]till.Announcement, len(list))
	for i, a := range list {
		out[i] = till.Announcement{ID: a.ID, Mode: a.Mode, Start: a.Start, End: a.End, Source: a.Source,
			Reference: a.Reference, RecordedAt: a.RecordedAt, EndedAt: timePtr(a.EndedAt), ProbesDropped: a.Dropped,
			Probes: make([]till.Probe, len(a.Probes))}
		for j, p := range a.Probes {
			out[i].Probes[j] = till.Probe{Target: p.Target, Error: p.Error, First: p.First, Last: p.Last, Count: p.Count}
		}
	}
	return out
}

// Status implements till.Core.
func (c *Core) Status(ctx context.Context) (*till.Status, error) {
	st, err := c.a.Status(ctx)
	if err != nil {
		return nil, mapErr(err)
	}
	out := &till.Status{
		Now:  c.opts.Now(),
		Link: till.Link{State: st.Link, Checked: timePtr(st.LinkChecked)},
		KSeF: till.KSeFState{State: ksefState(st.KSeF), Environment: c.opts.Environment},
		Mode: till.ModeState{Current: st.Mode, Override: st.Override, Policy: st.Policy},
		Printer: till.Printer{State: printerState(st.Printer), Detail: st.Printer.LastError,
			Pending: st.Printer.Pending, Failed: st.Print["failed"], Uncertain: st.Printer.Uncertain},
		Backlog: till.Backlog{Count: st.Backlog, EarliestDeadline: timePtr(st.EarliestDeadline),
			Overdue: []till.Overdue{}, Exposure: st.PenaltyExposure},
		Certificate: till.Certificate{Serial: st.CertSerial, NotAfter: timePtr(st.CertNotAfter), DaysLeft: st.CertDaysLeft,
			Refused: st.OfflineRefused},
		Auth: till.Auth{Method: st.Auth.Method, FailedLogins: st.Auth.FailedLogins,
			TokensEnd: timePtr(st.Auth.TokensEnd), TokenDaysLeft: st.Auth.TokenDaysLeft, Alarm: st.Auth.Alarm},
		Errors: make([]till.ErrorItem, 0, len(st.Errors)),
	}
	for _, cs := range st.Certificates {
		switch cs.Usage {
		case agent.UsageOffline:
			if cs.Serial == out.Certificate.Serial {
				out.Certificate.KSeFState = cs.KSeF
			}
		case agent.UsageAuthentication:
			out.Auth.Certificate = &till.Certificate{Serial: cs.Serial, NotAfter: timePtr(cs.NotAfter),
				DaysLeft: cs.DaysLeft(out.Now), KSeFState: cs.KSeF}
		}
	}
	for _, u := range st.Printer.UncertainReceipts {
		out.Printer.UncertainReceipts = append(out.Printer.UncertainReceipts,
			till.UncertainReceipt{ID: u.ID, Number: u.Number, IssuedAt: u.IssuedAt, FirstAttempt: timePtr(u.FirstAttempt)})
	}
	for _, o := range st.Overdue {
		out.Backlog.Overdue = append(out.Backlog.Overdue, till.Overdue{ID: o.ID, Number: o.Number, Deadline: o.Deadline, Exposure: o.Penalty, Basis: o.Basis})
	}
	// The agent keeps errors oldest first; the till shows the newest first.
	for _, e := range slices.Backward(st.Errors) {
		out.Errors = append(out.Errors, till.ErrorItem{Time: e.At, Source: e.Op, Code: e.Code, Message: e.Message})
		if out.Link.LastError == "" && ksefOps[e.Op] {
			out.Link.LastError = e.Message
		}
	}
	return out, nil
}

// ksefOps are the agent's error operations that talk to KSeF.
var ksefOps = map[string]bool{"authenticate": true, "batch": true, "duplicate check": true, "online attempt": true, "upload": true, "upo": true}

func ksefState(s string) string {
	switch s {
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

func printerState(p agent.PrinterStatus) string {
	switch {
	case !p.Known:
		return "unknown"
	case !p.Connected, p.Offline && !p.PaperOut && !p.CoverOpen:
		return "offline"
	case p.PaperOut:
		return "paper_out"
	case p.CoverOpen:
		return "cover_open"
	case p.PaperNearEnd:
		return "paper_low"
	}
	return "ok"
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func issued(res *agent.Issued) *till.Issued {
	if p := res.Pending; p != nil {
		return &till.Issued{Replayed: res.Replayed, Pending: &till.PendingCorrection{State: till.StatePending,
			ID: p.ID, Corrects: p.Corrects, OriginalNumber: p.OriginalNumber, RequestedAt: p.RequestedAt, SlipPrint: p.SlipPrint}}
	}
	return &till.Issued{View: View(&res.View), Replayed: res.Replayed}
}

// View converts an agent view to the till's.
func View(v *agent.View) till.View {
	out := till.View{
		ID: v.ID, Number: v.Number, Kind: v.Kind, Corrects: v.CorrectionOf,
		Currency: v.Currency, Gross: v.Gross, VAT: v.VAT, Mode: v.Mode,
		Kod1: v.KOD1, Kod1Label: v.KOD1Label, Kod2: v.KOD2, Hash: v.Hash,
		Print: v.PrintState, PrintHeld: v.PrintHeld, Confirmation: v.Confirmation, Upload: v.UploadState,
		Deadline: timePtr(v.DeadlineAt), Overdue: v.Overdue, KSeFNumber: v.KSeFNumber, Error: v.RejectCode,
		PendingCorrections: v.PendingCorrections,
		PrintFirstAttempt:  timePtr(v.PrintFirstAttempt), PrintRepeated: v.PrintRepeated,
	}
	if out.Print == "" {
		out.Print = "none"
	}
	if d, err := ksef.ParseDate(v.P1); err == nil {
		out.IssueDate = d
	}
	return out
}

// mapErr translates the agent's sentinels into the till's, keeping the
// agent's error in the chain for the log.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	var re *agent.RequestError
	var ce *agent.OfflineCertError
	switch {
	case errors.As(err, &ce):
		return till.OfflineCertificateProblem(ce.Reason)
	case errors.Is(err, ksef.ErrInvalidSale):
		return err // the till gives each field its code
	case errors.As(err, &re):
		return till.FieldProblem(http.StatusUnprocessableEntity, till.CodeInvalidRequest, re.Field, re.Reason)
	case errors.Is(err, agent.ErrNotFound):
		return fmt.Errorf("%w: %w", till.ErrNotFound, err)
	case errors.Is(err, agent.ErrIdempotencyConflict):
		return fmt.Errorf("%w: %w", till.ErrKeyConflict, err)
	case errors.Is(err, agent.ErrIllegalState):
		return fmt.Errorf("%w: %w", till.ErrNotCorrectable, err)
	case errors.Is(err, agent.ErrInvalidMode):
		return fmt.Errorf("%w: %w", till.ErrInvalidMode, err)
	case errors.Is(err, agent.ErrStoreFull):
		return fmt.Errorf("%w: %w", till.ErrStoreFull, err)
	case errors.Is(err, agent.ErrNoUPO):
		return fmt.Errorf("%w: %w", till.ErrNoUPO, err)
	}
	return err
}
