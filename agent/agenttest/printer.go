package agenttest

import (
	"bytes"
	"context"
	"sync"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/printer"
)

// Printer is the agent's printer in tests. It keeps every job the agent
// submits, then hands the job to Next; with no Next it accepts the job and
// reports a connected printer, so nothing is ever printed.
//
// When Next streams (printer.Worker.StreamsTail), so does the Printer: the
// agent hands it a receipt's head in Data and the QR codes in Tail, the path
// production takes. Job.Bytes of a recorded job gives the whole receipt.
type Printer struct {
	Next agent.Printer

	mu   sync.Mutex // guards jobs
	jobs []printer.Job
}

var _ agent.Printer = (*Printer)(nil)

// Submit records j and passes it to Next.
func (p *Printer) Submit(ctx context.Context, j printer.Job) error {
	p.mu.Lock()
	p.jobs = append(p.jobs, printer.Job{ID: j.ID, Data: bytes.Clone(j.Data), Tail: j.Tail})
	p.mu.Unlock()
	if p.Next == nil {
		return nil
	}
	return p.Next.Submit(ctx, j)
}

// State is Next's state, or a connected printer when there is no Next.
func (p *Printer) State() printer.State {
	if p.Next == nil {
		return printer.State{Connected: true}
	}
	return p.Next.State()
}

// StreamsTail reports whether Next honours printer.Job.Tail.
func (p *Printer) StreamsTail() bool {
	s, ok := p.Next.(interface{ StreamsTail() bool })
	return ok && s.StreamsTail()
}

// Jobs returns the jobs submitted so far, in order. A streamed job keeps
// its Tail; Job.Bytes returns all of it.
func (p *Printer) Jobs() []printer.Job {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]printer.Job(nil), p.jobs...)
}
