package printer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/posagent/posagent/escpos"
)

// Job is one print job: the ESC/POS bytes of a receipt, whole in Data or
// split into Data and a Tail that is still being computed.
type Job struct {
	ID   string // the caller's key, e.g. the invoice number; reported back in JobResult
	Data []byte // required; written as soon as the printer is ready

	// Tail, if set, returns the bytes that follow Data, so the printer can
	// start on Data while the rest (e.g. raster QR codes) is encoded. The
	// worker calls it once per job, on a goroutine the job owns, right
	// after Data's first chunk is written (so the tail's work cannot delay
	// the first receipt byte, and the rest of Data covers it), and writes
	// its bytes right after Data, which must end between two commands. It
	// keeps them: a retry (paper out, reconnect, resync) resends Data and
	// the same tail bytes, and Confirm counts both. An error fails the job
	// for good with a *TailError after Data was written; nothing more is
	// sent.
	//
	// A job that never wrote its Data (refused, cancelled, still queued when
	// Run stops) never calls Tail, so a Tail must hold nothing that only
	// calling it releases. It must not block for long or wait on the worker.
	Tail func() ([]byte, error)
}

// Bytes returns the whole job: Data followed by the tail's bytes. It calls
// Tail, which must then be safe to call again (the worker may call it too)
// and from another goroutine; it is meant for callers that need the receipt at
// once, such as a wrapper that records what it submits.
func (j Job) Bytes() ([]byte, error) {
	if j.Tail == nil {
		return bytes.Clone(j.Data), nil
	}
	t, err := j.Tail()
	if err != nil {
		return nil, &TailError{Err: err}
	}
	return append(bytes.Clone(j.Data), t...), nil
}

// JobResult reports one attempt at a job.
type JobResult struct {
	ID       string
	Err      error // nil when printed (and confirmed, with Options.Confirm)
	Attempts int   // attempts so far, this one included
	// Done is true when the worker is finished with the job: printed, failed
	// with a non-retryable error, cancelled, or out of attempts. Otherwise
	// the worker retries it after a backoff.
	Done bool
}

// State is what the worker last knew about the printer, for a status page.
type State struct {
	Connected bool
	Status    escpos.Status // last reported; zero until the first reply
	Known     bool          // Status came from the printer
	LastErr   error         // last failure, nil after a success
	Updated   time.Time     // when Status or LastErr last changed
	Queued    int           // jobs waiting, the current one excluded
	Printing  string        // ID of the job in progress, if any
}

type statusReq struct {
	reply chan statusResp
}

type statusResp struct {
	st  escpos.Status
	err error
}

// Worker owns the port: it is the only goroutine that writes to it. Submit
// jobs from any goroutine; Run processes them one at a time, in order.
type Worker struct {
	open Opener
	opts Options
	log  *slog.Logger

	jobs    chan Job
	queries chan statusReq
	cancel  chan struct{} // 1-slot: a job was cancelled
	stopped chan struct{} // closed when Run returns

	mu        sync.Mutex // guards state, cancelled and peeked
	state     State
	cancelled map[string]bool
	running   bool
	peeked    int // a job taken from the queue early, to journal its start (0 or 1)
}

// NewWorker returns a worker that opens the port with open. A nil opts
// means defaults; a nil logger discards.
func NewWorker(open Opener, opts *Options, logger *slog.Logger) (*Worker, error) {
	if open == nil {
		return nil, &OptionError{Field: "Opener", Value: nil}
	}
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Worker{
		open:      open,
		opts:      o,
		log:       logger,
		jobs:      make(chan Job, o.QueueSize),
		queries:   make(chan statusReq),
		cancel:    make(chan struct{}, 1),
		stopped:   make(chan struct{}),
		cancelled: map[string]bool{},
	}, nil
}

// Submit queues a job. It blocks while the queue is full, until ctx ends or
// the worker stops. Data must not be modified afterwards. A job needs an ID
// and Data even when it has a Tail.
func (w *Worker) Submit(ctx context.Context, job Job) error {
	if job.ID == "" || len(job.Data) == 0 {
		return fmt.Errorf("%w: empty ID or data", ErrInvalidJob)
	}
	select {
	case <-w.stopped:
		return ErrStopped
	default:
	}
	select {
	case w.jobs <- job:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-w.stopped:
		return ErrStopped
	}
}

