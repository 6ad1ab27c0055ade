//go:build linux

package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/escpos"
	"github.com/posagent/posagent/escpos/escpostest"
	"github.com/posagent/posagent/internal/testutil"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/ksef/ksefsim"
	"github.com/posagent/posagent/outbox"
	"github.com/posagent/posagent/till"
)

// The four kinds of sale of the demo: a consumer, a Polish business, an EU
// business (WDT) and a simplified invoice (UPR).
func outageSales() []struct {
	key  string
	body map[string]any
} {
	return []struct {
		key  string
		body map[string]any
	}{
		{"sale-consumer", map[string]any{
			"buyer": map[string]any{"kind": "consumer"},
			"lines": []any{line("Benzyna Pb95", "l", "32.45", "6.49", "23"), line("Drożdżówka z serem", "szt.", "2", "4.99", "5"),
				line("Kawa źródlana", "szt.", "1", "9.90", "8")},
			"payment": map[string]any{"form": "card", "paid": true}, "issue_date": today()}},
		{"sale-b2b", map[string]any{
			"buyer": map[string]any{"kind": "nip", "nip": buyerNIP, "name": "Przedsiębiorstwo Transportowe „Łoś” S.A.",
				"address": map[string]any{"country": "PL", "line1": "ul. Żółkiewskiego 15", "line2": "09-400 Płock"}},
			"price_mode": "net",
			"lines":      []any{line("Olej napędowy ON", "l", "412.5", "5.28", "23"), line("Myjnia premium", "usł.", "1", "40.65", "23")},
			"payment":    map[string]any{"form": "transfer", "paid": false}, "issue_date": today()}},
		{"sale-eu", map[string]any{
			"buyer": map[string]any{"kind": "eu", "eu_code": "DE", "eu_vat": "123456789", "name": "Spedition Müller GmbH",
				"address": map[string]any{"country": "DE", "line1": "Hauptstraße 12", "line2": "10115 Berlin"}},
			"price_mode": "net",
			"lines":      []any{line("Filtry paliwa", "szt.", "10", "45.00", "0 WDT")},
			"payment":    map[string]any{"form": "transfer", "paid": false}, "issue_date": today()}},
		{"sale-upr", map[string]any{
			"kind":    "UPR",
			"buyer":   map[string]any{"kind": "nip", "nip": buyerNIP},
			"lines":   []any{line("Benzyna Pb95", "l", "40.12", "6.49", "23")},
			"payment": map[string]any{"form": "cash", "paid": true}, "issue_date": today()}},
	}
}

// linkDown makes the simulator drop every API connection until ClearFaults.
func linkDown(t *testing.T, h *harness) {
	t.Helper()
	if err := h.sim.InjectFault(ksefsim.Fault{Kind: ksefsim.FaultDrop, Count: ksefsim.Forever, PathPrefix: "/v2"}); err != nil {
		t.Fatal(err)
	}
}

// simByNumber returns the simulator's invoices by their P_2 number, failing
// when a number is there twice.
func simByNumber(t *testing.T, h *harness) map[string]ksefsim.StoredInvoice {
	t.Helper()
	out := map[string]ksefsim.StoredInvoice{}
	for _, si := range h.sim.Invoices() {
		if _, dup := out[si.InvoiceNumber]; dup {
			t.Errorf("simulator holds %s twice", si.InvoiceNumber)
		}
		out[si.InvoiceNumber] = si
	}
	return out
}

