package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/posagent/posagent/outbox"
	"github.com/posagent/posagent/printer"
	"github.com/posagent/posagent/receipt"
)

// PrintResult takes one attempt's result from the print worker. Wire it to
// printer.Options.OnResult; it never blocks.
func (a *Agent) PrintResult(r printer.JobResult) {
	a.mu.Lock()
	a.results = append(a.results, r)
	a.mu.Unlock()
	kick(a.kickPrint)
}

// printLoop is the print dispatcher, one goroutine owned by Run: it first
// settles the jobs a previous run left (settlePrints), then records the
// worker's results, submits new jobs at once and feeds the others (left by
// a previous run, retried after a failure) at the printer's pace, and puts
// failed jobs back after PrintInterval.
//
// Only the first round and the ticker's rounds with nothing left to feed
// read the store's pending jobs: a kick (a new sale, a printer result, an
// acceptance) names its jobs, and a sweep reads every print job record.
func (a *Agent) printLoop(ctx context.Context) {
	if !a.settlePrints(ctx) {
		return
	}
	t := time.NewTicker(a.opts.PrintInterval)
	defer t.Stop()
	sweep := true
	for {
		a.printRound(ctx, sweep)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			sweep = true
		case <-a.kickPrint:
			sweep = false
		}
	}
}

func (a *Agent) printRound(ctx context.Context, sweep bool) {
	a.mu.Lock()
	results, ready := a.results, a.ready
	a.results, a.ready = nil, nil
	a.mu.Unlock()
	// New sales first: their buyers are waiting at the till.
	for _, id := range ready {
		a.dispatchJob(ctx, id, true)
	}
	for _, r := range results {
		a.recordResult(ctx, r)
	}
	now := a.now()
	a.mu.Lock()
	var again []string
	for id, at := range a.printRetry {
		if !now.Before(at) {
			again = append(again, id)
			delete(a.printRetry, id)
		}
	}
	a.mu.Unlock()
	for _, id := range again {
		if err := a.store.RetryPrint(ctx, id); err != nil && !errors.Is(err, outbox.ErrIllegalTransition) {
			a.log.Warn("retry print job", "job", id, "error", err)
		}
		a.leftovers.add(id)
	}
	if sweep && a.leftovers.empty() {
		a.sweepPrints(ctx)
	}
	a.feedLeftovers(ctx)
}

