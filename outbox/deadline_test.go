package outbox_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/outbox"
	"github.com/posagent/posagent/outbox/outboxtest"
)

func TestExtendDeadline(t *testing.T) {
	s := outboxtest.MustOpen(t, nil)
	later := t0.Add(7 * 24 * time.Hour)
	tests := []struct {
		name     string
		state    outbox.UploadState
		deadline func(stored time.Time) time.Time
		reason   string
		wantErr  error // nil: extended
		wantType any   // *outbox.RequestError or *outbox.TransitionError
	}{
		{"queued later", outbox.UploadQueued, func(time.Time) time.Time { return later }, "failure announced", nil, nil},
		{"sending later", outbox.UploadSending, func(time.Time) time.Time { return later }, "failure announced", nil, nil},
		{"rejected later", outbox.UploadRejected, func(time.Time) time.Time { return later }, "failure announced", nil, nil},
		{"blocked later", outbox.UploadBlocked, func(time.Time) time.Time { return later }, "failure announced", nil, nil},
		{"accepted", outbox.UploadAccepted, func(time.Time) time.Time { return later }, "failure announced", outbox.ErrIllegalTransition, new(*outbox.TransitionError)},
		{"earlier", outbox.UploadQueued, func(d time.Time) time.Time { return d.Add(-time.Second) }, "oops", outbox.ErrInvalidRequest, new(*outbox.RequestError)},
		{"zero", outbox.UploadQueued, func(time.Time) time.Time { return time.Time{} }, "oops", outbox.ErrInvalidRequest, new(*outbox.RequestError)},
		{"no reason", outbox.UploadQueued, func(time.Time) time.Time { return later }, "", outbox.ErrInvalidRequest, new(*outbox.RequestError)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := inState(t, s, "dl-"+tt.name, tt.state)
			err := s.ExtendDeadline(ctx, inv.ID, tt.deadline(inv.Deadline), tt.reason)
			after, gerr := s.Get(ctx, inv.ID)
			if gerr != nil {
				t.Fatal(gerr)
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !errors.As(err, tt.wantType) {
					t.Fatalf("ExtendDeadline = %v, want %v as %T", err, tt.wantErr, tt.wantType)
				}
				if !reflect.DeepEqual(after, inv) {
					t.Errorf("a refused extension changed the record:\n got %+v\nwant %+v", after, inv)
				}
				return
			}
			if err != nil {
				t.Fatalf("ExtendDeadline = %v", err)
			}
			if !after.Deadline.Equal(later) {
				t.Errorf("deadline %v, want %v", after.Deadline, later)
			}
			if last := after.Events[len(after.Events)-1]; !strings.Contains(last.What, "deadline extended") || !strings.Contains(last.What, tt.reason) {
				t.Errorf("last event %q, want the extension and its reason", last.What)
			}
			// The same deadline again changes nothing and logs nothing.
			if err := s.ExtendDeadline(ctx, inv.ID, later, tt.reason); err != nil {
				t.Fatal(err)
			}
			if again, _ := s.Get(ctx, inv.ID); len(again.Events) != len(after.Events) {
				t.Errorf("repeated extension logged %d events, want %d", len(again.Events), len(after.Events))
			}
		})
	}
	if err := s.ExtendDeadline(ctx, "0000009999", later, "x"); !errors.Is(err, outbox.ErrNotFound) {
		t.Errorf("unknown id: %v, want ErrNotFound", err)
	}
	if err := s.ExtendDeadline(ctx, "x", later, "x"); !errors.Is(err, outbox.ErrInvalidID) {
		t.Errorf("bad id: %v, want ErrInvalidID", err)
	}
}

// TestExtendDeadlineNoDeadline: an invoice without an upload obligation (total
// failure) cannot be given one by an "extension".
func TestExtendDeadlineNoDeadline(t *testing.T) {
	s := outboxtest.MustOpen(t, nil)
	req := outboxtest.Request("none", t0)
	req.Build = outboxtest.Build(8, time.Time{})
	inv := mustIssue(t, s, req)
	if err := s.ExtendDeadline(ctx, inv.ID, t0.Add(time.Hour), "x"); !errors.Is(err, outbox.ErrInvalidRequest) {
		t.Errorf("ExtendDeadline on a record without deadline = %v, want ErrInvalidRequest", err)
	}
}

