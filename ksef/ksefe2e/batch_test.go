package ksefe2e_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/ksef/ksefapi"
	"github.com/posagent/posagent/ksef/ksefsim"
)

// TestBatch1000 sends 1 000 invoices in one batch session, streamed into a ZIP
// cut into several small parts, and reads the results back page by page.
func TestBatch1000(t *testing.T) {
	const count, partSize, pageSize = 1000, 256 << 10, 100
	h := start(t, ksefsim.Options{DisableRateLimits: true})
	c := h.tokenClient()
	today := h.clk.today()
	files := make(map[string][]byte, count)
	names := make([]string, 0, count)
	for i := 1; i <= count; i++ {
		name := fmt.Sprintf("FV-2026-11-%06d.xml", i)
		files[name] = invoice(t, fmt.Sprintf("FV/B/2026/11/%06d", i), today, price(i))
		names = append(names, name)
	}
	var seq iter.Seq2[string, []byte] = func(yield func(string, []byte) bool) {
		for _, n := range names {
			if !yield(n, files[n]) {
				return
			}
		}
	}
	mark, tmp := h.wire.mark(), t.TempDir()
	began := time.Now()
	res, err := c.SendBatch(ctx(t), seq, ksefapi.BatchOptions{PartSize: partSize, TempDir: tmp})
	if err != nil {
		t.Fatalf("SendBatch: %v (result %+v)", err, res)
	}
	t.Logf("SendBatch of %d invoices took %v", count, time.Since(began).Round(time.Millisecond))
	if left, err := os.ReadDir(tmp); err != nil || len(left) != 0 {
		t.Errorf("temporary files left behind: %v %v", left, err)
	}
	if res.Invoices != count || res.Parts < 3 || res.Reference == "" {
		t.Errorf("SendBatch = %d invoices in %d parts (ref %q), want %d in ≥3 parts", res.Invoices, res.Parts, res.Reference, count)
	}
	if res.Status == nil || res.Status.Status.Code != ksefapi.SessionDone || deref(res.Status.SuccessfulInvoiceCount) != count || deref(res.Status.FailedInvoiceCount) != 0 {
		t.Errorf("final session status %+v, want 200 with %d successful", res.Status, count)
	}
	t.Logf("batch %s: %d invoices in %d parts", res.Reference, res.Invoices, res.Parts)
	puts := 0
	for _, ex := range h.wire.since(mark) {
		if ex.Method == "PUT" {
			puts++
			if !strings.HasPrefix(ex.Path, "/blob/batch/") || ex.Auth || ex.Status != 201 {
				t.Errorf("part upload %v (auth %v), want a 201 from a pre-signed URL without a bearer", ex, ex.Auth)
			}
			if len(ex.ReqBody) > partSize+16 {
				t.Errorf("part of %d bytes, want ≤ %d", len(ex.ReqBody), partSize+16)
			}
		}
	}
	if puts != res.Parts {
		t.Errorf("%d PUTs for %d parts", puts, res.Parts)
	}

	// Read the session page by page, as an agent reconciling its outbox would.
	seen := map[string]bool{}
	ksefNumbers := map[string]bool{}
	pages := 0
	opts := ksefapi.ListOptions{PageSize: pageSize}
	for {
		p, err := c.ListInvoices(ctx(t), res.Reference, opts)
		if err != nil {
			t.Fatalf("ListInvoices page %d: %v", pages+1, err)
		}
		pages++
		if len(p.Invoices) > pageSize {
			t.Errorf("page %d has %d invoices, want ≤ %d", pages, len(p.Invoices), pageSize)
		}
		for _, st := range p.Invoices {
			name := st.InvoiceFileName
			xml, ok := files[name]
			switch {
			case !ok:
				t.Errorf("listed file %q was not sent", name)
				continue
			case seen[name]:
				t.Errorf("file %q listed twice", name)
			case st.Code() != ksefapi.InvoiceSuccess || st.InvoiceHash != hashB64(xml):
				t.Errorf("%s: status %d hash %s, want 200 %s", name, st.Code(), st.InvoiceHash, hashB64(xml))
			case ksefNumbers[st.KsefNumber]:
				t.Errorf("%s: KSeF number %s given twice", name, st.KsefNumber)
			}
			seen[name] = true
			ksefNumbers[st.KsefNumber] = true
			checkKSeFNumber(t, h, st.KsefNumber)
		}
		if p.ContinuationToken == "" {
			break
		}
		if pages > count/pageSize {
			t.Fatalf("still paging after %d pages", pages)
		}
		opts.ContinuationToken = p.ContinuationToken
	}
	if pages != count/pageSize || len(seen) != count {
		t.Errorf("%d pages with %d distinct invoices, want %d pages of %d", pages, len(seen), count/pageSize, count)
	}
	if failed, err := c.AllInvoices(ctx(t), res.Reference, true); err != nil || len(failed) != 0 {
		t.Errorf("AllInvoices(failed) = %d, %v; want none", len(failed), err)
	}

	t.Run("SessionUPO", func(t *testing.T) {
		if res.Status == nil || res.Status.UPO == nil || len(res.Status.UPO.Pages) == 0 {
			t.Fatal("no session UPO pages")
		}
		n := 0
		for i, p := range res.Status.UPO.Pages {
			upo, raw, err := c.DownloadUPO(ctx(t), p.DownloadURL)
			if err != nil {
				t.Fatalf("page %d: %v", i+1, err)
			}
			for _, d := range upo.Documents {
				if !ksefNumbers[d.KsefNumber] {
					t.Errorf("UPO lists unknown KSeF number %s", d.KsefNumber)
				}
			}
			n += len(upo.Documents)
			validateUPO(t, fmt.Sprintf("batch-upo-%d", i+1), raw)
		}
		if n != count {
			t.Errorf("session UPO lists %d invoices, want %d", n, count)
		}
	})
}

