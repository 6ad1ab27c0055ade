package outbox

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestReleaseUnderConcurrency reads XML from several goroutines while a
// writer issues invoices (growing, and so remapping, the file) and accepts
// others, so releases of the mapping race with reads, writes and remaps.
// Every read must return the stored bytes; run it with -race.
func TestReleaseUnderConcurrency(t *testing.T) {
	ctx := context.Background()
	s, err := Open(filepath.Join(t.TempDir(), "outbox.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	series := Series{Terminal: "T1", Format: "{terminal}/{seq:06}", Reset: ResetNever}
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	issue := func(i int) (*Invoice, error) {
		xml := make([]byte, 32<<10) // incompressible, so the file grows
		rng := rand.New(rand.NewChaCha8([32]byte{byte(i), byte(i >> 8)}))
		for j := range xml {
			xml[j] = byte(rng.Uint32())
		}
		inv, _, err := s.Issue(ctx, IssueRequest{SaleID: fmt.Sprint("s", i), Series: series, Now: at, Build: func(string) (*Built, error) {
			return &Built{XML: xml, Doc: xml[:1000], Mode: "offline24", Kind: "VAT", P1: "2026-11-20"}, nil
		}})
		return inv, err
	}
	var first []*Invoice
	for i := range 40 {
		inv, err := issue(i)
		if err != nil {
			t.Fatal(err)
		}
		first = append(first, inv)
	}
	stop := make(chan struct{})
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for r := range 4 {
		wg.Go(func() {
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				inv := first[(k*7+r)%len(first)]
				x, err := s.XML(ctx, inv.ID)
				if err == nil && !bytes.Equal(x, inv.XML) {
					err = fmt.Errorf("XML(%s) differs from the stored bytes", inv.ID)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for i := 40; i < 140; i++ { // 32 KiB each: the file grows past several remaps
		if _, err := issue(i); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			id := first[i%40].ID
			if err := s.MarkSending(ctx, id, "S"); err == nil {
				if err := s.MarkAccepted(ctx, id, Acceptance{KSeFNumber: "K" + id, UPO: []byte("<UPO/>")}); err != nil {
					t.Fatal(err)
				}
			}
		}
		if i%25 == 0 {
			if err := s.ReleaseMapped(); err != nil {
				t.Fatal(err)
			}
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
