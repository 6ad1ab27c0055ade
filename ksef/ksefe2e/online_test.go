package ksefe2e_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/ksef/ksefapi"
	"github.com/posagent/posagent/ksef/ksefsim"
	"github.com/posagent/posagent/ksef/ksefsim/ksefsimtest"
)

// sent is one invoice sent in a test session.
type sent struct {
	number string
	xml    []byte
	ref    string
	want   int // expected final status code
}

// TestOnlineSession sends 20 invoices in one interactive session: 18 valid,
// one exact resend of an accepted invoice (a retry after a lost answer) and
// one the simulator must reject. Every valid invoice gets a KSeF number with a
// good CRC and a UPO fetched from its pre-signed link, checked against
// x-ms-meta-hash, parsed and valid against upo-v4-3.xsd.
func TestOnlineSession(t *testing.T) {
	h := start(t, ksefsim.Options{DisableRateLimits: true, ProcessingDelay: 20 * time.Millisecond})
	c := h.tokenClient()
	s, err := c.OpenOnline(ctx(t))
	if err != nil {
		t.Fatalf("OpenOnline: %v", err)
	}
	today := h.clk.today()
	var invs []sent
	for i := 1; i <= 18; i++ {
		n := fmt.Sprintf("FV/2026/11/%06d", i)
		invs = append(invs, sent{number: n, xml: invoice(t, n, today, price(i)), want: ksefapi.InvoiceSuccess})
	}
	const dupOf = 2
	dup := sent{number: invs[dupOf].number, xml: invs[dupOf].xml, want: ksefapi.InvoiceDuplicate}
	// P_1 after the day KSeF receives the invoice: a semantic error (450).
	bad := sent{number: "FV/2026/11/999999", xml: invoice(t, "FV/2026/11/999999", today.AddDays(1), "1.00"), want: 450}
	invs = append(invs[:10], append([]sent{dup}, invs[10:]...)...)
	invs = append(invs[:15], append([]sent{bad}, invs[15:]...)...)
	if len(invs) != 20 {
		t.Fatalf("built %d invoices, want 20", len(invs))
	}
	for i := range invs {
		ref, err := s.Send(ctx(t), invs[i].xml, ksefapi.SendOptions{})
		if err != nil {
			t.Fatalf("Send #%d (%s): %v", i+1, invs[i].number, err)
		}
		invs[i].ref = ref
	}
	if err := s.Close(ctx(t)); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := s.Send(ctx(t), invs[0].xml, ksefapi.SendOptions{}); !errors.Is(err, ksefapi.ErrSessionClosed) {
		t.Errorf("Send after Close = %v, want ErrSessionClosed", err)
	}
	st, err := c.WaitSession(ctx(t), s.Reference)
	if err != nil {
		t.Fatalf("WaitSession: %v", err)
	}
	if got, want := st.Status.Code, ksefapi.SessionDone; got != want {
		t.Errorf("session status %d, want %d", got, want)
	}
	if st.InvoiceCount == nil || st.SuccessfulInvoiceCount == nil || st.FailedInvoiceCount == nil ||
		*st.InvoiceCount != 20 || *st.SuccessfulInvoiceCount != 18 || *st.FailedInvoiceCount != 2 {
		t.Errorf("session counts %v/%v/%v, want 20/18/2", deref(st.InvoiceCount), deref(st.SuccessfulInvoiceCount), deref(st.FailedInvoiceCount))
	}

	ksefOf := map[string]string{} // invoice number → KSeF number
	upoMark := h.wire.mark()
	for i, inv := range invs {
		got := waitInvoice(t, c, s.Reference, inv.ref)
		if got.Code() != inv.want {
			t.Errorf("#%d %s: status %d %q %v, want %d", i+1, inv.number, got.Code(), got.Status.Description, got.Status.Details, inv.want)
			continue
		}
		if got.OrdinalNumber != i+1 {
			t.Errorf("#%d: ordinalNumber %d", i+1, got.OrdinalNumber)
		}
		if got.InvoiceHash != hashB64(inv.xml) {
			t.Errorf("#%d: invoiceHash %s, want the hash of the bytes sent %s", i+1, got.InvoiceHash, hashB64(inv.xml))
		}
		if inv.want != ksefapi.InvoiceSuccess {
			continue
		}
		if got.Err() != nil || got.InvoicingMode != "Online" || got.InvoiceNumber != inv.number {
			t.Errorf("#%d: err %v mode %q number %q, want nil Online %q", i+1, got.Err(), got.InvoicingMode, got.InvoiceNumber, inv.number)
		}
		checkKSeFNumber(t, h, got.KsefNumber)
		ksefOf[inv.number] = got.KsefNumber
		if got.UpoDownloadURL == "" {
			t.Errorf("#%d: no upoDownloadUrl", i+1)
			continue
		}
		upo, raw, err := c.DownloadUPO(ctx(t), got.UpoDownloadURL)
		if err != nil {
			t.Errorf("#%d: DownloadUPO: %v", i+1, err)
			continue
		}
		d, ok := upo.Document(got.KsefNumber)
		if !ok || d.InvoiceHash != got.InvoiceHash || d.InvoiceNumber != inv.number || d.InvoicingMode != "Online" || d.SellerNip != upo.ContextNip {
			t.Errorf("#%d: UPO entry %+v (found %v), want hash %s number %s mode Online", i+1, d, ok, got.InvoiceHash, inv.number)
		}
		if upo.SessionReferenceNumber != s.Reference {
			t.Errorf("#%d: UPO session %s, want %s", i+1, upo.SessionReferenceNumber, s.Reference)
		}
		validateUPO(t, fmt.Sprintf("upo-%02d", i+1), raw)
	}
	upoGets := 0
	for _, ex := range h.wire.since(upoMark) {
		if strings.HasPrefix(ex.Path, "/blob/upo/") {
			upoGets++
			if ex.Auth {
				t.Errorf("pre-signed UPO download carried an Authorization header: %v", ex)
			}
			if ex.Header.Get("x-ms-meta-hash") == "" {
				t.Errorf("UPO download without x-ms-meta-hash: %v", ex)
			}
		}
	}
	if upoGets != 18 {
		t.Errorf("%d pre-signed UPO downloads, want 18", upoGets)
	}

	t.Run("Duplicate", func(t *testing.T) {
		got := waitInvoice(t, c, s.Reference, invs[10].ref)
		var se *ksefapi.StatusError
		if !errors.As(got.Err(), &se) || se.Code != ksefapi.InvoiceDuplicate {
			t.Fatalf("duplicate Err() = %v, want StatusError 440", got.Err())
		}
		orig := ksefOf[dup.number]
		if got.OriginalKsefNumber() != orig || got.OriginalSessionReferenceNumber() != s.Reference {
			t.Errorf("440 extensions %v, want originalKsefNumber %s in session %s", got.Status.Extensions, orig, s.Reference)
		}
		if len(got.Status.Details) == 0 || !strings.Contains(got.Status.Details[0], orig) {
			t.Errorf("440 details %q do not name the original %s", got.Status.Details, orig)
		}
		// The agent's rule: a 440 for the very bytes it sent (same hash as the
		// original) means "already accepted under originalKsefNumber".
		if !alreadyAccepted(t, c, got, invs[dupOf].xml) {
			t.Errorf("alreadyAccepted = false for an exact resend")
		}
		if got.KsefNumber != "" || got.UpoDownloadURL != "" {
			t.Errorf("duplicate has ksefNumber %q / UPO link, want none", got.KsefNumber)
		}
	})

	t.Run("Invalid", func(t *testing.T) {
		got := waitInvoice(t, c, s.Reference, invs[15].ref)
		var se *ksefapi.StatusError
		if !errors.As(got.Err(), &se) || se.Code != 450 || len(se.Details) == 0 {
			t.Fatalf("invalid Err() = %v, want StatusError 450 with details", got.Err())
		}
		if !strings.Contains(strings.Join(se.Details, " "), "P_1") {
			t.Errorf("450 details %q do not name P_1", se.Details)
		}
		if se.Retryable() {
			t.Errorf("450 Retryable() = true")
		}
		if got.KsefNumber != "" || got.UpoDownloadURL != "" {
			t.Errorf("rejected invoice has ksefNumber %q / UPO link", got.KsefNumber)
		}
	})

	t.Run("Lists", func(t *testing.T) {
		all, err := c.AllInvoices(ctx(t), s.Reference, false)
		if err != nil {
			t.Fatalf("AllInvoices: %v", err)
		}
		if len(all) != 20 {
			t.Errorf("AllInvoices: %d, want 20", len(all))
		}
		failed, err := c.AllInvoices(ctx(t), s.Reference, true)
		if err != nil {
			t.Fatalf("AllInvoices(failed): %v", err)
		}
		var refs []string
		for _, f := range failed {
			refs = append(refs, f.ReferenceNumber)
		}
		if len(failed) != 2 || !contains(refs, invs[10].ref) || !contains(refs, invs[15].ref) {
			t.Errorf("failed invoices %v, want the duplicate %s and the invalid %s", refs, invs[10].ref, invs[15].ref)
		}
	})

	t.Run("SessionUPO", func(t *testing.T) {
		if st.UPO == nil || len(st.UPO.Pages) == 0 {
			t.Fatalf("closed session has no UPO pages")
		}
		n := 0
		for i, p := range st.UPO.Pages {
			upo, raw, err := c.DownloadUPO(ctx(t), p.DownloadURL)
			if err != nil {
				t.Fatalf("session UPO page %d: %v", i+1, err)
			}
			validateUPO(t, fmt.Sprintf("session-upo-%d", i+1), raw)
			for _, d := range upo.Documents {
				if ksefOf[d.InvoiceNumber] != d.KsefNumber {
					t.Errorf("session UPO lists %s as %s, want %s", d.InvoiceNumber, d.KsefNumber, ksefOf[d.InvoiceNumber])
				}
				n++
			}
		}
		if n != 18 {
			t.Errorf("session UPO lists %d invoices, want 18", n)
		}
	})

	t.Run("InvoiceUPOThroughAPI", func(t *testing.T) {
		upo, raw, err := c.InvoiceUPO(ctx(t), s.Reference, invs[0].ref)
		if err != nil {
			t.Fatalf("InvoiceUPO: %v", err)
		}
		if _, ok := upo.Document(ksefOf[invs[0].number]); !ok {
			t.Errorf("InvoiceUPO lacks %s", ksefOf[invs[0].number])
		}
		validateUPO(t, "api-upo", raw)
	})
}

