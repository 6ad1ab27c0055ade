package agenttest

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/outbox"
)

// ErrNotSet is returned by a method whose function field is nil.
var ErrNotSet = errors.New("agenttest: function not set")

// api is the method set doors consume; the real agent and the fake keep it.
type api interface {
	Issue(ctx context.Context, req agent.IssueRequest) (*agent.Issued, error)
	Invoice(ctx context.Context, id string) (*agent.View, error)
	Invoices(ctx context.Context, f agent.Filter) ([]agent.View, error)
	Reprint(ctx context.Context, id string) (*agent.View, error)
	Correct(ctx context.Context, id string, req agent.CorrectionRequest) (*agent.Issued, error)
	TechnicalCorrection(ctx context.Context, id string, fixed ksef.Sale) (*agent.View, error)
	Status(ctx context.Context) (*agent.Status, error)
	SetMode(ctx context.Context, override string) error
	Announce(ctx context.Context, an agent.Announcement) error
	Journal(ctx context.Context) ([]outbox.Announcement, error)
	Flush(ctx context.Context) error
	InvoiceXML(ctx context.Context, id string) (*agent.Document, error)
	InvoiceUPO(ctx context.Context, id string) (*agent.Document, error)
}

var (
	_ api = (*agent.Agent)(nil)
	_ api = (*Agent)(nil)
)

// Agent is a function-field fake of *agent.Agent. It records the name of
// every call.
type Agent struct {
	IssueFunc               func(ctx context.Context, req agent.IssueRequest) (*agent.Issued, error)
	InvoiceFunc             func(ctx context.Context, id string) (*agent.View, error)
	InvoicesFunc            func(ctx context.Context, f agent.Filter) ([]agent.View, error)
	ReprintFunc             func(ctx context.Context, id string) (*agent.View, error)
	CorrectFunc             func(ctx context.Context, id string, req agent.CorrectionRequest) (*agent.Issued, error)
	TechnicalCorrectionFunc func(ctx context.Context, id string, fixed ksef.Sale) (*agent.View, error)
	StatusFunc              func(ctx context.Context) (*agent.Status, error)
	SetModeFunc             func(ctx context.Context, override string) error
	AnnounceFunc            func(ctx context.Context, an agent.Announcement) error
	JournalFunc             func(ctx context.Context) ([]outbox.Announcement, error)
	FlushFunc               func(ctx context.Context) error
	InvoiceXMLFunc          func(ctx context.Context, id string) (*agent.Document, error)
	InvoiceUPOFunc          func(ctx context.Context, id string) (*agent.Document, error)

	mu    sync.Mutex // guards calls
	calls []string
}

func (a *Agent) record(name string) {
	a.mu.Lock()
	a.calls = append(a.calls, name)
	a.mu.Unlock()
}

// Calls returns the names of the methods called so far, in order.
func (a *Agent) Calls() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.calls...)
}

func notSet(name string) error { return fmt.Errorf("%w: %sFunc", ErrNotSet, name) }

// Issue calls IssueFunc.
func (a *Agent) Issue(ctx context.Context, req agent.IssueRequest) (*agent.Issued, error) {
	a.record("Issue")
	if a.IssueFunc == nil {
		return nil, notSet("Issue")
	}
	return a.IssueFunc(ctx, req)
}

// Invoice calls InvoiceFunc.
func (a *Agent) Invoice(ctx context.Context, id string) (*agent.View, error) {
	a.record("Invoice")
	if a.InvoiceFunc == nil {
		return nil, notSet("Invoice")
	}
	return a.InvoiceFunc(ctx, id)
}

// Invoices calls InvoicesFunc.
func (a *Agent) Invoices(ctx context.Context, f agent.Filter) ([]agent.View, error) {
	a.record("Invoices")
	if a.InvoicesFunc == nil {
		return nil, notSet("Invoices")
	}
	return a.InvoicesFunc(ctx, f)
}

// Reprint calls ReprintFunc.
func (a *Agent) Reprint(ctx context.Context, id string) (*agent.View, error) {
	a.record("Reprint")
	if a.ReprintFunc == nil {
		return nil, notSet("Reprint")
	}
	return a.ReprintFunc(ctx, id)
}

// Correct calls CorrectFunc.
func (a *Agent) Correct(ctx context.Context, id string, req agent.CorrectionRequest) (*agent.Issued, error) {
	a.record("Correct")
	if a.CorrectFunc == nil {
		return nil, notSet("Correct")
	}
	return a.CorrectFunc(ctx, id, req)
}

// TechnicalCorrection calls TechnicalCorrectionFunc.
func (a *Agent) TechnicalCorrection(ctx context.Context, id string, fixed ksef.Sale) (*agent.View, error) {
	a.record("TechnicalCorrection")
	if a.TechnicalCorrectionFunc == nil {
		return nil, notSet("TechnicalCorrection")
	}
	return a.TechnicalCorrectionFunc(ctx, id, fixed)
}

// Status calls StatusFunc.
func (a *Agent) Status(ctx context.Context) (*agent.Status, error) {
	a.record("Status")
	if a.StatusFunc == nil {
		return nil, notSet("Status")
	}
	return a.StatusFunc(ctx)
}

// SetMode calls SetModeFunc.
func (a *Agent) SetMode(ctx context.Context, override string) error {
	a.record("SetMode")
	if a.SetModeFunc == nil {
		return notSet("SetMode")
	}
	return a.SetModeFunc(ctx, override)
}

// Announce calls AnnounceFunc.
func (a *Agent) Announce(ctx context.Context, an agent.Announcement) error {
	a.record("Announce")
	if a.AnnounceFunc == nil {
		return notSet("Announce")
	}
	return a.AnnounceFunc(ctx, an)
}

// Journal calls JournalFunc.
func (a *Agent) Journal(ctx context.Context) ([]outbox.Announcement, error) {
	a.record("Journal")
	if a.JournalFunc == nil {
		return nil, notSet("Journal")
	}
	return a.JournalFunc(ctx)
}

// Flush calls FlushFunc.
func (a *Agent) Flush(ctx context.Context) error {
	a.record("Flush")
	if a.FlushFunc == nil {
		return notSet("Flush")
	}
	return a.FlushFunc(ctx)
}

// InvoiceXML calls InvoiceXMLFunc.
func (a *Agent) InvoiceXML(ctx context.Context, id string) (*agent.Document, error) {
	a.record("InvoiceXML")
	if a.InvoiceXMLFunc == nil {
		return nil, notSet("InvoiceXML")
	}
	return a.InvoiceXMLFunc(ctx, id)
}

// InvoiceUPO calls InvoiceUPOFunc.
func (a *Agent) InvoiceUPO(ctx context.Context, id string) (*agent.Document, error) {
	a.record("InvoiceUPO")
	if a.InvoiceUPOFunc == nil {
		return nil, notSet("InvoiceUPO")
	}
	return a.InvoiceUPOFunc(ctx, id)
}
