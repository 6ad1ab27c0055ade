package agent_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/certstore"
	"github.com/posagent/posagent/certstore/certstoretest"
	"github.com/posagent/posagent/escpos"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/ksef/ksefsim"
	"github.com/posagent/posagent/outbox"
	"github.com/posagent/posagent/receipt"
)

func onlineFirst(o *agent.Options) { o.Policy = agent.PolicyOnlineFirst }

// TestOnlineFirst: the KSeF number arrives within the budget and the receipt
// is the online version: KOD I labelled with the KSeF number, no KOD II.
func TestOnlineFirst(t *testing.T) {
	e := newEnv(t, nil)
	x := e.start(func(o *agent.Options) {
		onlineFirst(o)
		// Login, session and send on a loaded machine; Issue returns as soon
		// as the number is there, so a long budget costs nothing.
		o.OnlineBudget = 20 * time.Second
	}, true)
	got := x.issue("o-1", consumerSale())
	if got.Mode != "online" || got.UploadState != "accepted" || got.KSeFNumber == "" {
		t.Fatalf("Issue = mode %s state %s ksef %q, want online accepted", got.Mode, got.UploadState, got.KSeFNumber)
	}
	if got.KOD1Label != got.KSeFNumber || got.KOD2 != "" {
		t.Errorf("label %q kod2 %q, want the KSeF number and no KOD II", got.KOD1Label, got.KOD2)
	}
	inv := x.get(got.ID)
	waitFor(t, "print", 5*time.Second, func() bool { return len(x.jobsOf(inv)) == 1 })
	d := x.decode(x.jobsOf(inv)[0])
	if len(d.QR) != 1 {
		t.Fatalf("printed %d QR codes, want 1", len(d.QR))
	}
	checkKOD1(t, d.QR[0], inv)
	if !strings.Contains(d.Text, got.KSeFNumber) || strings.Contains(d.Text, "OFFLINE") {
		t.Errorf("receipt text:\n%s", d.Text)
	}
	s := simByNumber(e.sim)[inv.Number]
	if s.Offline || s.Hash != inv.Hash.Base64() {
		t.Errorf("simulator %+v, want online with our hash", s)
	}
}

// TestOnlineFirstFallback: KSeF does not answer within the budget; the same
// record (same bytes, hash and links) is handed over offline24 with both
// codes and uploaded later with offlineMode=true.
func TestOnlineFirstFallback(t *testing.T) {
	tests := []struct {
		name  string
		fault ksefsim.Fault
	}{
		{"slow", ksefsim.Fault{Kind: ksefsim.FaultDelay, Count: ksefsim.Forever, PathPrefix: "/v2/sessions/online/", Delay: 1500 * time.Millisecond}},
		{"down", ksefsim.Fault{Kind: ksefsim.FaultDrop, Count: ksefsim.Forever, PathPrefix: "/v2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			x := e.start(func(o *agent.Options) {
				onlineFirst(o)
				o.OnlineBudget = 400 * time.Millisecond
			}, true)
			// Warm up: log in and open the session, so the budget is spent on the send.
			x.issue("warm", consumerSale())
			if err := e.sim.InjectFault(tt.fault); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			got := x.issue("f-1", b2bSale())
			// Far below the 1.5 s delay times the retries a blocking Issue
			// would wait out, and far above what a loaded machine adds.
			if el := time.Since(start); el > 10*time.Second {
				t.Errorf("Issue took %v with a 400ms budget", el)
			}
			if got.Mode != "offline24" || got.KOD2 == "" || got.KOD1Label != agent.LabelOffline || !got.B2B {
				t.Fatalf("fallback view: mode %s kod2 %q label %s b2b %v", got.Mode, got.KOD2, got.KOD1Label, got.B2B)
			}
			inv := x.get(got.ID)
			if inv.Mode != "online" {
				t.Errorf("stored mode %s, want online (the attempt)", inv.Mode)
			}
			waitFor(t, "print", 5*time.Second, func() bool { return len(x.jobsOf(inv)) == 1 })
			d := x.decode(x.jobsOf(inv)[0])
			if len(d.QR) != 2 || d.QR[1] != inv.KOD2 {
				t.Fatalf("printed %d codes, want KOD I + the stored KOD II", len(d.QR))
			}
			checkKOD1(t, d.QR[0], inv)
			if err := ksef.VerifyKOD2(d.QR[1], e.Cert.Certificate()); err != nil {
				t.Error(err)
			}
			e.sim.ClearFaults()
			x.flush(20 * time.Second)
			after := x.get(got.ID)
			s := simByNumber(e.sim)[after.Number]
			if after.Upload != outbox.UploadAccepted || s.Hash != inv.Hash.Base64() || after.Hash != inv.Hash {
				t.Errorf("after: %s, sim hash %s, want accepted with the same bytes", after.Upload, s.Hash)
			}
			if tt.name == "down" && !s.Offline {
				t.Error("resent without offlineMode")
			}
			if s.Receipts != 1 {
				t.Errorf("simulator receipts %d", s.Receipts)
			}
			if v, _ := x.agent.Invoice(context.Background(), got.ID); v.Mode != "offline24" {
				t.Errorf("view mode after acceptance %s, want offline24 (handed over offline)", v.Mode)
			}
		})
	}
}

