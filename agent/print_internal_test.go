package agent

import (
	"slices"
	"testing"
)

func TestReleaseWaiting(t *testing.T) {
	a := &Agent{
		kickPrint: make(chan struct{}, 1),
		waiting:   map[string]string{"job-1": "inv-a", "job-2": "inv-b", "job-3": "inv-a"},
	}
	a.releaseWaiting("inv-c")
	if len(a.ready) != 0 || len(a.kickPrint) != 0 {
		t.Fatalf("release of an invoice without held jobs: ready %v, kicked %v", a.ready, len(a.kickPrint) == 1)
	}
	a.releaseWaiting("inv-a")
	slices.Sort(a.ready)
	if want := []string{"job-1", "job-3"}; !slices.Equal(a.ready, want) {
		t.Errorf("ready = %v, want %v", a.ready, want)
	}
	if len(a.kickPrint) != 1 {
		t.Error("the print dispatcher was not woken")
	}
	if want := map[string]string{"job-2": "inv-b"}; len(a.waiting) != 1 || a.waiting["job-2"] != want["job-2"] {
		t.Errorf("waiting = %v, want %v", a.waiting, want)
	}
}