// checkUploadedOnce checks that KSeF holds every view exactly once, with
// the stored bytes (same hash) and the KSeF number the till reports.
func checkUploadedOnce(t *testing.T, h *harness, views ...till.View) {
	t.Helper()
	sims := simByNumber(t, h)
	if got, want := len(sims), len(views); got != want {
		t.Errorf("simulator holds %d invoices, want %d", got, want)
	}
	for _, v := range views {
		si, ok := sims[v.Number]
		if !ok {
			t.Errorf("%s: not in the simulator", v.Number)
			continue
		}
		if si.Receipts != 1 {
			t.Errorf("%s: reached KSeF %d times, want once", v.Number, si.Receipts)
		}
		inv, err := h.store().Get(context.Background(), v.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := si.Hash, outbox.HashOf(inv.XML).Base64(); got != want {
			t.Errorf("%s: KSeF got hash %s, stored XML hashes to %s", v.Number, got, want)
		}
		if got := h.invoice(v.ID); got.Upload != "accepted" || got.KSeFNumber != si.KSeFNumber {
			t.Errorf("%s: till says %s %q, simulator numbered it %q", v.Number, got.Upload, got.KSeFNumber, si.KSeFNumber)
		}
	}
}

func TestEndToEnd(t *testing.T) {
	t.Run("outage, sales, link back, all accepted", testOutage)
	t.Run("502s and a 429 with Retry-After", testTransientFaults)
	t.Run("paper out during a sale", testPaperOut)
	t.Run("restart in the middle of an upload", testRestart)
	t.Run("restart with a receipt waiting for paper", testRestartPrint)
	t.Run("bad input stores nothing", testBadInput)
	t.Run("printed links match the stored XML", testPrintedLinks)
}

// testOutage: during a link outage every kind of sale is issued offline24
// with both codes and printed, and a correction is kept pending; once the
// link is back KSeF accepts everything, and the correction is issued, naming
// its original's KSeF number, and sent only after it.
func testOutage(t *testing.T) {
	h := newHarness(t)
	h.start()
	linkDown(t, h)

	var views []till.View
	for _, s := range outageSales() {
		v := h.sell(s.key, s.body)
		if v.Mode != "offline24" || v.Kod1 == "" || v.Kod2 == "" || v.Upload != "queued" {
			t.Errorf("%s: mode %q upload %q kod1 %t kod2 %t, want offline24 queued with KOD I and KOD II",
				s.key, v.Mode, v.Upload, v.Kod1 != "", v.Kod2 != "")
		}
		views = append(views, v)
	}
	orig := views[0]
	// The original has no KSeF number yet: the correction waits for it
	// (tryby-offline.md), answered 202, with a slip printed meanwhile.
	corr := map[string]any{"reason": "Zwrot drożdżówki", "type": 2,
		"lines": []any{line("Benzyna Pb95", "l", "32.45", "6.49", "23"), line("Drożdżówka z serem", "szt.", "1", "4.99", "5"),
			line("Kawa źródlana", "szt.", "1", "9.90", "8")}}
	var pend till.PendingCorrection
	if code, raw := h.do(http.MethodPost, "/v1/invoices/"+orig.ID+"/corrections",
		map[string]string{"Idempotency-Key": "corr-1"}, corr, &pend); code != http.StatusAccepted || pend.Corrects != orig.ID {
		t.Fatalf("POST corrections = %d %s, want 202 pending on %s", code, raw, orig.ID)
	}
	ids := make([]string, len(views))
	for i, v := range views {
		ids[i] = v.ID
	}

	h.waitPrinted(15*time.Second, ids...)
	data := h.prn.bytes()
	for _, v := range views {
		if !bytes.Contains(data, []byte(v.Number)) {
			t.Errorf("%s: number not found in the bytes sent to the printer", v.Number)
		}
	}
	if n := len(h.sim.Invoices()); n != 0 {
		t.Fatalf("simulator holds %d invoices during the outage, want 0", n)
	}
	h.waitFor("the status to show the link down", 5*time.Second, func() bool { return h.status().Link.State == "down" })
	if st := h.status(); st.Backlog.Count != len(views) {
		t.Errorf("backlog during the outage = %d, want %d", st.Backlog.Count, len(views))
	}

	h.sim.ClearFaults()
	h.waitAccepted(20*time.Second, ids...)
	// Issued once KSeF accepted the original: the till's replay returns it.
	var kor till.View
	h.waitFor("the correction issued", 20*time.Second, func() bool {
		kor = till.View{}
		code, _ := h.do(http.MethodPost, "/v1/invoices/"+orig.ID+"/corrections", map[string]string{"Idempotency-Key": "corr-1"}, corr, &kor)
		return code == http.StatusOK && kor.ID != ""
	})
	if kor.Kind != "KOR" || kor.Corrects != orig.ID || kor.Kod1 == "" {
		t.Errorf("correction = kind %q corrects %q kod1 %t, want KOR of %s with its codes", kor.Kind, kor.Corrects, kor.Kod1 != "", orig.ID)
	}
	h.waitAccepted(20*time.Second, kor.ID)
	h.waitPrinted(15*time.Second, kor.ID)
	views = append(views, kor)
	checkUploadedOnce(t, h, views...)

	// Invoices() is in acceptance order: the original before its correction.
	order := h.sim.Invoices()
	at := func(number string) (int, ksefsim.StoredInvoice) {
		for i, si := range order {
			if si.InvoiceNumber == number {
				return i, si
			}
		}
		t.Fatalf("%s not in the simulator", number)
		return -1, ksefsim.StoredInvoice{}
	}
	iOrig, origSI := at(orig.Number)
	iKor, korSI := at(kor.Number)
	if iKor < iOrig || korSI.Acquired.Before(origSI.Acquired) {
		t.Errorf("correction accepted at #%d (%v), original at #%d (%v): want the original first",
			iKor, korSI.Acquired, iOrig, origSI.Acquired)
	}
	wantType := map[string]string{orig.Number: "VAT", views[1].Number: "VAT", views[2].Number: "VAT", views[3].Number: "UPR", kor.Number: "KOR"}
	for _, si := range order {
		if si.InvoiceType != wantType[si.InvoiceNumber] || !si.Offline {
			t.Errorf("%s in KSeF: type %q offline %t, want %s sent with offlineMode", si.InvoiceNumber, si.InvoiceType, si.Offline, wantType[si.InvoiceNumber])
		}
	}
	// No send of the correction reached KSeF before the original was accepted.
	inv, err := h.store().Get(context.Background(), orig.ID)
	if err != nil {
		t.Fatal(err)
	}
	korRec, err := h.store().Get(context.Background(), kor.ID)
	if err != nil {
		t.Fatal(err)
	}
	if first := firstEvent(korRec, "sending"); first.IsZero() || first.Before(inv.AcceptedAt) {
		t.Errorf("correction first sent at %v, original accepted at %v: want after", first, inv.AcceptedAt)
	}
	if !bytes.Contains(korRec.XML, []byte("<NrKSeFFaKorygowanej>"+inv.KSeFNumber+"</NrKSeFFaKorygowanej>")) {
		t.Errorf("the correction does not name its original's KSeF number %s", inv.KSeFNumber)
	}

	// The bytes KSeF accepted (same hash as stored) are valid FA(3).
	t.Run("FA(3) schema", func(t *testing.T) {
		testutil.RequireTool(t, "xmllint")
		xsd := testutil.Official("ksef/schema/schemat_FA(3)_v1-0E.xsd")
		dir := t.TempDir()
		for _, v := range views {
			rec, err := h.store().Get(context.Background(), v.ID)
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, v.ID+".xml")
			if err := os.WriteFile(p, rec.XML, 0o600); err != nil {
				t.Fatal(err)
			}
			testutil.XMLLintSchema(t, xsd, p)
		}
	})
}