// sweepPrints adds every pending job not with the worker to the leftovers,
// with no cap. Jobs held for KSeF are looked at again too: one whose
// acceptance came while it was being put on hold is released here.
func (a *Agent) sweepPrints(ctx context.Context) {
	jobs, err := a.store.PrintJobs(ctx, 0)
	if err != nil {
		if ctx.Err() == nil {
			a.log.Warn("list print jobs", "error", err)
		}
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, j := range jobs {
		if !a.submitted[j.ID] {
			a.leftovers.add(j.ID)
		}
	}
}

// feedLeftovers submits leftover jobs, oldest first, while the worker has none
// queued: the printer sets the pace, and a new sale waits behind at most
// the receipt being printed and one leftover.
func (a *Agent) feedLeftovers(ctx context.Context) {
	for a.printer.State().Queued == 0 && ctx.Err() == nil {
		id, ok := a.leftovers.pop()
		if !ok {
			return
		}
		a.dispatchJob(ctx, id, false)
	}
}

// recordResult persists one attempt's outcome.
func (a *Agent) recordResult(ctx context.Context, r printer.JobResult) {
	job, err := a.store.PrintJob(ctx, r.ID)
	if err != nil && ctx.Err() != nil {
		return // stopping: the store keeps the job as it was
	}
	if err != nil {
		a.log.Warn("print result for unknown job", "job", r.ID, "error", err)
		return
	}
	if r.Err == nil {
		// The worker's journal marked it as it left the port; this is for a
		// printer without one, or a mark the journal failed to write.
		if job.State != outbox.PrintPrinted {
			if err := a.store.RecordPrint(ctx, []string{r.ID}, "", a.now()); err != nil {
				a.log.Warn("mark printed", "job", r.ID, "error", err)
			}
		}
		if a.m != nil {
			a.m.printJobs.Inc()
		}
		a.mu.Lock()
		delete(a.submitted, r.ID)
		a.mu.Unlock()
		return
	}
	code := printCode(r.Err)
	if job.State == outbox.PrintPending {
		// Noted before the store moves, so whoever sees the job failed
		// also finds the reason in Status.
		a.noteErr("print", fmt.Errorf("print job %s: %w", r.ID, r.Err))
		if err := a.store.MarkPrintFailed(ctx, r.ID, code); err != nil {
			a.log.Warn("mark print failed", "job", r.ID, "error", err)
		}
		a.log.Warn("print failed; the sale stands and the print is retried", "job", r.ID, "code", code, "error", r.Err)
		if a.m != nil {
			a.m.printFailures.Inc()
		}
	}
	if r.Done {
		a.mu.Lock()
		delete(a.submitted, r.ID)
		a.printRetry[r.ID] = a.now().Add(a.opts.PrintInterval)
		a.mu.Unlock()
	}
}

func printCode(err error) string {
	switch {
	case errors.Is(err, printer.ErrPaperOut):
		return "paper_out"
	case errors.Is(err, printer.ErrCoverOpen):
		return "cover_open"
	case errors.Is(err, printer.ErrOffline):
		return "offline"
	case errors.Is(err, printer.ErrTimeout):
		return "timeout"
	case errors.Is(err, printer.ErrDisconnected):
		return "disconnected"
	case errors.Is(err, printer.ErrCancelled):
		return "cancelled"
	case errors.Is(err, printer.ErrPrinterFault):
		return "printer_error"
	case errors.Is(err, printer.ErrTail):
		return "render_error"
	}
	return "error"
}

// queuePrint hands a new job to the print dispatcher, so the caller is
// answered without waiting for the receipt to be rendered (a raster QR takes
// milliseconds). Without Run it dispatches inline.
func (a *Agent) queuePrint(ctx context.Context, jobID string) {
	a.mu.Lock()
	running := a.running
	if running {
		a.ready = append(a.ready, jobID)
	}
	a.mu.Unlock()
	if running {
		kick(a.kickPrint)
		return
	}
	a.dispatchJob(ctx, jobID, true)
}

// dispatchJob renders a pending job and submits it once. A held job
// (handoutOf: B2BHold, or an unusable Offline certificate) waits until KSeF
// accepts the invoice; so does an online-first sale within its budget,
// unless Issue itself dispatches it after the attempt (afterAttempt).
func (a *Agent) dispatchJob(ctx context.Context, jobID string, afterAttempt bool) {
	if jobID == "" {
		return
	}
	a.mu.Lock()
	busy := a.submitted[jobID]
	if !busy {
		a.submitted[jobID] = true
	}
	a.mu.Unlock()
	if busy {
		return
	}
	submitted := false
	defer func() {
		if !submitted {
			a.mu.Lock()
			delete(a.submitted, jobID)
			a.mu.Unlock()
		}
	}()
	job, err := a.store.PrintJob(ctx, jobID)
	if err != nil || job.State != outbox.PrintPending {
		return
	}
	// The receipt is made from the record and its snapshot; the XML stays
	// compressed in the store.
	inv, err := a.store.GetForPrint(ctx, job.InvoiceID)
	if err != nil {
		if ctx.Err() == nil {
			a.log.Error("cannot read the invoice of a print job", "job", jobID, "error", err)
		}
		return
	}
	if job.Slip != "" {
		// A correction slip prints at once, whatever holds the invoice's own.
		if err := a.submitSlip(ctx, inv, job); err != nil {
			a.log.Error("cannot print a correction slip", "job", jobID, "error", err)
			a.noteErr("print", err)
			return
		}
		submitted = true
		return
	}
	snap, err := decodeSnapshot(inv.Doc)
	if err != nil {
		a.log.Error("cannot render receipt", "job", jobID, "error", err)
		return
	}
	held := a.handoutOf(inv, snap, job) == handHeld
	// Within the budget only the online attempt knows whether the sale is
	// handed over online or offline24: the receipt waits for its answer.
	inAttempt := !afterAttempt && inv.Upload != outbox.UploadAccepted && a.inBudget(inv, a.now())
	if held || inAttempt {
		a.mu.Lock()
		a.waiting[jobID] = inv.ID
		a.mu.Unlock()
		return
	}
	// A retry renders the whole receipt before printing: its buyer is not
	// waiting at the till, and a receipt that cannot be rendered must not
	// print its head again on every retry.
	pj, err := a.renderJob(jobID, inv, snap, job, job.Attempts == 0)
	if err != nil {
		a.log.Error("cannot render receipt", "job", jobID, "error", err)
		a.noteErr("print", err)
		return
	}
	if err := a.printer.Submit(ctx, pj); err != nil {
		if ctx.Err() == nil {
			a.log.Warn("submit print job", "job", jobID, "error", err)
		}
		return
	}
	submitted = true
	a.mu.Lock()
	delete(a.waiting, jobID)
	a.mu.Unlock()
}

// submitSlip renders a correction slip whole and submits it.
func (a *Agent) submitSlip(ctx context.Context, orig *outbox.Invoice, job *outbox.PrintJob) error {
	doc, err := a.slipDoc(ctx, orig, job)
	if err != nil {
		return err
	}
	b, err := receipt.Render(doc, a.opts.Profile, a.opts.QR)
	if err != nil {
		return fmt.Errorf("agent: render the correction slip of %s: %w", orig.Number, err)
	}
	return a.printer.Submit(ctx, printer.Job{ID: job.ID, Data: b})
}

// releaseWaiting queues the print jobs held for invoice id, now that KSeF
// accepted it.
func (a *Agent) releaseWaiting(id string) {
	a.mu.Lock()
	n := len(a.ready)
	for job, inv := range a.waiting {
		if inv == id {
			a.ready = append(a.ready, job)
			delete(a.waiting, job)
		}
	}
	released := len(a.ready) > n
	a.mu.Unlock()
	if released {
		kick(a.kickPrint)
	}
}

// tailPrinter is a Printer that honours printer.Job.Tail, writing a
// receipt's head while its QR codes are encoded: *printer.Worker. Any other
// Printer, such as a wrapper that records what it is given, gets each
// receipt whole in Data, so none can lose a tail it knows nothing about.
type tailPrinter interface {
	StreamsTail() bool
}

var _ tailPrinter = (*printer.Worker)(nil)

// renderJob maps the stored invoice onto a receipt and renders it as print
// job id. The first byte of a sale must reach the printer within
// milliseconds, and a raster QR takes milliseconds to encode: with stream
// set, a streaming printer gets the head (everything before the first code)
// as Data at once and a Tail that encodes the codes while the head is on
// the wire. Otherwise Data is the whole receipt.
func (a *Agent) renderJob(id string, inv *outbox.Invoice, snap *snapshot, job *outbox.PrintJob, stream bool) (printer.Job, error) {
	wrap := func(err error) error { return fmt.Errorf("agent: render receipt %s: %w", inv.Number, err) }
	if a.handoutOf(inv, snap, job) == handConfirmation {
		c, err := a.confirmationDoc(inv, snap, job)
		if err != nil {
			return printer.Job{}, err
		}
		b, err := receipt.RenderConfirmation(c, a.opts.Profile)
		if err != nil {
			return printer.Job{}, wrap(err)
		}
		return printer.Job{ID: id, Data: b}, nil
	}
	doc, err := a.receiptDoc(inv, snap, job)
	if err != nil {
		return printer.Job{}, err
	}
	if p, ok := a.printer.(tailPrinter); !stream || !ok || !p.StreamsTail() {
		b, err := receipt.Render(doc, a.opts.Profile, a.opts.QR)
		if err != nil {
			return printer.Job{}, wrap(err)
		}
		return printer.Job{ID: id, Data: b}, nil
	}
	head, rest, err := receipt.RenderParts(doc, a.opts.Profile, a.opts.QR)
	if err != nil {
		return printer.Job{}, wrap(err)
	}
	tail := func() ([]byte, error) {
		b, err := rest()
		if err != nil {
			return nil, wrap(err)
		}
		return b, nil
	}
	return printer.Job{ID: id, Data: head, Tail: tail}, nil
}
