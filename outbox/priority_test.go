package outbox_test

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/posagent/posagent/outbox"
	"github.com/posagent/posagent/outbox/outboxtest"
)

// dueOrder lists the numbers DueUploads and ListDue give at now, checking
// that both agree.
func dueOrder(t *testing.T, s *outbox.Store, now time.Time) []string {
	t.Helper()
	list, err := s.DueUploads(ctx, now, 100)
	if err != nil {
		t.Fatal(err)
	}
	due, err := s.ListDue(ctx, now, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got, gotDue []string
	for _, inv := range list {
		got = append(got, inv.SaleID)
	}
	for _, d := range due {
		inv, err := s.Get(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		gotDue = append(gotDue, inv.SaleID)
	}
	if !slices.Equal(got, gotDue) {
		t.Fatalf("DueUploads order %v, ListDue order %v", got, gotDue)
	}
	return got
}

// issueDue issues sale with an upload deadline at dl, and prio set on Built.
func issueDue(t *testing.T, s *outbox.Store, sale string, dl time.Time, prio bool) *outbox.Invoice {
	t.Helper()
	req := outboxtest.Request(sale, t0)
	build := outboxtest.Build(64, dl)
	req.Build = func(n string) (*outbox.Built, error) {
		b, err := build(n)
		b.Priority = prio
		return b, err
	}
	return mustIssue(t, s, req)
}

func TestPrioritize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	s, err := outbox.Open(path, &outbox.Options{Now: clock(t0)})
	if err != nil {
		t.Fatal(err)
	}
	day := 24 * time.Hour
	issueDue(t, s, "a", t0.Add(1*day), false)
	b := issueDue(t, s, "b", t0.Add(2*day), false)
	c := issueDue(t, s, "c", t0.Add(3*day), false)
	issueDue(t, s, "d", t0.Add(4*day), true) // prioritized in the issue transaction
	if got, want := dueOrder(t, s, t0), []string{"d", "a", "b", "c"}; !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v (Built.Priority first, then the deadlines)", got, want)
	}
	for _, id := range []string{c.ID, b.ID, c.ID} { // c twice keeps its first place
		if err := s.Prioritize(ctx, id); err != nil {
			t.Fatalf("Prioritize(%s) = %v", id, err)
		}
	}
	want := []string{"d", "c", "b", "a"}
	if got := dueOrder(t, s, t0); !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v (in the order prioritized)", got, want)
	}
	if inv, _ := s.Get(ctx, c.ID); inv.Events[len(inv.Events)-1].What != "upload prioritized" {
		t.Errorf("last event of c %q, want the prioritization", inv.Events[len(inv.Events)-1].What)
	}

	// Durable: the order survives a restart.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = outbox.Open(path, &outbox.Options{Now: clock(t0)}); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
		outboxtest.MustCheck(t, path, nil)
	}()
	if got := dueOrder(t, s, t0); !slices.Equal(got, want) {
		t.Fatalf("after a restart, order %v, want %v", got, want)
	}

	// A retry keeps the place, and its Retry-After still holds.
	if err := s.MarkSending(ctx, c.ID, "SES"); err != nil {
		t.Fatal(err)
	}
	if err := s.Retry(ctx, c.ID, t0.Add(time.Hour), "429"); err != nil {
		t.Fatal(err)
	}
	if got := dueOrder(t, s, t0); !slices.Equal(got, []string{"d", "b", "a"}) {
		t.Errorf("before the Retry-After, order %v, want c left out", got)
	}
	if got := dueOrder(t, s, t0.Add(2*time.Hour)); !slices.Equal(got, want) {
		t.Errorf("after the Retry-After, order %v, want %v", got, want)
	}

	// Acceptance drops the mark; prioritizing an accepted record does nothing.
	if err := s.MarkSending(ctx, c.ID, "SES"); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkAccepted(ctx, c.ID, outbox.Acceptance{KSeFNumber: "K"}); err != nil {
		t.Fatal(err)
	}
	before, _ := s.Get(ctx, c.ID)
	if err := s.Prioritize(ctx, c.ID); err != nil {
		t.Errorf("Prioritize(accepted) = %v, want nil", err)
	}
	if after, _ := s.Get(ctx, c.ID); len(after.Events) != len(before.Events) {
		t.Error("Prioritize of an accepted invoice changed it")
	}
	if got := dueOrder(t, s, t0); !slices.Equal(got, []string{"d", "b", "a"}) {
		t.Errorf("order %v after c's acceptance", got)
	}
}

func TestPrioritizeRefused(t *testing.T) {
	s := outboxtest.MustOpen(t, nil)
	rej := inState(t, s, "rejected", outbox.UploadRejected)
	err := s.Prioritize(ctx, rej.ID)
	var te *outbox.TransitionError
	if !errors.Is(err, outbox.ErrIllegalTransition) || !errors.As(err, &te) {
		t.Errorf("Prioritize(rejected) = %v, want a TransitionError", err)
	}
	if err := s.Prioritize(ctx, "0000009999"); !errors.Is(err, outbox.ErrNotFound) {
		t.Errorf("Prioritize(unknown) = %v, want ErrNotFound", err)
	}
	if err := s.Prioritize(ctx, "x"); !errors.Is(err, outbox.ErrInvalidID) {
		t.Errorf("Prioritize(bad id) = %v, want ErrInvalidID", err)
	}
	// A blocked correction keeps its mark until it is released.
	kor := inState(t, s, "blocked", outbox.UploadBlocked)
	if err := s.Prioritize(ctx, kor.ID); err != nil {
		t.Errorf("Prioritize(blocked) = %v", err)
	}
}
