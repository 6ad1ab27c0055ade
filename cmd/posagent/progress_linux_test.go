package main

import (
	"bytes"
	"io"
	"testing"

	"github.com/creack/pty"
)

// TestProgressTerminal: a person at a terminal sees one line rewritten in
// place, ended once the count is complete.
func TestProgressTerminal(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("open a pty: %v", err)
	}
	defer ptmx.Close()
	p := newProgress(tty, "export", 2)
	p.step(1)
	p.step(2)
	tty.Close()
	out, _ := io.ReadAll(ptmx) // ends with EIO once the tty side is closed
	// The terminal's output processing turns "\n" into "\r\n".
	if want := []byte("\rexport 1/2\rexport 2/2\r\n"); !bytes.Equal(out, want) {
		t.Errorf("terminal got %q, want %q", out, want)
	}
}