// StreamsTail reports that Submit honours Job.Tail: Data goes to the
// printer before the tail is ready. It is always true for a Worker; it lets
// code that takes any Submit method (a wrapper may know nothing of Tail)
// tell a worker apart.
func (w *Worker) StreamsTail() bool { return true }

// Cancel abandons the job with id, whether queued or being retried. An
// attempt already writing (or waiting for its tail) finishes first. The
// job's final result carries ErrCancelled.
func (w *Worker) Cancel(id string) {
	w.mu.Lock()
	w.cancelled[id] = true
	w.mu.Unlock()
	select {
	case w.cancel <- struct{}{}:
	default:
	}
}

// State returns what the worker last knew about the printer.
func (w *Worker) State() State {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.state
	s.Queued = len(w.jobs) + w.peeked
	return s
}

// Query asks the printer for its status now, through the worker that owns
// the port. It waits for the current attempt to end.
func (w *Worker) Query(ctx context.Context) (escpos.Status, error) {
	req := statusReq{reply: make(chan statusResp, 1)}
	select {
	case w.queries <- req:
	case <-ctx.Done():
		return escpos.Status{}, ctx.Err()
	case <-w.stopped:
		return escpos.Status{}, ErrStopped
	}
	select {
	case r := <-req.reply:
		return r.st, r.err
	case <-ctx.Done():
		return escpos.Status{}, ctx.Err()
	}
}

// Run processes jobs until ctx ends, then closes the port and returns
// ctx.Err(). A job interrupted by shutdown, or still queued, gets no final
// JobResult: the caller's outbox still holds it. Before returning, Run waits
// for a Tail being computed. Run may be called only once.
func (w *Worker) Run(ctx context.Context) error {
	w.mu.Lock()
	if w.running {
		w.mu.Unlock()
		return ErrAlreadyRunning
	}
	w.running = true
	w.mu.Unlock()
	defer close(w.stopped)

	r := &run{w: w, backoff: w.opts.Backoff}
	defer r.disconnect()
	var poll <-chan time.Time
	if w.opts.PollInterval > 0 {
		t := time.NewTicker(w.opts.PollInterval)
		defer t.Stop()
		poll = t.C
	}
	for {
		if job, ok := r.takeNext(); ok && ctx.Err() == nil {
			r.do(ctx, job)
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case q := <-w.queries:
			r.answer(ctx, q)
		case job := <-w.jobs:
			r.do(ctx, job)
		case <-poll:
			if !w.opts.NoStatus {
				_, _ = r.query(ctx) // the outcome lands in State
			}
		}
	}
}

// run is the state of the Run goroutine; nothing else touches it.
type run struct {
	w         *Worker
	l         *link
	backoff   Backoff
	desync    bool // the printer may be inside an interrupted command
	failures  int
	lastLogAt time.Time
	next      *Job   // taken from the queue as the last job left the port
	begun     string // the job whose start the journal recorded last
}

func (r *run) disconnect() {
	if r.l != nil {
		_ = r.l.close()
		r.l = nil
		r.w.setState(func(s *State) { s.Connected = false })
	}
}

func (r *run) connect(ctx context.Context) error {
	if r.l != nil && !r.l.broken.Load() {
		return nil
	}
	r.disconnect()
	p, err := r.w.open(ctx)
	if err != nil {
		return &DisconnectedError{Op: "open", Err: err}
	}
	l, err := newLink(p, &r.w.opts, true)
	if err != nil {
		if c, ok := p.(interface{ Close() error }); ok {
			c.Close()
		}
		return err
	}
	r.l = l
	r.w.setState(func(s *State) { s.Connected = true })
	return nil
}

func (r *run) answer(ctx context.Context, q statusReq) {
	st, err := r.query(ctx)
	q.reply <- statusResp{st, err}
}

func (r *run) query(ctx context.Context) (escpos.Status, error) {
	if err := r.connect(ctx); err != nil {
		r.noteErr(err)
		return escpos.Status{}, err
	}
	st, err := r.l.queryStatus(ctx)
	r.noteStatus(st, err)
	if err != nil {
		r.dropIfBroken()
	}
	return st, err
}

func (r *run) dropIfBroken() {
	if r.l != nil && r.l.broken.Load() {
		r.disconnect()
	}
}

func (w *Worker) setState(f func(*State)) {
	w.mu.Lock()
	f(&w.state)
	w.state.Updated = time.Now()
	w.mu.Unlock()
}

func (r *run) noteStatus(st escpos.Status, err error) {
	r.w.setState(func(s *State) {
		if err == nil || errors.As(err, new(*StatusError)) {
			s.Status, s.Known = st, true
		}
		s.LastErr = err
	})
}