// TestExtendDeadlinesOrder: a bulk extension moves what it may in one
// transaction and the store's deadline order (PendingUploads, Stats) follows.
func TestExtendDeadlinesOrder(t *testing.T) {
	s := outboxtest.MustOpen(t, nil)
	a := inState(t, s, "a", outbox.UploadQueued) // deadline t0+48h
	b := inState(t, s, "b", outbox.UploadQueued)
	acc := inState(t, s, "acc", outbox.UploadAccepted)
	now := t0.Add(72 * time.Hour) // past the stored deadlines
	st, err := s.Stats(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Overdue) != 2 {
		t.Fatalf("overdue before = %d, want 2", len(st.Overdue))
	}
	ext := []outbox.DeadlineExtension{
		{ID: a.ID, Deadline: t0.Add(10 * 24 * time.Hour)},
		{ID: b.ID, Deadline: t0.Add(24 * time.Hour)}, // earlier: skipped
		{ID: acc.ID, Deadline: t0.Add(10 * 24 * time.Hour)},
	}
	n, err := s.ExtendDeadlines(ctx, ext, "failure announced")
	if err != nil || n != 1 {
		t.Fatalf("ExtendDeadlines = %d, %v; want 1, nil", n, err)
	}
	pend, err := s.PendingUploads(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := []string{pend[0].ID, pend[1].ID}, []string{b.ID, a.ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("PendingUploads order %v, want %v (earliest deadline first)", got, want)
	}
	due, err := s.ListDue(ctx, now, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := []string{due[0].ID, due[1].ID}, []string{b.ID, a.ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("ListDue order %v, want %v (as PendingUploads)", got, want)
	}
	st, err = s.Stats(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Overdue) != 1 || st.Overdue[0].ID != b.ID || !st.EarliestDeadline.Equal(b.Deadline) {
		t.Errorf("Stats overdue %+v earliest %v, want only %s", st.Overdue, st.EarliestDeadline, b.ID)
	}
	// A bad request or unknown id changes nothing.
	for _, bad := range [][]outbox.DeadlineExtension{
		{{ID: b.ID, Deadline: t0.Add(20 * 24 * time.Hour)}, {ID: "0000009999", Deadline: t0.Add(20 * 24 * time.Hour)}},
		{{ID: b.ID, Deadline: t0.Add(20 * 24 * time.Hour)}, {ID: a.ID}},
	} {
		if _, err := s.ExtendDeadlines(ctx, bad, "x"); err == nil {
			t.Errorf("ExtendDeadlines(%+v) = nil, want an error", bad)
		}
	}
	if got, _ := s.Get(ctx, b.ID); !got.Deadline.Equal(b.Deadline) {
		t.Errorf("a failed bulk extension moved %s to %v", b.ID, got.Deadline)
	}
}

// TestCountDue counts by the index what the status page shows as due today:
// invoices still to upload whose deadline falls in the window.
func TestCountDue(t *testing.T) {
	s := outboxtest.MustOpen(t, nil)
	day := t0.Truncate(24 * time.Hour).Add(24 * time.Hour)
	issue := func(sale string, deadline time.Time, st outbox.UploadState) {
		t.Helper()
		req := outboxtest.Request(sale, t0)
		req.Build = outboxtest.Build(8, deadline)
		inv := mustIssue(t, s, req)
		if st == outbox.UploadSending {
			if err := s.MarkSending(ctx, inv.ID, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	issue("start", day, outbox.UploadQueued)                                  // first instant: in
	issue("end", day.Add(24*time.Hour-time.Nanosecond), outbox.UploadSending) // last instant: in
	issue("next", day.Add(24*time.Hour), outbox.UploadQueued)                 // next day: out
	issue("before", day.Add(-time.Nanosecond), outbox.UploadQueued)           // day before: out
	accepted := inState(t, s, "accepted", outbox.UploadAccepted)              // deadline t0+48h, accepted: out
	tests := []struct {
		name     string
		from, to time.Time
		want     int
	}{
		{"the day", day, day.Add(24 * time.Hour), 2},
		{"two days", day.Add(-24 * time.Hour), day.Add(48 * time.Hour), 4},
		{"empty window", day, day, 0},
		{"the accepted one's deadline", accepted.Deadline, accepted.Deadline.Add(time.Nanosecond), 0},
	}
	for _, tt := range tests {
		if got, err := s.CountDue(ctx, tt.from, tt.to); err != nil || got != tt.want {
			t.Errorf("%s: CountDue = %d, %v; want %d", tt.name, got, err, tt.want)
		}
	}
}
