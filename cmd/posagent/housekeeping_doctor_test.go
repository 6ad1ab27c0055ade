package main

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/outbox"
	"github.com/posagent/posagent/outbox/outboxtest"
)

// TestDoctorStoreAgreesWithIssue fills a real store until Issue refuses a
// sale and expects doctor to call it full; once the queue is accepted and
// Issue stores sales again, doctor must not; while another Store holds the
// file doctor falls back to its size and says so.
func TestDoctorStoreAgreesWithIssue(t *testing.T) {
	tm := healthyDoctor(t, func(c *testConfig) { c.capMB = 16 })
	path := filepath.Join(tm.root, "var", "lib", "posagent", storeFile)
	opts := &outbox.Options{MaxSize: 16 << 20}
	s, err := outbox.Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewChaCha8([32]byte{3}))
	issue := func(sale string) (*outbox.Invoice, error) {
		req := outboxtest.Request(sale, at)
		req.Build = func(number string) (*outbox.Built, error) {
			xml := make([]byte, 32<<10) // incompressible, so the store fills at a known pace
			for i := range xml {
				xml[i] = byte(rng.Uint32())
			}
			return &outbox.Built{XML: xml, Mode: "offline24", Kind: "VAT", P1: "2026-11-20"}, nil
		}
		inv, _, err := s.Issue(t.Context(), req)
		return inv, err
	}
	var ids []string
	for i := 0; ; i++ {
		inv, err := issue(fmt.Sprintf("s%d", i))
		if errors.Is(err, outbox.ErrStoreFull) {
			break
		}
		if err != nil || i > 1000 {
			t.Fatalf("sale %d: %v", i, err)
		}
		ids = append(ids, inv.ID)
	}

	// Held by another Store (the service): doctor reads the file size only.
	checks, _ := doctorChecks(t, tm)
	if c := checks["store"]; !strings.Contains(c.Detail, "from the file size") {
		t.Errorf("store held elsewhere: %+v, want a detail that says it used the file size", c)
	}
	s.Close()
	checks, err = doctorChecks(t, tm)
	wantExit(t, err, exitCheckFailed)
	if c := checks["store"]; c.Result != resFail || !strings.Contains(c.Detail, "store full") || strings.Contains(c.Detail, "file size") {
		t.Errorf("after Issue refused a sale: %+v, want store full from the store's own room", c)
	}

	// Accepting the queue frees its drain reserve: Issue takes sales again,
	// and doctor must not call the store full.
	if s, err = outbox.Open(path, opts); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if err := s.MarkSending(t.Context(), id, "SES"); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkAccepted(t.Context(), id, outbox.Acceptance{KSeFNumber: "K-" + id}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := issue("after"); err != nil {
		t.Fatalf("Issue after the queue was accepted = %v", err)
	}
	room, err := s.Room()
	if err != nil || room.Full() {
		t.Fatalf("Room() = %+v, %v; want room for sales", room, err)
	}
	s.Close()
	checks, _ = doctorChecks(t, tm)
	if c := checks["store"]; c.Result == resFail {
		t.Errorf("Issue stores sales but doctor says %+v", c)
	}
}
