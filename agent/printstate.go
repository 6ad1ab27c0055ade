package agent

import (
	"context"
	"time"

	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/outbox"
	"github.com/posagent/posagent/printer"
)

// DefaultReprintWindow is how long after its first attempt (or, never tried,
// its request) a receipt a restart finds unfinished is still printed: the
// customer may still be at the till.
const DefaultReprintWindow = 2 * time.Minute

// RecordPrint is the print worker's journal (printer.Journal through
// printer.JournalFunc): the jobs in printed left the port, job started is
// about to be tried. It writes the store in one transaction, dated by the
// agent's clock.
func (a *Agent) RecordPrint(ctx context.Context, printed []string, started string) error {
	return a.store.RecordPrint(ctx, printed, started, a.now())
}

var _ printer.Journal = printer.JournalFunc((*Agent)(nil).RecordPrint)

// settlePrints applies the restart rule to the print jobs the previous run
// left pending or failed, before anything is printed. The age of a job is
// the time since its first attempt, or since its request if it was never
// tried, by the agent's clock:
//
//   - younger than ReprintWindow: printed; one that was tried (it may have
//     reached the paper) carries the PONOWNY WYDRUK mark with the time of
//     its first attempt, so no second original is ever handed out unmarked;
//   - older: parked uncertain and not printed, so no receipt comes out
//     minutes after its customer left; the till lists it, and an explicit
//     reprint prints it as DUPLIKAT.
//
// Two kinds of old job that were never tried stay pending instead: a
// duplicate, which then prints (someone asked for it, e.g. `posagent
// invoices reprint` with the service stopped, and it is marked anyway), and
// a receipt held for KSeF's acceptance, which keeps waiting (by design).
//
// It retries a store that fails until ctx ends and returns false then:
// printing a tried job unmarked is never the fallback.
func (a *Agent) settlePrints(ctx context.Context) bool {
	rec := a.store.Recovered().PrintJob
	if len(rec) == 0 {
		return true
	}
	now := a.now()
	var park, repeat []string
	for _, j := range rec {
		started := j.Started()
		first := j.RequestedAt
		if started {
			first = j.FirstAttempt()
		}
		switch young := now.Sub(first) < a.opts.ReprintWindow; {
		case young && started:
			repeat = append(repeat, j.ID) // it may have reached the paper: marked
		case young:
			// never tried: it prints as any new job
		case !started && (j.Duplicate || a.heldJob(ctx, &j)):
			// left pending whatever its age: someone asked for the
			// duplicate; the held receipt waits for KSeF by design
		default:
			park = append(park, j.ID)
		}
	}
	for {
		err := a.store.SettlePrints(ctx, park, repeat, now)
		if err == nil {
			break
		}
		a.log.Error("cannot record the print jobs left by the previous run; nothing prints until it can", "error", err)
		a.noteErr("print", err)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(a.opts.PrintInterval):
		}
	}
	if len(park)+len(repeat) > 0 {
		a.log.Warn("receipts left unfinished by the previous run", "repeated_marked", len(repeat), "uncertain", len(park),
			"left", len(rec)-len(park)-len(repeat), "reprint_window", a.opts.ReprintWindow)
	}
	return true
}

// printerIdle reports whether the worker prints nothing and holds nothing.
func (a *Agent) printerIdle() bool {
	st := a.printer.State()
	return st.Printing == "" && st.Queued == 0
}

// heldJob reports whether job j's receipt waits for KSeF's acceptance.
func (a *Agent) heldJob(ctx context.Context, j *outbox.PrintJob) bool {
	inv, err := a.store.GetForPrint(ctx, j.InvoiceID)
	if err != nil {
		return false
	}
	snap, err := decodeSnapshot(inv.Doc)
	return err == nil && a.handoutOf(inv, snap, j) == handHeld
}

// repeatMark is the PONOWNY WYDRUK line's time of the first attempt, in
// Warsaw time, to the second.
func repeatMark(j *outbox.PrintJob) string {
	if j == nil || !j.Repeat {
		return ""
	}
	return j.FirstAttempt().In(ksef.Warsaw).Format("2006-01-02 15:04:05")
}

// jobQueue is a FIFO of print job ids without repeats; only the print loop
// uses it.
type jobQueue struct {
	ids []string
	in  map[string]bool
}

func (q *jobQueue) add(id string) {
	if q.in[id] {
		return
	}
	if q.in == nil {
		q.in = map[string]bool{}
	}
	q.in[id] = true
	q.ids = append(q.ids, id)
}

func (q *jobQueue) pop() (string, bool) {
	if len(q.ids) == 0 {
		return "", false
	}
	id := q.ids[0]
	q.ids = q.ids[1:]
	delete(q.in, id)
	return id, true
}

func (q *jobQueue) empty() bool { return len(q.ids) == 0 }
