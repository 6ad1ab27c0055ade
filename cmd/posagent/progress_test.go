package main

import (
	"bytes"
	"testing"
)

// TestProgressNotATerminal: a log or a pipe gets whole lines; "\r" would run
// them together ("accepted 2/5demo: drain: accepted 5/5").
func TestProgressNotATerminal(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf, "demo: drain: accepted", 5)
	p.step(0) // nothing yet
	p.step(2)
	p.step(2) // unchanged
	p.step(5)
	if got, want := buf.String(), "demo: drain: accepted 2/5\ndemo: drain: accepted 5/5\n"; got != want {
		t.Errorf("progress wrote %q, want %q", got, want)
	}
}