// TestB2BHold: with B2BOffline hold, an offline invoice for a Polish
// NIP buyer is stored and uploaded but printed only after acceptance, as the
// online version.
func TestB2BHold(t *testing.T) {
	e := newEnv(t, nil)
	e.Down()
	x := e.start(func(o *agent.Options) { o.B2BOffline = agent.B2BHold }, true)
	b2b := x.issue("h-b2b", b2bSale())
	cons := x.issue("h-cons", consumerSale())
	if !b2b.PrintHeld || cons.PrintHeld {
		t.Errorf("PrintHeld b2b %v consumer %v, want true false", b2b.PrintHeld, cons.PrintHeld)
	}
	waitFor(t, "consumer print", 5*time.Second, func() bool { return x.get(cons.ID).Print == outbox.PrintPrinted })
	time.Sleep(150 * time.Millisecond) // a few dispatcher rounds
	if n := len(x.jobsOf(x.get(b2b.ID))); n != 0 {
		t.Fatalf("held B2B invoice printed %d times before acceptance", n)
	}
	e.sim.ClearFaults()
	x.flush(20 * time.Second)
	inv := x.get(b2b.ID)
	waitFor(t, "held print", 5*time.Second, func() bool { return x.get(b2b.ID).Print == outbox.PrintPrinted })
	d := x.decode(x.jobsOf(inv)[0])
	if len(d.QR) != 1 || !strings.Contains(d.Text, inv.KSeFNumber) {
		t.Errorf("held print: %d codes, text:\n%s", len(d.QR), d.Text)
	}
	checkKOD1(t, d.QR[0], inv)
}

// TestModes: the availability feed switches modes; an override wins.
func TestModes(t *testing.T) {
	e := newEnv(t, nil)
	x := e.start(func(o *agent.Options) { o.UploadInterval = 10 * time.Millisecond }, true)
	ctx := context.Background()
	tests := []struct {
		feed, override string
		wantMode       string
		wantKOD2       bool
	}{
		{ksefsim.StatusAvailable, "", "offline24", true},
		{ksefsim.StatusMaintenance, "", "offline", true},
		{ksefsim.StatusFailure, "", "emergency", true},
		{ksefsim.StatusTotalFailure, "", "total_failure", false},
		{ksefsim.StatusFailure, agent.OverrideOffline24, "offline24", true},
		// An override changes behaviour, not the legal period: without an
		// announced failure the law knows only offline24 (art. 106nda).
		{ksefsim.StatusAvailable, agent.OverrideEmergency, "offline24", true},
		{ksefsim.StatusAvailable, "", "offline24", true},
	}
	for i, tt := range tests {
		if err := e.sim.SetAvailability(tt.feed, "test"); err != nil {
			t.Fatal(err)
		}
		if err := x.agent.SetMode(ctx, tt.override); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "feed "+tt.feed, 5*time.Second, func() bool {
			st, err := x.agent.Status(ctx)
			return err == nil && st.KSeF == tt.feed
		})
		got := x.issue("m-"+string(rune('a'+i)), consumerSale())
		if got.Mode != tt.wantMode || (got.KOD2 != "") != tt.wantKOD2 {
			t.Errorf("feed %s override %q: mode %s kod2 %v, want %s %v", tt.feed, tt.override, got.Mode, got.KOD2 != "", tt.wantMode, tt.wantKOD2)
		}
		if tt.wantMode == "total_failure" && got.Deadline != "" {
			t.Errorf("total failure deadline %q, want none", got.Deadline)
		}
	}
	if err := x.agent.SetMode(ctx, "bogus"); !errorsIs(err, agent.ErrInvalidMode) {
		t.Errorf("SetMode(bogus) = %v, want ErrInvalidMode", err)
	}
	x.flush(20 * time.Second)
}

// TestReceiptVariants: both offline codes decode from the printed bytes on
// 58 and 80 mm paper, native and raster QR, EC and RSA Offline keys.
func TestReceiptVariants(t *testing.T) {
	tests := []struct {
		profile string
		qr      receipt.QRMode
		key     certstore.KeyType
	}{
		{"generic-58", receipt.QRRaster, certstore.KeyRSA},
		{"generic-58", receipt.QRAuto, certstore.KeyEC},
		{"tm-t88v", receipt.QRNative, certstore.KeyRSA},
		{"generic-80", receipt.QRRaster, certstore.KeyEC},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s-%v-%s", tt.profile, tt.qr, tt.key), func(t *testing.T) {
			e := newEnv(t, nil)
			e.Cert = certstoretest.Cert(t, certstore.Offline, tt.key)
			e.Down()
			p, err := escpos.LookupProfile(tt.profile)
			if err != nil {
				t.Fatal(err)
			}
			x := e.start(func(o *agent.Options) {
				o.Profile, o.QR = p, tt.qr
				o.Footer = []string{"Dziękujemy — zapraszamy ponownie!"}
			}, true)
			v := x.issue("rv", b2bSale())
			inv := x.get(v.ID)
			waitFor(t, "print", 5*time.Second, func() bool { return x.get(v.ID).Print == outbox.PrintPrinted })
			d := x.decode(x.jobsOf(inv)[0])
			if len(d.QR) != 2 {
				t.Fatalf("%d codes decoded, want 2", len(d.QR))
			}
			checkKOD1(t, d.QR[0], inv)
			if err := ksef.VerifyKOD2(d.QR[1], e.Cert.Certificate()); err != nil || d.QR[1] != inv.KOD2 {
				t.Errorf("KOD II: %v", err)
			}
			for _, want := range []string{inv.Number, "NIP: " + buyerNIP, "OFFLINE", "CERTYFIKAT"} {
				if !strings.Contains(d.Text, want) {
					t.Errorf("receipt lacks %q:\n%s", want, d.Text)
				}
			}
		})
	}
}