// alreadyAccepted is the agent's reading of a duplicate: KSeF rejected the
// invoice as a 440, and the original it names (originalKsefNumber in
// originalSessionReferenceNumber) has the hash of our bytes, so the invoice is
// in KSeF under that number. The 440 entry's own invoiceHash is always the hash
// of what was just sent, so the original's hash is looked up in its session.
func alreadyAccepted(t *testing.T, c *ksefapi.Client, st *ksefapi.InvoiceStatus, ours []byte) bool {
	t.Helper()
	if st.Code() != ksefapi.InvoiceDuplicate || st.OriginalKsefNumber() == "" || st.OriginalSessionReferenceNumber() == "" {
		return false
	}
	all, err := c.AllInvoices(ctx(t), st.OriginalSessionReferenceNumber(), false)
	if err != nil {
		t.Fatalf("AllInvoices(original session): %v", err)
	}
	for _, o := range all {
		if o.KsefNumber == st.OriginalKsefNumber() {
			return o.Code() == ksefapi.InvoiceSuccess && o.InvoiceHash == hashB64(ours)
		}
	}
	t.Fatalf("original %s not listed in session %s", st.OriginalKsefNumber(), st.OriginalSessionReferenceNumber())
	return false
}

// TestDuplicateNumberConflict: another invoice under a number KSeF already
// holds is also a 440, but its hash differs: a numbering conflict the agent
// must surface, not an acceptance.
func TestDuplicateNumberConflict(t *testing.T) {
	h, c, s := online(t)
	first := invoice(t, "FV/1", h.clk.today(), "10.00")
	other := invoice(t, "FV/1", h.clk.today(), "99.99")
	r1 := send(t, s, first)
	r2 := send(t, s, other)
	st1 := waitInvoice(t, c, s.Reference, r1)
	st2 := waitInvoice(t, c, s.Reference, r2)
	if st2.Code() != ksefapi.InvoiceDuplicate || st2.OriginalKsefNumber() != st1.KsefNumber {
		t.Fatalf("second FV/1: %d original %q, want 440 original %q", st2.Code(), st2.OriginalKsefNumber(), st1.KsefNumber)
	}
	if alreadyAccepted(t, c, st2, other) {
		t.Errorf("a conflicting invoice reads as already accepted")
	}
	if !alreadyAccepted(t, c, st2, first) {
		t.Errorf("the original's own bytes do not read as accepted")
	}
	if got := h.sim.Invoices(); len(got) != 1 || got[0].Hash != hashB64(first) || got[0].Receipts != 2 {
		t.Errorf("simulator holds %+v, want only the first FV/1 received twice", got)
	}
}