func (r *run) noteErr(err error) { r.w.setState(func(s *State) { s.LastErr = err }) }

func (w *Worker) takeCancelled(id string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.cancelled[id]
	delete(w.cancelled, id)
	return c
}

func (w *Worker) report(res JobResult) {
	if w.opts.OnResult != nil {
		w.opts.OnResult(res)
	}
}

// do runs one job to its end: printed, failed for good, cancelled, or ctx done.
func (r *run) do(ctx context.Context, job Job) {
	w := r.w
	w.setState(func(s *State) { s.Printing = job.ID })
	defer func() {
		w.takeCancelled(job.ID) // a late Cancel must not linger
		w.setState(func(s *State) { s.Printing = "" })
	}()
	// The job owns the tail's goroutine and waits for it however it ends.
	tail := &jobTail{f: job.Tail}
	defer tail.finish()
	for attempt := 1; ; attempt++ {
		if w.takeCancelled(job.ID) {
			w.report(JobResult{ID: job.ID, Err: ErrCancelled, Attempts: attempt - 1, Done: true})
			return
		}
		err := r.begin(ctx, job.ID)
		if err == nil {
			err = r.attempt(ctx, job, tail)
		}
		if err == nil {
			r.leftPort(ctx, job.ID) // even when stopping: the receipt is out
		}
		if ctx.Err() != nil {
			return // shutting down: the caller's outbox still holds the job
		}
		if err == nil {
			if r.failures > 0 {
				w.log.Info("printer recovered", "job", job.ID, "consecutive_errors", r.failures)
			}
			r.failures = 0
			r.backoff.Reset()
			w.report(JobResult{ID: job.ID, Attempts: attempt, Done: true})
			return
		}
		r.failures++
		done := !Retryable(err) || (w.opts.MaxAttempts > 0 && attempt >= w.opts.MaxAttempts)
		r.logFailure(job.ID, attempt, err, done)
		w.report(JobResult{ID: job.ID, Err: err, Attempts: attempt, Done: done})
		if done {
			return
		}
		if !r.wait(ctx, job.ID) {
			return
		}
	}
}

// begin records in the journal that job id is about to be tried, unless it
// was (the last printed mark carried it, or an earlier attempt). Nothing of
// the job may be sent before this returns nil.
func (r *run) begin(ctx context.Context, id string) error {
	j := r.w.opts.Journal
	if j == nil || r.begun == id {
		return nil
	}
	if err := j.Record(ctx, nil, id); err != nil {
		return &JournalError{Err: err}
	}
	r.begun = id
	return nil
}

// leftPort records in the journal that job id left the port: its last
// write returned and, on a port that can tell, Drain did too, so the bytes
// are beyond the reach of this process. A job already queued is taken now
// and its start goes in the same record (group commit); the mark is written
// even while the worker stops, since the receipt is out.
func (r *run) leftPort(ctx context.Context, id string) {
	j := r.w.opts.Journal
	if j == nil {
		return
	}
	next := ""
	if ctx.Err() == nil {
		select {
		case job := <-r.w.jobs:
			r.next, next = &job, job.ID
			r.w.mu.Lock()
			r.w.peeked = 1
			r.w.mu.Unlock()
		default:
		}
	}
	ctx = context.WithoutCancel(ctx)
	err := j.Record(ctx, []string{id}, next)
	if err == nil {
		if next != "" {
			r.begun = next
		}
		return
	}
	if next != "" {
		// The next job's start may be what failed: the mark goes alone, and
		// the next job asks for its start again.
		err = j.Record(ctx, []string{id}, "")
	}
	if err != nil {
		r.w.log.Warn("journal: printed mark not recorded", "job", id, "error", err)
	}
}

// takeNext returns the job leftPort took from the queue, if any.
func (r *run) takeNext() (Job, bool) {
	if r.next == nil {
		return Job{}, false
	}
	job := *r.next
	r.next = nil
	r.w.mu.Lock()
	r.w.peeked = 0
	r.w.mu.Unlock()
	return job, true
}

// logFailure logs at most one warning a minute per run of failures, so a
// printer out of paper for an hour does not flood the log.
func (r *run) logFailure(id string, attempt int, err error, done bool) {
	now := time.Now()
	if !done && r.failures > 1 && now.Sub(r.lastLogAt) < time.Minute {
		return
	}
	r.lastLogAt = now
	r.w.log.Warn("print attempt failed", "job", id, "attempt", attempt, "final", done,
		"consecutive_errors", r.failures, "error", err)
}

