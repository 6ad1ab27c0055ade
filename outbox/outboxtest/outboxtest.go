package outboxtest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/outbox"
)

// MustOpen opens a store in a fresh temporary directory. When the test ends it
// closes the store (if the test has not), reopens the file, which proves it
// survives a restart, and fails the test if Check finds a broken invariant.
func MustOpen(tb testing.TB, opts *outbox.Options) *outbox.Store {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "outbox.db")
	s, err := outbox.Open(path, opts)
	if err != nil {
		tb.Fatalf("outbox.Open(%s) = %v", path, err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close() = %v", err)
		}
		MustCheck(tb, path, opts)
	})
	return s
}

// MustCheck opens the store at path, runs Check and closes it, failing tb on any error.
func MustCheck(tb testing.TB, path string, opts *outbox.Options) {
	tb.Helper()
	s, err := outbox.Open(path, opts)
	if err != nil {
		tb.Errorf("reopen %s: %v", path, err)
		return
	}
	defer s.Close()
	if err := s.Check(context.Background()); err != nil {
		tb.Errorf("outbox invariants broken:\n%v", err)
	}
}

// Series is a monthly series used by tests: "T1/2026/11/000001".
var Series = outbox.Series{Terminal: "T1", Format: "{terminal}/{yyyy}/{mm}/{seq:06}", Reset: outbox.ResetMonthly}

// Build returns a build callback whose XML carries the number and pad bytes of
// padding, offline24 with the given deadline.
func Build(pad int, deadline time.Time) outbox.BuildFunc {
	return func(number string) (*outbox.Built, error) {
		xml := fmt.Sprintf("<Faktura><P_2>%s</P_2><Pad>%s</Pad></Faktura>", number, strings.Repeat("x", pad))
		return &outbox.Built{
			XML: []byte(xml), KOD1: "https://qr-test.ksef.mf.gov.pl/invoice/" + number, KOD2: "https://qr-test.ksef.mf.gov.pl/certificate/" + number,
			Mode: "offline24", Deadline: deadline, BuyerClass: "consumer", P1: "2026-11-20", Kind: "VAT",
			Gross: 12300, VAT: 2300, Doc: []byte(`{"number":"` + number + `"}`),
		}, nil
	}
}

// Request returns an issue request for sale with a fingerprint derived from it.
func Request(sale string, now time.Time) outbox.IssueRequest {
	return outbox.IssueRequest{
		SaleID: sale, Fingerprint: sha256.Sum256([]byte("body:" + sale)), Series: Series, Now: now,
		Build: Build(64, now.Add(48*time.Hour)),
	}
}
