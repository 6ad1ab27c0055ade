package logx_test

import (
	"strings"
	"testing"

	"github.com/posagent/posagent/internal/logx"
)

// FuzzScrub checks that scrubbing is idempotent — nothing it would still
// replace is left behind — and that a known credential never survives.
func FuzzScrub(f *testing.F) {
	f.Add("plain text", "abc")
	f.Add("Authorization: Bearer ", "Zm9vYmFyYmF6cXV4")
	f.Add("cert "+pem+" tail", "x")
	f.Add("jwt "+jwt, "y")
	f.Fuzz(func(t *testing.T, s, tok string) {
		out := logx.Scrub(s)
		if again := logx.Scrub(out); again != out {
			t.Fatalf("Scrub not idempotent: %q → %q → %q", s, out, again)
		}
		// A bearer credential is always removed.
		if tok != "" && strings.Trim(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") == "" {
			line := s + " Bearer " + tok
			if got := logx.Scrub(line); strings.Contains(got, "Bearer "+tok) {
				t.Fatalf("Scrub(%q) = %q keeps the credential", line, got)
			}
		}
	})
}