// TestBatchOutcomes: per-invoice results of a batch, and a batch with nothing
// valid in it.
func TestBatchOutcomes(t *testing.T) {
	h := start(t, ksefsim.Options{DisableRateLimits: true})
	c := h.tokenClient()
	today := h.clk.today()

	t.Run("Classification", func(t *testing.T) {
		// In a batch KSeF compares P_1 with the day the session was opened.
		files := map[string][]byte{
			"today.xml":     invoice(t, "FV/BC/1", today, "1.00"),
			"yesterday.xml": invoice(t, "FV/BC/2", today.AddDays(-1), "2.00"),
			"tomorrow.xml":  invoice(t, "FV/BC/3", today.AddDays(1), "3.00"),
		}
		want := map[string]string{"today.xml": "Online", "yesterday.xml": "Offline", "tomorrow.xml": "450"}
		res, err := c.SendBatch(ctx(t), mapSeq(files), ksefapi.BatchOptions{TempDir: t.TempDir()})
		if err != nil {
			t.Fatalf("SendBatch: %v", err)
		}
		if deref(res.Status.SuccessfulInvoiceCount) != 2 || deref(res.Status.FailedInvoiceCount) != 1 {
			t.Errorf("counts %v/%v, want 2 successful 1 failed", deref(res.Status.SuccessfulInvoiceCount), deref(res.Status.FailedInvoiceCount))
		}
		all, err := c.AllInvoices(ctx(t), res.Reference, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range all {
			got := st.InvoicingMode
			if st.Code() != ksefapi.InvoiceSuccess {
				got = fmt.Sprint(st.Code())
			}
			if got != want[st.InvoiceFileName] {
				t.Errorf("%s: %s, want %s", st.InvoiceFileName, got, want[st.InvoiceFileName])
			}
			if !st.InvoicingDate.Equal(res.Status.DateCreated) {
				t.Errorf("%s: invoicingDate %v, want the session's dateCreated %v", st.InvoiceFileName, st.InvoicingDate, res.Status.DateCreated)
			}
		}
	})
	t.Run("DeclaredOffline", func(t *testing.T) {
		res, err := c.SendBatch(ctx(t), one("o.xml", invoice(t, "FV/BC/4", today, "4.00")), ksefapi.BatchOptions{OfflineMode: true, TempDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		all, err := c.AllInvoices(ctx(t), res.Reference, false)
		if err != nil || len(all) != 1 || all[0].InvoicingMode != "Offline" {
			t.Errorf("AllInvoices = %+v, %v; want one Offline invoice", all, err)
		}
	})
	t.Run("NothingValid", func(t *testing.T) {
		tmp := t.TempDir()
		res, err := c.SendBatch(ctx(t), one("bad.xml", []byte("<Faktura/>")), ksefapi.BatchOptions{TempDir: tmp})
		if left, _ := os.ReadDir(tmp); len(left) != 0 {
			t.Errorf("temporary files left behind after a failed batch: %v", left)
		}
		var se *ksefapi.StatusError
		if !errors.As(err, &se) || se.Code != 445 || se.Op != "session" {
			t.Fatalf("SendBatch of a broken file = %v, want session StatusError 445", err)
		}
		if res == nil || res.Reference == "" {
			t.Fatalf("no session reference to follow up: %+v", res)
		}
		failed, err := c.AllInvoices(ctx(t), res.Reference, true)
		if err != nil || len(failed) != 1 || failed[0].Code() != 430 {
			t.Errorf("failed invoices %+v, %v; want one 430", failed, err)
		}
	})
}

func mapSeq(files map[string][]byte) iter.Seq2[string, []byte] {
	return func(yield func(string, []byte) bool) {
		for _, n := range slices.Sorted(maps.Keys(files)) {
			if !yield(n, files[n]) {
				return
			}
		}
	}
}

// TestBatchInterruptedUpload: the connection dies while a part goes up. The
// session was recorded through OnOpen before the upload, so the agent can
// settle it from KSeF: the parts never all arrived, the session is cancelled
// when its upload window ends, no invoice of it was accepted, and the batch
// can be sent again.
func TestBatchInterruptedUpload(t *testing.T) {
	h := start(t, ksefsim.Options{DisableRateLimits: true})
	c := h.tokenClient()
	xml := invoice(t, "FV/BI/1", h.clk.today(), "1.00")
	h.inject(ksefsim.Fault{Kind: ksefsim.FaultDrop, Count: 1, PathPrefix: "/blob/batch/"})
	var recorded string
	opts := ksefapi.BatchOptions{TempDir: t.TempDir(), OnOpen: func(_ context.Context, ref string) error {
		recorded = ref
		return nil
	}}
	res, err := c.SendBatch(ctx(t), one("bi.xml", xml), opts)
	if err == nil || !ksefapi.Retryable(err) {
		t.Fatalf("SendBatch with a dropped upload = %v, want a retryable error", err)
	}
	if recorded == "" || res == nil || res.Reference != recorded {
		t.Fatalf("OnOpen recorded %q, result %+v: the session must be known before the upload", recorded, res)
	}
	if st, err := c.SessionStatus(ctx(t), recorded); err != nil || st.Status.Code != ksefapi.SessionOpen {
		t.Fatalf("interrupted session: %+v, %v; want still open", st, err)
	}
	h.clk.Advance(21 * time.Minute) // one part: a 20-minute upload window
	st, err := c.SessionStatus(ctx(t), recorded)
	if err != nil || st.Status.Code != 440 {
		t.Fatalf("interrupted session after its window: %+v, %v; want 440 cancelled", st, err)
	}
	if all, err := c.AllInvoices(ctx(t), recorded, false); err != nil || len(all) != 0 {
		t.Errorf("invoices of the cancelled session: %d, %v; want none", len(all), err)
	}
	opts.OnOpen = nil
	res, err = c.SendBatch(ctx(t), one("bi.xml", xml), opts)
	if err != nil || deref(res.Status.SuccessfulInvoiceCount) != 1 {
		t.Fatalf("second SendBatch = %+v, %v; want one accepted invoice", res, err)
	}
}
