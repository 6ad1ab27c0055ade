package agent_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
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