// TestInvalidFormat: files KSeF rejects before the schema get 430 with a
// reason, and no KSeF number.
func TestInvalidFormat(t *testing.T) {
	h, c, s := online(t)
	good := invoice(t, "FV/430", h.clk.today(), "10.00")
	tests := []struct {
		name, want string
		xml        []byte
	}{
		{"ByteOrderMark", "byte order mark", append([]byte{0xEF, 0xBB, 0xBF}, good...)},
		{"ProcessingInstruction", "processing instruction", append([]byte(`<?xml-stylesheet href="f.xsl"?>`), good...)},
		{"DeclaredLatin2", "encoding", append([]byte(`<?xml version="1.0" encoding="ISO-8859-2"?>`), good...)},
		{"NotWellFormed", "well-formed", good[:len(good)/2]},
		{"WrongForm", "Faktura", []byte(`<Faktura xmlns="http://crd.gov.pl/wzor/2023/06/29/12648/"/>`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref, err := s.Send(ctx(t), tt.xml, ksefapi.SendOptions{})
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := waitInvoice(t, c, s.Reference, ref)
			var se *ksefapi.StatusError
			if !errors.As(got.Err(), &se) || se.Code != 430 {
				t.Fatalf("status %d %v, want 430", got.Code(), got.Status.Details)
			}
			// The reason is free text; it must exist and say what is wrong.
			if len(se.Details) == 0 || !strings.Contains(strings.ToLower(strings.Join(se.Details, " ")), strings.ToLower(tt.want)) {
				t.Errorf("details %q, want a reason mentioning %q", se.Details, tt.want)
			}
			if got.KsefNumber != "" {
				t.Errorf("rejected file got KSeF number %s", got.KsefNumber)
			}
		})
	}
	if n := len(h.sim.Invoices()); n != 0 {
		t.Errorf("simulator accepted %d of the broken files", n)
	}
}