// firstEvent returns when the record first logged an event starting with
// prefix, or the zero time.
func firstEvent(inv *outbox.Invoice, prefix string) time.Time {
	for _, e := range inv.Events {
		if strings.HasPrefix(e.What, prefix) {
			return e.At
		}
	}
	return time.Time{}
}

// testTransientFaults: HTML 502 pages from a proxy and a 429 with
// Retry-After delay the upload but do not lose or duplicate it; the retry
// after the 429 waits for the persisted not-before.
func testTransientFaults(t *testing.T) {
	const retryAfter = 1 // seconds
	h := newHarness(t)
	h.start()
	if err := h.sim.InjectFault(ksefsim.Fault{Kind: ksefsim.FaultHTML502, Count: 3, PathPrefix: "/v2/sessions"}); err != nil {
		t.Fatal(err)
	}
	h.gate.add(&rule{match: isSend, count: 1, retryAfter: retryAfter})

	v := h.sell("sale-faults", consumerSale())
	h.waitAccepted(20*time.Second, v.ID)
	checkUploadedOnce(t, h, v)

	if got := len(h.gate.entries(func(e gateEntry) bool { return e.Status == http.StatusBadGateway })); got != 3 {
		t.Errorf("%d HTML 502 answers served, want 3", got)
	}
	limited := h.gate.entries(func(e gateEntry) bool { return e.Status == http.StatusTooManyRequests })
	if len(limited) != 1 {
		t.Fatalf("%d 429 answers served, want 1", len(limited))
	}
	inv, err := h.store().Get(context.Background(), v.ID)
	if err != nil {
		t.Fatal(err)
	}
	var notBefore time.Time
	for _, e := range inv.Events {
		if s, ok := strings.CutPrefix(e.What, "retry not before "); ok && e.Code == "429" {
			if notBefore, err = time.Parse(time.RFC3339, s); err != nil {
				t.Fatalf("event %q: %v", e.What, err)
			}
		}
	}
	if notBefore.IsZero() {
		t.Fatalf("no persisted not-before for the 429 in the events %+v", inv.Events)
	}
	// The event keeps whole seconds; the 429 came at limited[0].At.
	if d := notBefore.Sub(limited[0].At); d < -time.Second || d > retryAfter*time.Second+time.Second {
		t.Errorf("not-before %v is %v after the 429, want about %d s", notBefore, d, retryAfter)
	}
	upload := func(e gateEntry) bool {
		return e.At.After(limited[0].At) && e.Method == http.MethodPost &&
			(strings.HasSuffix(e.Path, "/invoices") || e.Path == "/v2/sessions/batch")
	}
	next := h.gate.entries(upload)
	if len(next) == 0 {
		t.Fatal("no upload after the 429")
	}
	if wait := next[0].At.Sub(limited[0].At); wait < retryAfter*time.Second-50*time.Millisecond || next[0].At.Before(notBefore) {
		t.Errorf("next upload %v after the 429 (not-before %v), want at least Retry-After %d s", wait, notBefore, retryAfter)
	}
}

