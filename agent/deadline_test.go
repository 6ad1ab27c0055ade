package agent_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/ksef/ksefapi"
	"github.com/posagent/posagent/outbox"
)

// TestDeadlinesPersisted: an announced failure extends running deadlines in
// the store itself, again on each day it lasts, so the store's order and
// overdue list, Status and the views agree.
func TestDeadlinesPersisted(t *testing.T) {
	u := newUnit(t, nil)
	ctx := context.Background()
	u.api.AuthenticateFunc = func(context.Context) (*ksefapi.Tokens, error) {
		return nil, &ksefapi.APIError{Op: "auth", Status: 503} // nothing leaves the store
	}
	issue := func(key string) string {
		t.Helper()
		v, err := u.agent.Issue(ctx, agent.IssueRequest{Key: key, Sale: consumerSale()})
		if err != nil {
			t.Fatal(err)
		}
		return v.ID
	}
	stored := func(id string) string {
		t.Helper()
		inv, err := u.store.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return ksef.DateOf(inv.Deadline).String()
	}
	a := issue("a") // Friday, offline24: Monday 2026-11-23
	if err := u.agent.Announce(ctx, agent.Announcement{Mode: "offline", Reference: "BIP MF: niedostępność KSeF"}); err != nil {
		t.Fatal(err)
	}
	b := issue("b") // offline, the unavailability provisionally ends today: Monday
	if got := []string{stored(a), stored(b)}; got[0] != "2026-11-23" || got[1] != "2026-11-23" {
		t.Fatalf("Friday deadlines %v, want both 2026-11-23", got)
	}

	u.clock.Add(3 * 24 * time.Hour) // Monday: a failure is announced on the deadline day
	if err := u.agent.Announce(ctx, agent.Announcement{Mode: "emergency", Reference: "BIP MF: awaria KSeF"}); err != nil {
		t.Fatal(err)
	}
	c := issue("c")
	// 7 business days after Monday 2026-11-23 (the failure provisionally ends today).
	for _, id := range []string{a, b, c} {
		if got := stored(id); got != "2026-12-02" {
			t.Errorf("Monday: stored deadline of %s = %s, want 2026-12-02", id, got)
		}
	}
	inv, _ := u.store.Get(ctx, a)
	if last := inv.Events[len(inv.Events)-1].What; !strings.Contains(last, "deadline extended") || !strings.Contains(last, "emergency announced 2026-11-23, still running") {
		t.Errorf("last event of %s = %q, want the extension and its cause", a, last)
	}

	// Tuesday: the failure goes on; the deadline monitor moves them a day on.
	u.clock.Add(24 * time.Hour)
	u.run(t)
	waitFor(t, "deadlines moved to 2026-12-03", 20*time.Second, func() bool {
		return stored(a) == "2026-12-03" && stored(b) == "2026-12-03" && stored(c) == "2026-12-03"
	})
	if err := u.agent.SetMode(ctx, agent.OverrideAuto); err != nil { // the failure ends today
		t.Fatal(err)
	}

	u.clock.Add(8 * 24 * time.Hour) // Wednesday 2026-12-02, past the first provisional deadline
	pend, err := u.store.PendingUploads(ctx, 10)
	if err != nil || len(pend) != 3 {
		t.Fatalf("PendingUploads = %d, %v", len(pend), err)
	}
	st, err := u.agent.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Overdue) != 0 || ksef.DateOf(st.EarliestDeadline).String() != "2026-12-03" {
		t.Errorf("Status overdue %+v earliest %v, want none and 2026-12-03", st.Overdue, st.EarliestDeadline)
	}
	for _, id := range []string{a, b, c} {
		v, err := u.agent.Invoice(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if v.Deadline != "2026-12-03" || v.Overdue || v.DeadlineAt != storedAt(t, u.store, id) {
			t.Errorf("view of %s: deadline %s at %v overdue %v, want the stored 2026-12-03", id, v.Deadline, v.DeadlineAt, v.Overdue)
		}
	}
	u.clock.Add(2 * 24 * time.Hour) // Friday 2026-12-04: now they are late, and still queued
	st, err = u.agent.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Overdue) != 3 {
		t.Errorf("Friday after: %d overdue, want 3", len(st.Overdue))
	}
}

func storedAt(t *testing.T, s *outbox.Store, id string) time.Time {
	t.Helper()
	inv, err := s.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return inv.Deadline
}