// wait sleeps the backoff delay, answering status queries meanwhile. It
// returns false when ctx ends.
func (r *run) wait(ctx context.Context, id string) bool {
	timer := r.backoff.After()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-timer:
			return true
		case <-r.w.cancel:
			r.w.mu.Lock()
			c := r.w.cancelled[id]
			r.w.mu.Unlock()
			if c {
				return true // the loop reports the cancellation
			}
		case q := <-r.w.queries:
			r.answer(ctx, q)
		}
	}
}

// jobTail is a job's Job.Tail, computed once on a goroutine that start
// launches and finish waits for; the Run goroutine alone uses it.
type jobTail struct {
	f    func() ([]byte, error) // nil: no tail
	done chan struct{}          // closed when b and err are set; nil until start
	b    []byte
	err  error
}

// start launches the tail unless it is running or done.
func (t *jobTail) start() {
	if t.f == nil || t.done != nil {
		return
	}
	t.done = make(chan struct{})
	go func() {
		defer close(t.done)
		defer func() {
			// A panicking encoder must fail one job, not the whole service.
			if p := recover(); p != nil {
				t.b, t.err = nil, fmt.Errorf("panic: %v", p)
			}
		}()
		t.b, t.err = t.f()
	}()
}

// result waits for the tail, or for ctx to end.
func (t *jobTail) result(ctx context.Context) ([]byte, error) {
	t.start()
	select {
	case <-t.done:
		if t.err != nil {
			return nil, &TailError{Err: t.err}
		}
		return t.b, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// finish waits for a tail that an attempt started.
func (t *jobTail) finish() {
	if t.done != nil {
		<-t.done
	}
}

// attempt prints job once over the current (or a new) connection: Data, then
// the tail's bytes once they are ready.
func (r *run) attempt(ctx context.Context, job Job, tail *jobTail) (err error) {
	defer func() {
		if err != nil {
			r.dropIfBroken()
		}
	}()
	if err := r.connect(ctx); err != nil {
		r.noteErr(err)
		return err
	}
	l := r.l
	if r.desync {
		if err := l.resync(ctx); err != nil {
			r.noteErr(err)
			return err
		}
		r.desync = false
	}
	if !r.w.opts.NoStatus {
		st, err := l.queryStatus(ctx)
		r.noteStatus(st, err)
		if err != nil {
			return err
		}
		if !st.Ready() {
			return &StatusError{Status: st}
		}
	}
	// The tail starts once the first chunk is out: its work (QR encodes)
	// must not compete with the first byte for the CPU, and the rest of
	// Data, many chunk times on a serial line, covers it.
	send := func(b []byte) error {
		if err := l.write(ctx, b); err != nil {
			// Part of the job may have arrived; the printer may be mid-command.
			r.desync = true
			r.noteErr(err)
			return err
		}
		return nil
	}
	first := min(len(job.Data), r.w.opts.ChunkSize)
	if err := send(job.Data[:first]); err != nil {
		return err
	}
	tail.start()
	if err := send(job.Data[first:]); err != nil {
		return err
	}
	sent := len(job.Data)
	if job.Tail != nil {
		// Data ends at a command boundary: a tail that fails (or a stop
		// while it is computed) leaves the printer in sync.
		b, err := tail.result(ctx)
		if err != nil {
			return err
		}
		if err := send(b); err != nil {
			return err
		}
		sent += len(b)
	}
	if r.w.opts.Confirm {
		if err := l.confirm(ctx, sent); err != nil {
			if errors.Is(err, ErrTimeout) {
				r.desync = true
			}
			r.noteStatus(l.Status(), err)
			return err
		}
	}
	r.noteStatus(l.Status(), nil)
	return nil
}

// QueryStatus asks the printer on p for its status once: it flushes the
// input, sends DLE EOT 1, 2 and 4 (and 3 on error) and waits for the replies.
// It is meant for `posagent printer status`, when no worker runs; p is not
// closed. A nil opts means defaults.
func QueryStatus(ctx context.Context, p Port, opts *Options) (escpos.Status, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return escpos.Status{}, err
	}
	o.Handshake = HandshakeNone // no modem lines are needed to ask
	l, err := newLink(p, &o, false)
	if err != nil {
		return escpos.Status{}, err
	}
	defer l.close()
	return l.queryStatus(ctx)
}
