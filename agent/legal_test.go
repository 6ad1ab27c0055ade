package agent_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/agent/agenttest"
	"github.com/posagent/posagent/internal/testutil"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/ksef/ksefapi"
	"github.com/posagent/posagent/ksef/ksefsim"
	"github.com/posagent/posagent/outbox"
)

// acceptAll makes the fake KSeF accept every invoice sent, with the KSeF
// number number(i) for the i-th send (from 0), and records the send options.
func (u *unit) acceptAll(number func(i int) string) *[]ksefapi.SendOptions {
	var mu sync.Mutex
	var sent []ksefapi.SendOptions
	refs := map[string]string{}
	u.api.AuthenticateFunc = func(context.Context) (*ksefapi.Tokens, error) { return &ksefapi.Tokens{}, nil }
	u.api.OpenOnlineFunc = func(context.Context) (*ksefapi.OnlineSession, error) {
		return &ksefapi.OnlineSession{Reference: "S1"}, nil
	}
	u.api.CloseOnlineFunc = func(context.Context, *ksefapi.OnlineSession) error { return nil }
	u.api.SendInvoiceFunc = func(_ context.Context, _ *ksefapi.OnlineSession, xml []byte, o ksefapi.SendOptions) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		ref := "I" + string(rune('A'+len(sent)))
		refs[ref] = number(len(sent))
		sent = append(sent, o)
		return ref, nil
	}
	u.api.InvoiceStatusFunc = func(_ context.Context, s, i string) (*ksefapi.InvoiceStatus, error) {
		mu.Lock()
		defer mu.Unlock()
		acq := u.clock.Now()
		return &ksefapi.InvoiceStatus{KsefNumber: refs[i], AcquisitionDate: &acq, ReferenceNumber: i,
			Status: ksefapi.StatusInfo{Code: ksefapi.InvoiceSuccess}}, nil
	}
	return &sent
}