func deref(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestUPOLinkExpiry: a pre-signed UPO link dies after its expiry; the UPO is
// still available through the API with the bearer.
func TestUPOLinkExpiry(t *testing.T) {
	h, c, s := online(t)
	ref := send(t, s, invoice(t, "FV/UPO/1", h.clk.today(), "1.00"))
	st := waitInvoice(t, c, s.Reference, ref)
	h.clk.Advance(2 * time.Hour)
	_, _, err := c.DownloadUPO(ctx(t), st.UpoDownloadURL)
	if ae := asAPIError(t, err); ae.Status != 403 || ae.Retryable() {
		t.Fatalf("expired link: %v, want a final 403", err)
	}
	upo, raw, err := c.InvoiceUPO(ctx(t), s.Reference, ref)
	if err != nil {
		t.Fatalf("InvoiceUPO after the link expired: %v", err)
	}
	if d, ok := upo.Document(st.KsefNumber); !ok || d.InvoiceHash != st.InvoiceHash {
		t.Errorf("UPO entry %+v (found %v), want hash %s", d, ok, st.InvoiceHash)
	}
	validateUPO(t, "upo-after-expiry", raw)
}

// TestInvalidInputSendsNothing: arguments the client can judge itself are
// refused with ErrInvalidInput before any request leaves.
func TestInvalidInputSendsNothing(t *testing.T) {
	h, c, s := online(t)
	xml := invoice(t, "FV/IN/1", h.clk.today(), "1.00")
	tests := []struct {
		name string
		call func() error
	}{
		{"EmptyInvoice", func() error { _, err := s.Send(ctx(t), nil, ksefapi.SendOptions{}); return err }},
		{"ShortCorrectionHash", func() error {
			_, err := s.Send(ctx(t), xml, ksefapi.SendOptions{OfflineMode: true, HashOfCorrected: []byte{1, 2, 3}})
			return err
		}},
		{"PageSizeTooSmall", func() error {
			_, err := c.ListInvoices(ctx(t), s.Reference, ksefapi.ListOptions{PageSize: 5})
			return err
		}},
		{"EmptySessionReference", func() error { _, err := c.SessionStatus(ctx(t), ""); return err }},
		{"BatchRepeatedName", func() error {
			seq := func(yield func(string, []byte) bool) {
				for range 2 {
					if !yield("a.xml", xml) {
						return
					}
				}
			}
			_, err := c.SendBatch(ctx(t), seq, ksefapi.BatchOptions{TempDir: t.TempDir()})
			return err
		}},
		{"BatchEmpty", func() error {
			_, err := c.SendBatch(ctx(t), func(func(string, []byte) bool) {}, ksefapi.BatchOptions{TempDir: t.TempDir()})
			return err
		}},
		{"UPOLinkNotHTTP", func() error { _, _, err := c.DownloadUPO(ctx(t), "file:///etc/passwd"); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mark := h.wire.mark()
			if err := tt.call(); !errors.Is(err, ksefapi.ErrInvalidInput) {
				t.Errorf("error %v, want ErrInvalidInput", err)
			}
			if exs := h.wire.since(mark); len(exs) != 0 {
				t.Errorf("requests sent: %v", exs)
			}
		})
	}
}

// TestStartedServer runs the simulator on its own listener (as the demo and
// `posagent ksefsim` do) rather than under httptest: pre-signed links must
// point back at that listener.
func TestStartedServer(t *testing.T) {
	clk := newClock()
	sim, err := ksefsim.New(&ksefsim.Options{Now: clk.Now, Tokens: map[string]string{ksefsimtest.Token: ksefsimtest.NIP}})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(ctx(t), "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := sim.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	h := &harness{t: t, clk: clk, wire: newWire(t, loadSpec(t)), sim: &ksefsimtest.Sim{Server: sim, Base: sim.URL() + "/v2"}}
	c := h.tokenClient()
	s := openOnline(t, c)
	ref := send(t, s, invoice(t, "FV/ST/1", clk.today(), "1.00"))
	st := waitInvoice(t, c, s.Reference, ref)
	if !strings.HasPrefix(st.UpoDownloadURL, sim.URL()+"/") {
		t.Errorf("UPO link %s does not point at the listener %s", st.UpoDownloadURL, sim.URL())
	}
	if _, _, err := c.DownloadUPO(ctx(t), st.UpoDownloadURL); err != nil {
		t.Errorf("DownloadUPO: %v", err)
	}
}
