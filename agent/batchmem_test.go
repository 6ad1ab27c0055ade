package agent_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"iter"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/ksef/ksefapi"
	"github.com/posagent/posagent/outbox"
)

// TestBatchStreamsAndResolves: the batch iterator reads each XML from the
// store when asked, so the live heap does not grow with the archive; when
// SendBatch fails after KSeF opened the session, the records keep that
// session and are settled by asking KSeF for its invoice list (once per
// round, not once per invoice) instead of being resent.
func TestBatchStreamsAndResolves(t *testing.T) {
	if testing.Short() {
		t.Skip("2 000 invoices")
	}
	const n = 2000
	u := newUnit(t, func(o *agent.Options) {
		o.UploadTotalFailure = true // the backlog is sent after the failure (opt-in)
		o.BatchThreshold, o.SendGrace = 10, time.Hour
		// The print dispatcher and the monitor stay quiet meanwhile, so the
		// samples see the upload and not their passing allocations.
		o.PrintInterval = time.Minute
	})
	ctx := context.Background()
	if err := u.agent.Announce(ctx, agent.Announcement{Mode: "total_failure", Reference: "komunikat MF (test)"}); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := u.agent.Issue(ctx, agent.IssueRequest{Key: fmt.Sprint("m", i), Sale: consumerSale()}); err != nil {
			t.Fatal(err)
		}
	}
	if err := u.agent.SetMode(ctx, agent.OverrideAuto); err != nil {
		t.Fatal(err)
	}

	var (
		mu                sync.Mutex
		hashes            [][32]byte // not strings: the fake's own memory stays small
		xmlBytes          int
		base, first, peak uint64
		batches           int
	)
	live := func() uint64 {
		// Twice: sync.Pool buffers (bbolt's pages) survive one collection.
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	u.api.AuthenticateFunc = func(context.Context) (*ksefapi.Tokens, error) { return &ksefapi.Tokens{}, nil }
	u.api.SendBatchFunc = func(ctx context.Context, files iter.Seq2[string, []byte], opts ksefapi.BatchOptions) (*ksefapi.BatchResult, error) {
		mu.Lock()
		defer mu.Unlock()
		batches++
		i := 0
		for name, xml := range files {
			if i%250 == 0 {
				h := live()
				if i == 0 {
					first = h
				}
				peak = max(peak, h)
			}
			i++
			if !strings.HasSuffix(name, ".xml") || len(xml) == 0 {
				t.Errorf("batch file %q with %d bytes", name, len(xml))
			}
			hashes = append(hashes, sha256.Sum256(xml))
			xmlBytes += len(xml)
		}
		peak = max(peak, live())
		// As the real client: the archive is written, then the session opens.
		if err := opts.OnOpen(ctx, "BS-1"); err != nil {
			return nil, err
		}
		// KSeF has the session, but polling it failed: outcome unknown.
		return &ksefapi.BatchResult{Reference: "BS-1", Invoices: i}, &ksefapi.APIError{Op: "session status", Status: 503}
	}
	hashes = make([][32]byte, 0, n)
	var listCalls int
	u.api.AllInvoicesFunc = func(_ context.Context, ref string, _ bool) ([]ksefapi.InvoiceStatus, error) {
		mu.Lock()
		defer mu.Unlock()
		listCalls++
		if ref != "BS-1" {
			return nil, &ksefapi.APIError{Op: "list", Status: 404}
		}
		acq := u.clock.Now()
		out := make([]ksefapi.InvoiceStatus, len(hashes))
		for i, h := range hashes {
			out[i] = ksefapi.InvoiceStatus{InvoiceHash: base64.StdEncoding.EncodeToString(h[:]), KsefNumber: ksef.NewKSeFNumber(sellerNIP, acq, [6]byte{byte(i >> 8), byte(i)}),
				AcquisitionDate: &acq, Status: ksefapi.StatusInfo{Code: ksefapi.InvoiceSuccess}}
		}
		return out, nil
	}
	base = live() // the backlog stored, nothing of it in memory
	u.run(t)
	fctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := u.agent.Flush(fctx); err != nil {
		t.Fatal(err)
	}

	mu.Lock()
	defer mu.Unlock()
	growth := int64(peak) - int64(base)
	t.Logf("%d invoices, %.1f MiB of XML streamed; live heap %.1f MiB before the round, %.1f MiB at the first file, peak %.1f MiB (%+.2f MiB)",
		len(hashes), mib(uint64(xmlBytes)), mib(base), mib(first), mib(peak), float64(growth)/(1<<20))
	if batches != 1 || len(hashes) != n {
		t.Fatalf("%d batches with %d files, want 1 with %d", batches, len(hashes), n)
	}
	// The plan of the round (ids, hashes, record metadata) is live during the
	// batch; the XML must not be.
	if growth > int64(xmlBytes)*3/4 {
		t.Errorf("live heap grew %d bytes while streaming %d bytes of XML: the iterator holds the XML", growth, xmlBytes)
	}
	if listCalls > 3 {
		t.Errorf("%d session list calls to settle one batch, want one per round", listCalls)
	}
	st, err := u.store.Stats(ctx, u.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if st.Upload[outbox.UploadAccepted] != n {
		t.Errorf("upload states %v, want %d accepted", st.Upload, n)
	}
	inv, err := u.store.Get(ctx, "0000000001")
	if err != nil {
		t.Fatal(err)
	}
	if inv.SessionRef != "BS-1" || inv.Attempts != 1 || inv.Batch == "" || inv.LastSendAt.IsZero() {
		t.Errorf("record after the batch: session %q attempts %d batch %q last send %v; want BS-1, one attempt (no resend)",
			inv.SessionRef, inv.Attempts, inv.Batch, inv.LastSendAt)
	}
}