// testPaperOut: a sale is answered at once although the printer has no
// paper (or its cover is open); the receipt waits and prints when the
// printer is ready again.
func testPaperOut(t *testing.T) {
	tests := []struct {
		name  string
		cond  condition
		state string // printer state on the status page
	}{
		{"paper out", paperOut, "paper_out"},
		{"cover open", coverOpen, "cover_open"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.start()
			h.prn.set(tt.cond)

			start := time.Now()
			v := h.sell("sale-printer", consumerSale())
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("sale answered after %v with the printer not ready, want at once", d)
			}
			h.waitFor("the printer to report "+tt.state, 5*time.Second, func() bool {
				return h.status().Printer.State == tt.state
			})
			// Let the worker retry a few times against the printer.
			time.Sleep(300 * time.Millisecond)
			if got := h.invoice(v.ID).Print; got != "pending" && got != "failed" {
				t.Errorf("print state = %q, want pending or failed", got)
			}
			if _, queries := h.prn.counts(); queries < 6 {
				t.Errorf("printer asked %d times, want the worker to keep asking", queries)
			}
			if bytes.Contains(h.prn.bytes(), []byte(v.Number)) {
				t.Fatal("receipt sent to a printer that is not ready")
			}

			h.prn.set(healthy)
			h.waitPrinted(10*time.Second, v.ID)
			if n := bytes.Count(h.prn.bytes(), []byte(v.Number)); n != 1 {
				t.Errorf("receipt %s reached the pty %d times, want once", v.Number, n)
			}
			h.waitFor("the status to show the printer ok", 5*time.Second, func() bool {
				st := h.status()
				return st.Printer.State == "ok" && st.Printer.Pending == 0 && st.Printer.Failed == 0
			})
		})
	}
}

// testRestart: the service stops while uploads are in flight (one whose
// answer KSeF sent but the client never got, one KSeF never got) and starts
// again on the same store; every invoice ends accepted, each once in KSeF.
func testRestart(t *testing.T) {
	h := newHarness(t)
	h.start()
	linkDown(t, h)
	var views []till.View
	for _, s := range outageSales()[:3] {
		views = append(views, h.sell(s.key, s.body))
	}
	h.waitPrinted(10*time.Second, views[0].ID, views[1].ID, views[2].ID)

	// Phase 1: KSeF takes the first invoice but the answer is lost.
	h.gate.add(&rule{match: isSend, count: 100, lose: true})
	h.sim.ClearFaults()
	h.waitFor("KSeF to take an invoice whose answer is lost", 10*time.Second, func() bool {
		return len(h.sim.Invoices()) >= 1 && h.invoiceUpload(views...)["sending"] >= 1
	})
	h.gate.reset()
	lost := h.gate.entries(func(e gateEntry) bool { return isSendPath(e.Method, e.Path) && e.Status == 0 })
	if len(lost) == 0 {
		t.Fatal("no send answer was lost")
	}
	h.restart()
	if got := len(h.store().Recovered().Sending); got == 0 {
		t.Fatal("the reopened store recovered no invoice left sending")
	}
	h.waitAccepted(20*time.Second, views[0].ID, views[1].ID, views[2].ID)
	checkUploadedOnce(t, h, views...)

	// Phase 2: KSeF is slow; the send is cut off by the stop and never
	// processed. (ksefsim's FaultDelay waits before reading the body, so the
	// server would not notice the client leaving; the gate holds instead.)
	h.gate.add(&rule{match: isSend, count: 1, hold: true})
	v := h.sell(outageSales()[3].key, outageSales()[3].body)
	h.waitFor("the slow send to be in flight", 10*time.Second, func() bool {
		return h.invoice(v.ID).Upload == "sending"
	})
	if err := h.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if sims := simByNumber(t, h); sims[v.Number].KSeFNumber != "" {
		t.Fatalf("%s reached KSeF although its send was cut off", v.Number)
	}
	h.start()
	if rec := h.store().Recovered(); !slices.Contains(rec.Sending, v.ID) {
		t.Errorf("the reopened store did not recover %s as sending", v.Number)
	}
	h.waitAccepted(20*time.Second, v.ID)
	checkUploadedOnce(t, h, append(views, v)...)

	// The till retries a sale whose answer it lost before the restart: the
	// same key and body give the same invoice, not a new number.
	var replay till.View
	s := outageSales()[0]
	if code, raw := h.do(http.MethodPost, "/v1/sales", map[string]string{"Idempotency-Key": s.key}, s.body, &replay); code != http.StatusOK || replay.ID != views[0].ID {
		t.Errorf("replay after restart = %d %s, want 200 with %s", code, raw, views[0].ID)
	}
}