// TestCorrectionNamesAnyXSDKSeFNumber: the FA(3) type TNumerKSeF also
// allows the 36-character form of a KSeF number (a dash inside the hex
// part). An original accepted under such a number can be corrected, and the
// correction names it in NrKSeFFaKorygowanej, valid against the FA(3) XSD.
func TestCorrectionNamesAnyXSDKSeFNumber(t *testing.T) {
	u := newUnit(t, nil)
	ctx := context.Background()
	canon := ksef.NewKSeFNumber(sellerNIP, friday, [6]byte{1, 2, 3, 4, 5, 6})
	dashed := canon[:26] + "-" + canon[26:] // NIP-YYYYMMDD-XXXXXX-XXXXXX-CC
	u.acceptAll(func(int) string { return dashed })
	v, err := u.agent.Issue(ctx, agent.IssueRequest{Key: "orig", Sale: consumerSale()})
	if err != nil {
		t.Fatal(err)
	}
	u.run(t)
	waitFor(t, "acceptance", 5*time.Second, func() bool {
		inv, _ := u.store.Get(ctx, v.ID)
		return inv.Upload == outbox.UploadAccepted
	})
	kor, err := u.agent.Correct(ctx, v.ID, agent.CorrectionRequest{Key: "kor", Reason: "zwrot", Type: 2, AfterRows: true})
	if err != nil {
		t.Fatalf("Correct of an original accepted as %s = %v", dashed, err)
	}
	inv, err := u.store.Get(ctx, kor.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte("<NrKSeFFaKorygowanej>" + dashed + "</NrKSeFFaKorygowanej>"); !bytes.Contains(inv.XML, want) {
		t.Errorf("correction XML lacks %s:\n%s", want, inv.XML)
	}
	p := filepath.Join(t.TempDir(), "kor.xml")
	if err := os.WriteFile(p, inv.XML, 0o600); err != nil {
		t.Fatal(err)
	}
	testutil.XMLLintSchema(t, testutil.Official("ksef/schema/schemat_FA(3)_v1-0E.xsd"), p)
}

// clockAtOpen moves the clock to at when the agent opens its online
// session: between the issue of a sale and its send.
type clockAtOpen struct {
	agent.KSeF
	clock *agenttest.Clock
	at    time.Time
}

func (c *clockAtOpen) OpenOnline(ctx context.Context) (*ksefapi.OnlineSession, error) {
	c.clock.Set(c.at)
	return c.KSeF.OpenOnline(ctx)
}

// TestOnlineAttemptAtMidnight: KSeF classifies an invoice whose P_1 is
// earlier than the day it receives it as offline
// (offline/automatyczne-okreslanie-trybu-offline.md), so the online-first
// attempt declares offlineMode by the Warsaw day of the send, like the
// scheduler. A sale issued at 23:59:59.5 and sent at 00:00:00.5 goes out
// offline; one issued and sent before midnight stays online.
func TestOnlineAttemptAtMidnight(t *testing.T) {
	at := func(day, h, m, s, ms int) time.Time {
		return time.Date(2026, 12, day, h, m, s, ms*int(time.Millisecond), ksef.Warsaw)
	}
	tests := []struct {
		name         string
		issued, sent time.Time
		want         bool
	}{
		{"across midnight", at(22, 23, 59, 59, 500), at(23, 0, 0, 0, 500), true},
		{"before midnight", at(22, 23, 59, 58, 500), at(22, 23, 59, 59, 500), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := agenttest.NewEnvAt(t, nil, tt.issued)
			clk := e.Clock
			s := e.Start(
				agenttest.WithOptions(func(o *agent.Options) { o.Policy = agent.PolicyOnlineFirst; o.OnlineBudget = 20 * time.Second }),
				agenttest.WithKSeF(func(k agent.KSeF) agent.KSeF { return &clockAtOpen{KSeF: k, clock: clk, at: tt.sent} }))
			v := s.Issue("midnight", consumerSale())
			if v.P1 != "2026-12-22" {
				t.Fatalf("P_1 = %s, want 2026-12-22", v.P1)
			}
			if v.UploadState != string(outbox.UploadAccepted) {
				t.Fatalf("the online attempt did not get a KSeF number: %+v", v)
			}
			var got *ksefsim.StoredInvoice
			for _, si := range e.Sim.Invoices() {
				if si.InvoiceNumber == v.Number {
					got = &si
				}
			}
			if got == nil {
				t.Fatalf("KSeF does not hold %s", v.Number)
			}
			if got.DeclaredOffline != tt.want || got.Offline != tt.want {
				t.Errorf("sent with offlineMode=%v, KSeF classified offline=%v; want both %v", got.DeclaredOffline, got.Offline, tt.want)
			}
		})
	}
}

// TestSellerStandingAnnotations: the seller's standing annotations reach
// every invoice: cash accounting writes P_16=1 ("metoda kasowa", art. 106e
// ust. 1 pkt 16), a margin row names the seller's procedure in PMarzy
// (art. 106e ust. 1 pkt 24) and shows no rate (art. 106e ust. 3). The
// stored XML is valid FA(3) and KSeF accepts it.
func TestSellerStandingAnnotations(t *testing.T) {
	s := agenttest.NewStack(t, agenttest.WithOptions(func(o *agent.Options) {
		o.Seller.CashAccounting = true
		o.Seller.MarginScheme = ksef.MarginUsedGoods
	}))
	sale := consumerSale()
	sale.Lines = append(sale.Lines, line("Rower używany", "1", "350.00", string(ksef.RateMargin)))
	v := s.Issue("margin", sale)
	s.Flush(0)
	inv := s.Get(v.ID)
	if inv.Upload != outbox.UploadAccepted {
		t.Fatalf("upload state %s, want accepted", inv.Upload)
	}
	for _, want := range []string{"<P_16>1</P_16>", "<P_PMarzy>1</P_PMarzy>", "<P_PMarzy_3_1>1</P_PMarzy_3_1>", "<P_13_11>350.00</P_13_11>"} {
		if !bytes.Contains(inv.XML, []byte(want)) {
			t.Errorf("XML lacks %s", want)
		}
	}
	if bytes.Contains(inv.XML, []byte("<P_PMarzyN>")) || bytes.Count(inv.XML, []byte("<P_12>")) != len(sale.Lines)-1 {
		t.Errorf("margin row carries a rate, or PMarzyN is written:\n%s", inv.XML)
	}
	p := filepath.Join(t.TempDir(), "margin.xml")
	if err := os.WriteFile(p, inv.XML, 0o600); err != nil {
		t.Fatal(err)
	}
	testutil.XMLLintSchema(t, testutil.Official("ksef/schema/schemat_FA(3)_v1-0E.xsd"), p)

	// A seller without a margin scheme cannot sell margin rows.
	plain := agenttest.NewStack(t)
	_, err := plain.Agent.Issue(context.Background(), agent.IssueRequest{Key: "m", Sale: sale})
	var ve *ksef.ValidationError
	if !errors.Is(err, agent.ErrInvalidRequest) || !errors.As(err, &ve) || ve.Field != "lines[2].vat_rate" {
		t.Errorf("margin row without a scheme: %v, want a lines[2].vat_rate error", err)
	}
}

