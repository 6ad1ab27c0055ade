package printer_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/posagent/posagent/printer"
)

// journalCall is one Journal.Record call and how many bytes the printer had
// received when it was made.
type journalCall struct {
	printed []string
	started string
	written int64
}

func (c journalCall) String() string {
	return fmt.Sprintf("{printed %v started %q at byte %d}", c.printed, c.started, c.written)
}

// fakeJournal records calls and fails those that fail says to.
type fakeJournal struct {
	v    *printer.Virtual
	fail func(printed []string, started string) error

	mu    sync.Mutex
	calls []journalCall
}

func (j *fakeJournal) Record(_ context.Context, printed []string, started string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.calls = append(j.calls, journalCall{slices.Clone(printed), started, j.v.Written()})
	if j.fail != nil {
		return j.fail(printed, started)
	}
	return nil
}

func (j *fakeJournal) Calls() []journalCall {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.calls)
}

// queuedWorker submits jobs of the given sizes before the worker runs, so
// they are all queued when the first one starts, and returns each job's
// results up to its final one.
func queuedWorker(t *testing.T, j *fakeJournal, sizes ...int) map[string][]printer.JobResult {
	t.Helper()
	results := make(chan printer.JobResult, 64)
	w, err := printer.NewWorker(j.v.Open, &printer.Options{NoStatus: true, Journal: j,
		Backoff:  printer.Backoff{Clock: &instantClock{}},
		OnResult: func(r printer.JobResult) { results <- r }}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range sizes {
		submit(t, w, fmt.Sprintf("j%d", i+1), jobBytes(n))
	}
	if st := w.State(); st.Queued != len(sizes) {
		t.Errorf("State().Queued = %d, want %d", st.Queued, len(sizes))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(ctx) }()
	defer func() { cancel(); <-done }()
	all := map[string][]printer.JobResult{}
	timeout := time.After(30 * time.Second)
	for final := 0; final < len(sizes); {
		select {
		case r := <-results:
			all[r.ID] = append(all[r.ID], r)
			if r.Done {
				final++
			}
		case <-timeout:
			t.Fatalf("results %v of %d jobs", all, len(sizes))
		}
	}
	return all
}

// TestJournalMarks checks the order that makes a crash safe: a job's start
// is recorded before its first byte, its printed mark as soon as its last
// byte is out, together with the next job's start when one is queued.
func TestJournalMarks(t *testing.T) {
	j := &fakeJournal{v: printer.NewVirtual(nil)}
	for id, rs := range queuedWorker(t, j, 100, 200, 50) {
		if len(rs) != 1 || rs[0].Err != nil {
			t.Errorf("%s: %+v, want printed at once", id, rs)
		}
	}
	want := []journalCall{
		{nil, "j1", 0},
		{[]string{"j1"}, "j2", 100},
		{[]string{"j2"}, "j3", 300},
		{[]string{"j3"}, "", 350},
	}
	if got := j.Calls(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("journal calls\n got %v\nwant %v", got, want)
	}
}

// TestJournalStartFails: nothing of a job goes out before its start is
// recorded; the refusal is a retryable *JournalError and the next attempt
// prints it.
func TestJournalStartFails(t *testing.T) {
	failed := false
	j := &fakeJournal{v: printer.NewVirtual(nil)}
	j.fail = func(printed []string, started string) error {
		if started == "j1" && !failed {
			failed = true
			return errors.New("store busy")
		}
		return nil
	}
	got := queuedWorker(t, j, 80)["j1"]
	if len(got) != 2 || !errors.Is(got[0].Err, printer.ErrJournal) || !printer.Retryable(got[0].Err) || got[1].Err != nil {
		t.Fatalf("results %+v, want a retryable journal error, then printed", got)
	}
	want := []journalCall{{nil, "j1", 0}, {nil, "j1", 0}, {[]string{"j1"}, "", 80}}
	if calls := j.Calls(); fmt.Sprint(calls) != fmt.Sprint(want) {
		t.Errorf("journal calls\n got %v\nwant %v", calls, want)
	}
}

// TestJournalGroupFails: when the grouped record fails, the printed mark is
// written alone and the next job records its own start before its bytes.
func TestJournalGroupFails(t *testing.T) {
	j := &fakeJournal{v: printer.NewVirtual(nil)}
	j.fail = func(printed []string, started string) error {
		if len(printed) > 0 && started != "" {
			return errors.New("job j2 is in an illegal state")
		}
		return nil
	}
	res := queuedWorker(t, j, 10, 20)
	if len(res["j1"]) != 1 || res["j1"][0].Err != nil || len(res["j2"]) != 1 || res["j2"][0].Err != nil {
		t.Fatalf("results %+v, want both printed at once", res)
	}
	want := []journalCall{
		{nil, "j1", 0},
		{[]string{"j1"}, "j2", 10},
		{[]string{"j1"}, "", 10},
		{nil, "j2", 10},
		{[]string{"j2"}, "", 30},
	}
	if got := j.Calls(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("journal calls\n got %v\nwant %v", got, want)
	}
}