// testRestartPrint: a receipt waiting for paper when the service stops is
// printed once after the restart.
func testRestartPrint(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.prn.set(paperOut)
	v := h.sell("sale-restart-print", consumerSale())
	h.waitFor("the printer to report paper out", 5*time.Second, func() bool {
		return h.status().Printer.State == "paper_out"
	})
	if err := h.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	h.prn.set(healthy)
	h.start()
	h.waitPrinted(10*time.Second, v.ID)
	if n := bytes.Count(h.prn.bytes(), []byte(v.Number)); n != 1 {
		t.Errorf("receipt %s reached the pty %d times, want once", v.Number, n)
	}
}

// invoiceUpload counts the upload states of views as the till reports them.
func (h *harness) invoiceUpload(views ...till.View) map[string]int {
	out := map[string]int{}
	for _, v := range views {
		out[h.invoice(v.ID).Upload]++
	}
	return out
}

// testBadInput: each kind of bad request gets its own problem code and
// changes nothing: no record, no number used, no print.
func testBadInput(t *testing.T) {
	h := newHarness(t)
	h.start()
	ctx := context.Background()

	with := func(edit func(s map[string]any)) map[string]any {
		s := consumerSale()
		edit(s)
		return s
	}
	withLine := func(k string, v any) map[string]any {
		return with(func(s map[string]any) {
			l := line("Kawa źródlana", "szt.", "1", "9.90", "8")
			l[k] = v
			s["lines"] = []any{l}
		})
	}
	good, err := jsonBytes(consumerSale())
	if err != nil {
		t.Fatal(err)
	}
	huge := append([]byte(`{"buyer":{"kind":"consumer"},"place":"`), bytes.Repeat([]byte("x"), 1<<20+10)...)
	huge = append(huge, `"}`...)
	key := map[string]string{"Idempotency-Key": "bad-1"}

	tests := []struct {
		name   string
		hdr    map[string]string
		body   any
		status int
		code   string
		field  string // the JSON path in errors[], when the code names a field
	}{
		{"malformed json", key, []byte(`{"buyer":{"kind":"consumer"`), 400, till.CodeMalformedJSON, ""},
		{"trailing garbage", key, append(bytes.Clone(good), []byte(` {}`)...), 400, till.CodeTrailingData, ""},
		{"empty body", key, []byte{}, 400, till.CodeEmptyBody, ""},
		{"unknown field", key, with(func(s map[string]any) { s["tip"] = "1.00" }), 400, till.CodeUnknownField, "tip"},
		{"wrongly cased field", key, with(func(s map[string]any) { s["Lines"] = s["lines"]; delete(s, "lines") }), 400, till.CodeUnknownField, "Lines"},
		{"quantity of wrong type", key, withLine("quantity", true), 400, till.CodeWrongType, "lines[0].quantity"},
		{"lines not an array", key, with(func(s map[string]any) { s["lines"] = map[string]any{} }), 400, till.CodeWrongType, "lines"},
		{"amount not a decimal", key, withLine("unit_price", "9,90"), 400, till.CodeInvalidAmount, "lines[0].unit_price"},
		{"too many decimals", key, withLine("unit_price", "9.999"), 400, till.CodeTooManyDecimals, "lines[0].unit_price"},
		{"bad date", key, with(func(s map[string]any) { s["issue_date"] = "2026-02-30" }), 400, till.CodeInvalidDate, "issue_date"},
		{"missing idempotency key", nil, consumerSale(), 400, till.CodeKeyMissing, ""},
		{"invalid idempotency key", map[string]string{"Idempotency-Key": strings.Repeat("k", till.MaxKeyLen+1)}, consumerSale(), 400, till.CodeKeyInvalid, ""},
		{"wrong content type", map[string]string{"Idempotency-Key": "bad-1", "Content-Type": "text/plain"}, consumerSale(), 415, till.CodeUnsupportedMedia, ""},
		{"huge body", key, huge, 413, till.CodeBodyTooLarge, ""},
		{"bad NIP checksum", key, with(func(s map[string]any) { s["buyer"] = map[string]any{"kind": "nip", "nip": "7740001455"} }), 422, till.CodeInvalidNIP, "buyer.nip"},
		{"consumer with NIP", key, with(func(s map[string]any) { s["buyer"] = map[string]any{"kind": "consumer", "nip": buyerNIP} }), 422, till.CodeFieldNotAllowed, "buyer.nip"},
		{"unknown buyer kind", key, with(func(s map[string]any) { s["buyer"] = map[string]any{"kind": "alien"} }), 422, till.CodeUnknownBuyerKind, "buyer.kind"},
		{"bad EU VAT number", key, with(func(s map[string]any) {
			s["buyer"] = map[string]any{"kind": "eu", "eu_code": "DE", "eu_vat": "12-34!", "name": "X GmbH",
				"address": map[string]any{"country": "DE", "line1": "Hauptstraße 1"}}
		}), 422, till.CodeInvalidVATID, "buyer.eu_vat"},
		{"negative quantity", key, withLine("quantity", "-1"), 422, till.CodeQuantityNegative, "lines[0].quantity"},
		{"zero quantity", key, withLine("quantity", "0"), 422, till.CodeQuantityZero, "lines[0].quantity"},
		{"negative price", key, withLine("unit_price", "-9.90"), 422, till.CodePriceNegative, "lines[0].unit_price"},
		{"unknown rate", key, withLine("vat_rate", "22"), 422, till.CodeUnknownVATRate, "lines[0].vat_rate"},
		{"WDT rate for a consumer", key, withLine("vat_rate", "0 WDT"), 422, till.CodeVATRateNotAllowed, "lines[0].vat_rate"},
		{"unknown GTU", key, withLine("gtu", "GTU_14"), 422, till.CodeUnknownGTU, "lines[0].gtu"},
		{"discount above the line", key, withLine("discount", "10.00"), 422, till.CodeDiscountTooLarge, "lines[0].discount"},
		{"empty lines", key, with(func(s map[string]any) { s["lines"] = []any{} }), 422, till.CodeNoLines, "lines"},
		{"line without name", key, withLine("name", ""), 422, till.CodeFieldRequired, "lines[0].name"},
		{"unknown currency", key, with(func(s map[string]any) { s["currency"] = "XYZ" }), 422, till.CodeUnknownCurrency, "currency"},
		{"currency without rate", key, with(func(s map[string]any) { s["currency"] = "EUR" }), 422, till.CodeRateRequired, "exchange_rate"},
		{"rate for PLN", key, with(func(s map[string]any) { s["exchange_rate"] = "4.25" }), 422, till.CodeRateNotAllowed, "exchange_rate"},
		{"unknown payment form", key, with(func(s map[string]any) { s["payment"] = map[string]any{"form": "bitcoin", "paid": true} }), 422, till.CodeUnknownPaymentForm, "payment.form"},
		{"UPR for a consumer", key, with(func(s map[string]any) { s["kind"] = "UPR" }), 422, till.CodeKindNotAllowed, "kind"},
		{"unknown price mode", key, with(func(s map[string]any) { s["price_mode"] = "list" }), 422, till.CodeUnknownPriceMode, "price_mode"},
		{"split payment for a consumer", key, with(func(s map[string]any) { s["split_payment"] = true }), 422, till.CodeSplitNotAllowed, "split_payment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, hdr, raw := h.doHeader(http.MethodPost, "/v1/sales", tt.hdr, tt.body, nil)
			p := decodeProblem(t, raw)
			if code != tt.status || p.Code != tt.code {
				t.Fatalf("got %d %q, want %d %q; body %s", code, p.Code, tt.status, tt.code, raw)
			}
			if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, till.ContentTypeProblem) {
				t.Errorf("Content-Type = %q, want %s", ct, till.ContentTypeProblem)
			}
			if tt.field != "" && !slices.ContainsFunc(p.Errors, func(e till.FieldError) bool { return e.Field == tt.field }) {
				t.Errorf("errors %+v do not name %s", p.Errors, tt.field)
			}
		})
	}
	// A correction of an invoice that does not exist.
	if code, raw := h.do(http.MethodPost, "/v1/invoices/nosuch/corrections", map[string]string{"Idempotency-Key": "bad-kor"},
		map[string]any{"reason": "x", "lines": []any{}}, nil); code != http.StatusNotFound || decodeProblem(t, raw).Code != till.CodeNotFound {
		t.Errorf("correction of an unknown invoice = %d %s, want 404 not_found", code, raw)
	}

	// Nothing was stored and nothing printed.
	assertStored := func(n int) {
		t.Helper()
		list, err := h.store().List(ctx, outbox.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		stats, err := h.store().Stats(ctx, clock())
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, c := range stats.Upload {
			total += c
		}
		if len(list) != n || total != n {
			t.Fatalf("store holds %d invoices (stats %d), want %d", len(list), total, n)
		}
	}
	assertStored(0)
	if received, _ := h.prn.counts(); received != 0 {
		t.Errorf("printer received %d bytes after bad input only, want 0", received)
	}

	// The first good sale takes number 1, and a reused key with another body
	// is refused without a record.
	first := h.sell("bad-1", consumerSale())
	if !strings.HasSuffix(first.Number, "/000001") {
		t.Errorf("first good sale got %s, want number …/000001", first.Number)
	}
	other := consumerSale()
	other["lines"] = []any{line("Kawa źródlana", "szt.", "2", "9.90", "8")}
	if code, raw := h.do(http.MethodPost, "/v1/sales", key, other, nil); code != http.StatusConflict || decodeProblem(t, raw).Code != till.CodeKeyReused {
		t.Errorf("reused key with another body = %d %s, want 409 %s", code, raw, till.CodeKeyReused)
	}
	var replay till.View
	if code, raw := h.do(http.MethodPost, "/v1/sales", key, consumerSale(), &replay); code != http.StatusOK || replay.ID != first.ID {
		t.Errorf("replay with the same body = %d %s, want 200 with %s", code, raw, first.ID)
	}
	assertStored(1)
	if second := h.sell("bad-2", consumerSale()); !strings.HasSuffix(second.Number, "/000002") {
		t.Errorf("second good sale got %s, want number …/000002", second.Number)
	}
	assertStored(2)
}