// waitFeed waits until the agent has seen the feed report status. The
// agent probes the feed once per ProbeInterval of its clock, so a stopped
// clock is nudged a second at a time.
func waitFeed(t *testing.T, s *agenttest.Stack, status string) {
	t.Helper()
	waitFor(t, "feed "+status, 10*time.Second, func() bool {
		s.Clock.Add(time.Second)
		st, err := s.Agent.Status(context.Background())
		return err == nil && st.KSeF == status
	})
}

// TestOverrideDoesNotMoveLegalPeriod: the legal period of a failure follows
// the announcements (art. 106nf ustawy o VAT; tryby-offline.md: 7 business
// days after the announced end). An emergency override kept after the feed
// reports KSeF available changes how sales are issued, not the period: the
// failure's invoice keeps its deadline, and a new sale under the override is
// offline24 with offline24's deadline.
func TestOverrideDoesNotMoveLegalPeriod(t *testing.T) {
	monday := time.Date(2026, 12, 7, 9, 0, 0, 0, ksef.Warsaw)
	e := agenttest.NewEnvAt(t, nil, monday)
	e.Down() // nothing is accepted: the deadlines stay in the store's view
	if err := e.Sim.SetAvailability(ksefsim.StatusFailure, "Awaria KSeF"); err != nil {
		t.Fatal(err)
	}
	s := e.Start()
	ctx := context.Background()
	waitFeed(t, s, ksefsim.StatusFailure)
	if err := s.Agent.SetMode(ctx, agent.OverrideEmergency); err != nil {
		t.Fatal(err)
	}
	v := s.Issue("in-failure", consumerSale())
	if v.Mode != "emergency" {
		t.Fatalf("sale in the announced failure: mode %s, want emergency", v.Mode)
	}
	if err := e.Sim.SetAvailability(ksefsim.StatusAvailable, ""); err != nil {
		t.Fatal(err)
	}
	waitFeed(t, s, ksefsim.StatusAvailable)
	// 7 business days after Monday 2026-12-07: Wednesday 2026-12-16.
	want := "2026-12-16"
	e.Clock.Add(2 * 24 * time.Hour) // Wednesday; the override is still emergency
	w := s.Issue("after-failure", consumerSale())
	if w.Mode != "offline24" || w.Deadline != "2026-12-10" {
		t.Errorf("sale under the override after the failure: mode %s deadline %s, want offline24 2026-12-10", w.Mode, w.Deadline)
	}
	// An override change brings the stored deadlines up to the periods now.
	if err := s.Agent.SetMode(ctx, agent.OverrideOffline24); err != nil {
		t.Fatal(err)
	}
	got, err := s.Agent.Invoice(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Deadline != want {
		t.Errorf("deadline of the failure's invoice = %s, want %s (the period ended when the feed said so)", got.Deadline, want)
	}
	j, err := s.Agent.Journal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(j) != 1 || j[0].Mode != "emergency" || j[0].Source != outbox.SourceFeed || j[0].Start != "2026-12-07" || j[0].End != "2026-12-07" {
		t.Errorf("journal = %+v, want one emergency from the feed, 2026-12-07..2026-12-07", j)
	}
}

// TestOperatorAnnouncement: without the feed, the operator records the MF
// announcement with its reference; the deadlines follow it from its start
// to the end the operator records, and the journal keeps both.
func TestOperatorAnnouncement(t *testing.T) {
	monday := time.Date(2026, 12, 7, 9, 0, 0, 0, ksef.Warsaw)
	e := agenttest.NewEnvAt(t, nil, monday)
	e.Down()
	s := e.Start()
	ctx := context.Background()
	for _, bad := range []agent.Announcement{
		{Mode: "emergency"},
		{Mode: "offline24", Reference: "x"},
		{Mode: "emergency", Reference: "x", Start: ksef.DateOf(monday).AddDays(1)},
	} {
		if err := s.Agent.Announce(ctx, bad); !errors.Is(err, agent.ErrInvalidRequest) {
			t.Errorf("Announce(%+v) = %v, want ErrInvalidRequest", bad, err)
		}
	}
	const ref = "BIP MF: komunikat o awarii KSeF z 7.12.2026"
	if err := s.Agent.Announce(ctx, agent.Announcement{Mode: "emergency", Reference: ref}); err != nil {
		t.Fatal(err)
	}
	v := s.Issue("announced", consumerSale())
	if v.Mode != "emergency" {
		t.Fatalf("sale in the recorded failure: mode %s, want emergency", v.Mode)
	}
	e.Clock.Add(24 * time.Hour) // Tuesday: the operator records the end
	if err := s.Agent.SetMode(ctx, agent.OverrideAuto); err != nil {
		t.Fatal(err)
	}
	got, err := s.Agent.Invoice(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	// 7 business days after Tuesday 2026-12-08: Thursday 2026-12-17.
	if got.Deadline != "2026-12-17" {
		t.Errorf("deadline = %s, want 2026-12-17", got.Deadline)
	}
	j, err := s.Agent.Journal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(j) != 1 || j[0].Source != outbox.SourceOperator || j[0].Reference != ref || j[0].Start != "2026-12-07" || j[0].End != "2026-12-08" {
		t.Errorf("journal = %+v", j)
	}
}

// TestTotalFailureKeptOutside: in a total failure there is no obligation to
// send (tryby-offline.md, "Tryb awarii całkowitej"): the invoice is kept,
// listed and never uploaded by default, and the journal records the
// failure's start and end, the feed's announcement and the attempts to reach
// KSeF that failed. With the operator's opt-in it is sent, offlineMode=true.
func TestTotalFailureKeptOutside(t *testing.T) {
	monday := time.Date(2026, 12, 7, 9, 0, 0, 0, ksef.Warsaw)
	e := agenttest.NewEnvAt(t, nil, monday)
	e.Down() // the offline24 invoice below cannot be sent: the agent keeps trying
	s := e.Start()
	ctx := context.Background()
	before := s.Issue("before", consumerSale())
	if err := e.Sim.SetAvailability(ksefsim.StatusTotalFailure, "Awaria całkowita KSeF"); err != nil {
		t.Fatal(err)
	}
	waitFeed(t, s, ksefsim.StatusTotalFailure)
	v := s.Issue("tf", consumerSale())
	if v.Mode != "total_failure" || v.UploadState != string(outbox.UploadOutside) || v.KOD1 != "" || v.Deadline != "" {
		t.Fatalf("total-failure sale: %+v", v)
	}
	// A correction in a total failure is issued at once, outside KSeF too,
	// naming its original as issued outside KSeF (tryby-offline.md).
	kor, err := s.Agent.Correct(ctx, v.ID, agent.CorrectionRequest{Key: "tf-kor", Reason: "zwrot", AfterRows: true})
	if err != nil || kor.Pending != nil || kor.Mode != "total_failure" || kor.UploadState != string(outbox.UploadOutside) {
		t.Fatalf("correction in the total failure = %+v, %v; want issued at once, outside", kor, err)
	}
	if x := s.Get(kor.ID).XML; !bytes.Contains(x, []byte("<NrKSeFN>1</NrKSeFN>")) {
		t.Errorf("the correction of an invoice outside KSeF lacks NrKSeFN=1")
	}
	waitFor(t, "failed probes in the journal", 10*time.Second, func() bool {
		j, err := s.Agent.Journal(ctx)
		return err == nil && len(j) == 1 && len(j[0].Probes) > 0
	})
	e.Sim.ClearFaults()
	if err := e.Sim.SetAvailability(ksefsim.StatusAvailable, ""); err != nil {
		t.Fatal(err)
	}
	waitFeed(t, s, ksefsim.StatusAvailable)
	s.Flush(0)
	for _, id := range []string{v.ID, kor.ID} {
		if inv := s.Get(id); inv.Upload != outbox.UploadOutside {
			t.Errorf("after the failure %s is %s, want outside (not uploaded)", inv.Number, inv.Upload)
		}
	}
	if inv := s.Get(before.ID); inv.Upload != outbox.UploadAccepted {
		t.Errorf("the offline24 invoice is %s, want accepted", inv.Upload)
	}
	for _, si := range e.Sim.Invoices() {
		if si.InvoiceNumber == v.Number {
			t.Errorf("KSeF holds the total-failure invoice %s", v.Number)
		}
	}
	list, err := s.Agent.Invoices(ctx, agent.Filter{State: "outside"})
	if err != nil || len(list) != 2 || list[0].ID != v.ID {
		t.Errorf("Invoices(outside) = %+v, %v", list, err)
	}
	j, err := s.Agent.Journal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(j) != 1 || j[0].Mode != "total_failure" || j[0].Start != "2026-12-07" || j[0].End != "2026-12-07" ||
		!strings.Contains(j[0].Reference, "TOTAL_FAILURE") || len(j[0].Probes) == 0 {
		t.Fatalf("journal = %+v, want the total failure with its reference and failed probes", j)
	}
	s.Stop()

	// The opt-in: a restart with UploadTotalFailure sends it, declared offline.
	s = e.Start(agenttest.WithOptions(func(o *agent.Options) { o.UploadTotalFailure = true }))
	s.Flush(0)
	if inv := s.Get(v.ID); inv.Upload != outbox.UploadAccepted {
		t.Fatalf("with the opt-in the invoice is %s, want accepted", inv.Upload)
	}
	for _, si := range e.Sim.Invoices() {
		if si.InvoiceNumber == v.Number && !si.DeclaredOffline {
			t.Errorf("the total-failure invoice was sent with offlineMode=false")
		}
	}
}

// TestDeferredCorrection: a correction is issued and sent only once its
// original has its KSeF number, and names it (tryby-offline.md; FA(3)
// DaneFaKorygowanej with NrKSeF=1 and NrKSeFFaKorygowanej). Asked for
// during an outage it is stored as pending: a slip says so, the original
// goes to the front of the upload queue, two requests keep their order
// across a restart, and the corrections are issued, printed with their
// codes and sent once KSeF accepts the original.
func TestDeferredCorrection(t *testing.T) {
	e := newEnv(t, nil)
	e.Down()
	x := e.start(nil, true)
	ctx := context.Background()
	first := x.issue("first", consumerSale()) // queued ahead of the original
	orig := x.issue("orig", consumerSale())
	req := func(key string, lines ...ksef.Line) agent.CorrectionRequest {
		return agent.CorrectionRequest{Key: key, Reason: "zwrot " + key, Type: 2, AfterRows: true, Lines: lines}
	}
	k1, err := x.agent.Correct(ctx, orig.ID, req("k1", line("Kawa czarna", "1", "12.30", "23"), line("Drożdżówka", "1", "4.99", "5")))
	if err != nil || k1.Pending == nil || k1.Pending.Corrects != orig.ID {
		t.Fatalf("Correct before the KSeF number = %+v, %v; want pending", k1, err)
	}
	k2, err := x.agent.Correct(ctx, orig.ID, req("k2"))
	if err != nil || k2.Pending == nil || k2.Pending.ID <= k1.Pending.ID {
		t.Fatalf("second Correct = %+v, %v", k2, err)
	}
	waitFor(t, "the slips printed", 10*time.Second, func() bool {
		o := x.get(orig.ID)
		n := 0
		for _, sl := range o.Slips {
			if j, err := x.store.PrintJob(ctx, sl.JobID); err == nil && j.State == outbox.PrintPrinted {
				n++
			}
		}
		return n == 2
	})
	var slip decoded
	for _, j := range x.prn.Jobs() {
		if j.ID == x.get(orig.ID).Slips[0].JobID {
			slip = x.decode(j)
		}
	}
	flat := strings.Join(strings.Fields(slip.Text), " ")
	if len(slip.QR) != 0 || !strings.Contains(flat, "Zlecenie korekty") || !strings.Contains(flat, orig.Number) || !strings.Contains(flat, "zwrot k1") {
		t.Errorf("slip: %d codes, text:\n%s", len(slip.QR), slip.Text)
	}

	// A restart keeps the requests; a replay returns the same one.
	x.stop()
	x = e.start(nil, true)
	again, err := x.agent.Correct(ctx, orig.ID, req("k1", line("Kawa czarna", "1", "12.30", "23"), line("Drożdżówka", "1", "4.99", "5")))
	if err != nil || again.Pending == nil || again.Pending.ID != k1.Pending.ID || !again.Replayed {
		t.Fatalf("replay after restart = %+v, %v", again, err)
	}
	if v, _ := x.agent.Invoice(ctx, orig.ID); len(v.PendingCorrections) != 2 {
		t.Errorf("the original's pending corrections = %v, want 2", v.PendingCorrections)
	}

	e.Sim.ClearFaults()
	x.flush(20 * time.Second)
	o := x.get(orig.ID)
	if o.Upload != outbox.UploadAccepted {
		t.Fatalf("original %s", o.Upload)
	}
	sim := e.Sim.Invoices()
	order := map[string]int{}
	for i, s := range sim {
		order[s.InvoiceNumber] = i
	}
	if order[o.Number] > order[first.Number] {
		t.Errorf("KSeF received the original after %s: it was not moved to the front", first.Number)
	}
	var kors []*outbox.Invoice
	for _, key := range []string{"k1", "k2"} {
		c, err := x.store.BySaleID(ctx, key)
		if err != nil {
			t.Fatalf("correction %s not issued: %v", key, err)
		}
		kors = append(kors, c)
	}
	if kors[0].Number >= kors[1].Number || order[kors[0].Number] > order[kors[1].Number] || order[kors[0].Number] < order[o.Number] {
		t.Errorf("corrections %s, %s out of order (KSeF order %v)", kors[0].Number, kors[1].Number, order)
	}
	xsd := testutil.Official("ksef/schema/schemat_FA(3)_v1-0E.xsd")
	for _, c := range kors {
		if c.Upload != outbox.UploadAccepted || c.Kind != ksef.KindKOR || c.CorrectionOf != orig.ID {
			t.Errorf("%s: %s %s of %s", c.Number, c.Upload, c.Kind, c.CorrectionOf)
		}
		if !bytes.Contains(c.XML, []byte("<NrKSeF>1</NrKSeF>")) || !bytes.Contains(c.XML, []byte("<NrKSeFFaKorygowanej>"+o.KSeFNumber+"</NrKSeFFaKorygowanej>")) ||
			bytes.Contains(c.XML, []byte("NrKSeFN")) {
			t.Errorf("%s does not name the original's KSeF number:\n%s", c.Number, c.XML)
		}
		p := filepath.Join(t.TempDir(), "kor.xml")
		if err := os.WriteFile(p, c.XML, 0o600); err != nil {
			t.Fatal(err)
		}
		testutil.XMLLintSchema(t, xsd, p)
		waitFor(t, "the correction printed", 10*time.Second, func() bool { return x.get(c.ID).Print == outbox.PrintPrinted })
		if d := x.decode(x.jobsOf(x.get(c.ID))[0]); len(d.QR) == 0 || !strings.Contains(d.Text, c.Number) {
			t.Errorf("%s printed with %d codes:\n%s", c.Number, len(d.QR), d.Text)
		}
	}
	if v, _ := x.agent.Invoice(ctx, orig.ID); len(v.PendingCorrections) != 0 {
		t.Errorf("pending corrections left: %v", v.PendingCorrections)
	}
	// The till's replay now returns the issued correction.
	done, err := x.agent.Correct(ctx, orig.ID, req("k2"))
	if err != nil || done.Pending != nil || done.ID != kors[1].ID || !done.Replayed {
		t.Errorf("replay after the issue = %+v, %v; want %s replayed", done, err, kors[1].ID)
	}
}
