package outbox_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/posagent/posagent/outbox"
)

func TestHash(t *testing.T) {
	h := outbox.HashOf(nil)
	if got, want := h.Base64(), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="; got != want {
		t.Errorf("HashOf(nil).Base64() = %s, want %s", got, want)
	}
	if got, want := h.String(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"; got != want {
		t.Errorf("HashOf(nil).String() = %s, want %s", got, want)
	}
	if h.IsZero() || !(outbox.Hash{}).IsZero() {
		t.Errorf("IsZero wrong")
	}
}

func TestStateMachineTables(t *testing.T) {
	upload := []outbox.UploadState{outbox.UploadQueued, outbox.UploadSending, outbox.UploadAccepted, outbox.UploadRejected, outbox.UploadBlocked}
	allowed := map[[2]outbox.UploadState]bool{
		{outbox.UploadQueued, outbox.UploadSending}:   true,
		{outbox.UploadSending, outbox.UploadAccepted}: true,
		{outbox.UploadSending, outbox.UploadRejected}: true,
		{outbox.UploadSending, outbox.UploadQueued}:   true,
	}
	for _, from := range upload {
		for _, to := range upload {
			if got, want := from.CanMove(to), allowed[[2]outbox.UploadState{from, to}]; got != want {
				t.Errorf("%s.CanMove(%s) = %v, want %v", from, to, got, want)
			}
		}
	}
	prints := []outbox.PrintState{outbox.PrintNone, outbox.PrintPending, outbox.PrintPrinted, outbox.PrintFailed}
	pAllowed := map[[2]outbox.PrintState]bool{
		{outbox.PrintPending, outbox.PrintPrinted}: true,
		{outbox.PrintPending, outbox.PrintFailed}:  true,
		{outbox.PrintFailed, outbox.PrintPending}:  true,
	}
	for _, from := range prints {
		for _, to := range prints {
			if got, want := from.CanMove(to), pAllowed[[2]outbox.PrintState{from, to}]; got != want {
				t.Errorf("%s.CanMove(%s) = %v, want %v", from, to, got, want)
			}
		}
	}
}

// FuzzHashText checks the hash text parser: no panics, and what parses marshals
// back to the same (lower-case) hex.
func FuzzHashText(f *testing.F) {
	f.Add([]byte("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"))
	f.Add([]byte("E3B0"))
	f.Add([]byte(strings.Repeat("zz", 32)))
	f.Fuzz(func(t *testing.T, in []byte) {
		var h outbox.Hash
		if err := h.UnmarshalText(in); err != nil {
			return
		}
		out, _ := h.MarshalText()
		if !bytes.Equal(out, bytes.ToLower(in)) {
			t.Fatalf("round trip %q -> %q", in, out)
		}
	})
}