// testPrintedLinks: every QR code that reached the printer is decoded from
// the pty byte stream; KOD I carries the hash of the stored XML and KOD II
// verifies with the Offline certificate. A duplicate printed after
// acceptance carries KOD I labelled with the KSeF number and no KOD II.
func testPrintedLinks(t *testing.T) {
	h := newHarness(t)
	h.start()
	linkDown(t, h)
	ctx := context.Background()
	var views []till.View
	for _, s := range outageSales() {
		views = append(views, h.sell(s.key, s.body))
	}
	ids := make([]string, len(views))
	for i, v := range views {
		ids[i] = v.ID
	}
	h.waitPrinted(15*time.Second, ids...)

	_, qrs := h.decodePrinted(t, h.prn.bytes())
	byHash := map[[32]byte]*outbox.Invoice{}
	for _, v := range views {
		inv, err := h.store().Get(ctx, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		byHash[sha256.Sum256(inv.XML)] = inv
	}
	kod1, kod2 := map[string]int{}, map[string]int{}
	for _, q := range qrs {
		l := q.Link
		if k2, err := ksef.ParseKOD2(l); err == nil {
			inv := byHash[k2.Hash]
			if inv == nil {
				t.Errorf("KOD II %s: hash matches no stored XML", l)
				continue
			}
			if err := ksef.VerifyKOD2(l, h.cert.Certificate()); err != nil {
				t.Errorf("%s: KOD II does not verify with the Offline certificate: %v", inv.Number, err)
			}
			if k2.CertSerial != h.cert.CertSerial() || l != inv.KOD2 {
				t.Errorf("%s: printed KOD II %s, stored %s (cert %s)", inv.Number, l, inv.KOD2, h.cert.CertSerial())
			}
			if q.Label != "CERTYFIKAT" {
				t.Errorf("%s: KOD II labelled %q, want CERTYFIKAT", inv.Number, q.Label)
			}
			kod2[inv.ID]++
			continue
		}
		k1, err := ksef.ParseKOD1(l)
		if err != nil {
			t.Errorf("printed QR %q is neither KOD I nor KOD II: %v", l, err)
			continue
		}
		inv := byHash[k1.Hash]
		if inv == nil {
			t.Errorf("KOD I %s: hash matches no stored XML", l)
			continue
		}
		if l != inv.KOD1 || k1.SellerNIP != sellerNIP || k1.P1.String() != inv.P1 {
			t.Errorf("%s: printed KOD I %s, stored %s", inv.Number, l, inv.KOD1)
		}
		if tv := h.invoice(inv.ID); tv.Kod1 != l || tv.Hash != hex.EncodeToString(k1.Hash[:]) || tv.Kod1Label != "OFFLINE" {
			t.Errorf("%s: till shows kod1 %s hash %s label %q; printed %s", inv.Number, tv.Kod1, tv.Hash, tv.Kod1Label, l)
		}
		if q.Label != "OFFLINE" {
			t.Errorf("%s: KOD I labelled %q, want OFFLINE", inv.Number, q.Label)
		}
		kod1[inv.ID]++
	}
	for _, v := range views {
		if kod1[v.ID] != 1 || kod2[v.ID] != 1 {
			t.Errorf("%s: printed %d KOD I and %d KOD II, want one of each", v.Number, kod1[v.ID], kod2[v.ID])
		}
	}

	// After acceptance a duplicate shows the KSeF number and no KOD II.
	h.sim.ClearFaults()
	h.waitAccepted(20*time.Second, ids...)
	dup := h.invoice(views[1].ID)
	if dup.Kod1Label != dup.KSeFNumber || dup.Kod2 != "" {
		t.Errorf("accepted invoice shows kod1 label %q and kod2 %q, want its KSeF number %s and no KOD II",
			dup.Kod1Label, dup.Kod2, dup.KSeFNumber)
	}
	from := len(h.prn.bytes())
	if code, raw := h.do(http.MethodPost, "/v1/invoices/"+dup.ID+"/reprint", nil, nil, nil); code != http.StatusAccepted {
		t.Fatalf("reprint = %d %s, want 202", code, raw)
	}
	h.waitFor("the duplicate to print", 10*time.Second, func() bool {
		inv, err := h.store().Get(ctx, dup.ID)
		if err != nil || len(inv.Reprints) == 0 {
			return false
		}
		job, err := h.store().PrintJob(ctx, inv.Reprints[0].JobID)
		return err == nil && job.State == outbox.PrintPrinted
	})
	page, qrs := h.decodePrinted(t, h.prn.bytes()[from:])
	if len(qrs) != 1 || qrs[0].Link != dup.Kod1 || qrs[0].Label != dup.KSeFNumber {
		t.Fatalf("duplicate printed QR codes %+v, want only KOD I %s labelled %s", qrs, dup.Kod1, dup.KSeFNumber)
	}
	if countText(page, dup.KSeFNumber) == 0 || countText(page, "DUPLIKAT") == 0 {
		t.Errorf("duplicate lacks the KSeF number %s or DUPLIKAT:\n%s", dup.KSeFNumber, pageText(page))
	}
	if countText(page, "CERTYFIKAT") != 0 || countText(page, "OFFLINE") != 0 {
		t.Errorf("duplicate after acceptance still labelled OFFLINE/CERTYFIKAT:\n%s", pageText(page))
	}
}

func jsonBytes(v any) ([]byte, error) { return json.Marshal(v) }

// decodeProblem decodes a problem+json answer; anything else fails the test.
func decodeProblem(t *testing.T, raw []byte) till.Problem {
	t.Helper()
	var p till.Problem
	if err := json.Unmarshal(raw, &p); err != nil || p.Code == "" {
		t.Fatalf("answer is not a problem: %s", raw)
	}
	return p
}

// printedQR is one QR symbol decoded from the printer's byte stream, with
// the text line printed under it.
type printedQR struct {
	Link, Label string
}

// decodePrinted renders bytes received by the printer and decodes every QR
// symbol in them with an independent decoder (gozxing).
func (h *harness) decodePrinted(t *testing.T, data []byte) (*escpos.Page, []printedQR) {
	t.Helper()
	page, err := escpos.Render(data, h.prof)
	if err != nil {
		t.Fatalf("render the printer's byte stream: %v", err)
	}
	var out []printedQR
	for _, g := range page.Graphics {
		link, err := escpostest.DecodeQR(page, g)
		if err != nil {
			t.Fatalf("decode the QR code at %v: %v", g.Bounds, err)
		}
		q := printedQR{Link: link}
		for _, l := range page.Lines {
			if text := strings.TrimSpace(l.Text); l.Y >= g.Bounds.Max.Y && text != "" {
				q.Label = text
				break
			}
		}
		out = append(out, q)
	}
	return page, out
}

func countText(p *escpos.Page, s string) int {
	n := 0
	for _, l := range p.Lines {
		n += strings.Count(l.Text, s)
	}
	return n
}

func pageText(p *escpos.Page) string {
	var b strings.Builder
	for _, l := range p.Lines {
		b.WriteString(strings.TrimRight(l.Text, " "))
		b.WriteByte('\n')
	}
	return b.String()
}
