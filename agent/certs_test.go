package agent_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/certstore"
	"github.com/posagent/posagent/certstore/certstoretest"
	"github.com/posagent/posagent/internal/metrics"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/ksef/ksefsim"
	"github.com/posagent/posagent/outbox"
)

// expiredCert is an Offline certificate whose validity ended an hour ago.
func expiredCert(t *testing.T) *certstore.Cert {
	t.Helper()
	now := time.Now()
	certPEM, keyPEM, err := certstore.Generate(certstore.Offline, certstoretest.NIP, certstore.KeyEC, now.Add(-3*time.Hour), 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c, err := certstore.Parse(certstore.Offline, append(certPEM, keyPEM...), "", now.Add(-2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// revoke tells the agent that KSeF reports its Offline certificate in state.
func revoke(x *h, state string) {
	c := x.Cert.Certificate()
	x.agent.SetCertificate(agent.CertState{Usage: agent.UsageOffline, Serial: x.Cert.CertSerial(),
		NotBefore: c.NotBefore, NotAfter: c.NotAfter, KSeF: state, Checked: time.Now()})
}

func countInvoices(t *testing.T, st *outbox.Store) int {
	t.Helper()
	list, err := st.List(context.Background(), outbox.Filter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}

// TestOfflineCertificateInvalid (issue 18 point 5): with an Offline
// certificate that cannot sign a KOD II that verifies (expired, revoked,
// suspended), an offline sale is refused with ErrOfflineCertificateInvalid
// and nothing is stored, so the till can hand over a receipt; a replay of a
// sale issued before still returns its invoice; total failure (no codes) is
// still issued. Source: KOD II is verified against an active Offline
// certificate (ksef-api.md §1.2, §2: "A revoked, blocked or expired
// certificate makes KOD II verification fail").
func TestOfflineCertificateInvalid(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(e *env)
		invalidate func(x *h)
		reason     string
	}{
		{"Expired", func(e *env) { e.Cert = expiredCert(t) }, nil, "expired on"},
		{"Revoked", nil, func(x *h) { revoke(x, agent.CertRevoked) }, "revoked"},
		{"Blocked", nil, func(x *h) { revoke(x, agent.CertBlocked) }, "suspended"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			if tt.setup != nil {
				tt.setup(e)
			}
			reg := metrics.NewRegistry()
			x := e.start(func(o *agent.Options) { o.Metrics = reg }, false)
			var before *agent.Issued
			if tt.invalidate != nil {
				before = x.issue("before", consumerSale())
				tt.invalidate(x)
			}
			n := countInvoices(t, x.store)
			for _, mode := range []string{agent.OverrideAuto, agent.OverrideOffline24, agent.OverrideOffline, agent.OverrideEmergency} {
				if err := x.agent.SetMode(context.Background(), mode); err != nil {
					t.Fatal(err)
				}
				_, err := x.agent.Issue(context.Background(), agent.IssueRequest{Key: "refused-" + mode, Sale: consumerSale()})
				var ce *agent.OfflineCertError
				if !errors.Is(err, agent.ErrOfflineCertificateInvalid) || !errors.As(err, &ce) || !strings.Contains(ce.Reason, tt.reason) {
					t.Fatalf("mode %q: Issue = %v, want ErrOfflineCertificateInvalid (%s)", mode, err, tt.reason)
				}
			}
			if got := countInvoices(t, x.store); got != n {
				t.Fatalf("%d invoices stored after refusals, want %d", got, n)
			}
			if before != nil {
				got, err := x.agent.Issue(context.Background(), agent.IssueRequest{Key: "before", Sale: consumerSale()})
				if err != nil || !got.Replayed || got.ID != before.ID {
					t.Fatalf("replay of a sale issued before = %+v, %v", got, err)
				}
				// A correction of an original in KSeF is issued at once, and
				// would be handed over offline: refused too. (One of an
				// original without a KSeF number is only a pending request.)
				acceptInStore(t, x.store, before.ID)
				_, err = x.agent.Correct(context.Background(), before.ID, agent.CorrectionRequest{Key: "kor", Reason: "zwrot", AfterRows: true})
				if !errors.Is(err, agent.ErrOfflineCertificateInvalid) {
					t.Errorf("Correct = %v, want ErrOfflineCertificateInvalid", err)
				}
			}
			// Total failure carries no QR codes: still issued. (Announced:
			// an override alone opens no legal period.)
			if err := x.agent.Announce(context.Background(), agent.Announcement{Mode: agent.OverrideTotalFailure, Reference: "BIP MF test"}); err != nil {
				t.Fatal(err)
			}
			if got := x.issue("total", consumerSale()); got.Mode != ksef.ModeTotalFailure.String() {
				t.Errorf("total failure sale mode %s", got.Mode)
			}
			st, err := x.agent.Status(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(st.OfflineRefused, tt.reason) || len(st.Certificates) != 1 {
				t.Errorf("status: offline_refused %q, certificates %+v", st.OfflineRefused, st.Certificates)
			}
			scrape := scrapeOf(t, reg)
			wantRevoked := `posagent_certificate_revoked{usage="offline"} 0`
			if tt.invalidate != nil {
				wantRevoked = `posagent_certificate_revoked{usage="offline"} 1`
			}
			if !strings.Contains(scrape, wantRevoked) || !strings.Contains(scrape, `posagent_certificate_expiry_timestamp_seconds{usage="offline"}`) {
				t.Errorf("metrics lack %s:\n%s", wantRevoked, scrape)
			}
		})
	}
}

// TestOfflineCertificateInvalidOnline: online issuing keeps working with an
// unusable Offline certificate; a sale that misses its online budget is not
// handed over offline (its KOD II would not verify): it prints once KSeF
// accepted it.
func TestOfflineCertificateInvalidOnline(t *testing.T) {
	e := newEnv(t, nil)
	e.Cert = expiredCert(t)
	x := e.start(func(o *agent.Options) {
		onlineFirst(o)
		o.OnlineBudget = 20 * time.Second
	}, true)
	got := x.issue("online", consumerSale())
	if got.Mode != "online" || got.UploadState != "accepted" || got.KOD2 != "" {
		t.Fatalf("online sale = mode %s state %s kod2 %q", got.Mode, got.UploadState, got.KOD2)
	}

	x.stop()
	x = e.start(func(o *agent.Options) {
		onlineFirst(o)
		o.OnlineBudget = 300 * time.Millisecond
	}, true)
	x.issue("warm", consumerSale()) // log in and open the session
	if err := e.sim.InjectFault(ksefsim.Fault{Kind: ksefsim.FaultDelay, Count: 1, PathPrefix: "/v2/sessions/online/", Delay: time.Second}); err != nil {
		t.Fatal(err)
	}
	slow := x.issue("slow", consumerSale())
	if slow.UploadState == "accepted" {
		t.Skip("KSeF answered within the budget despite the delay")
	}
	if !slow.PrintHeld || slow.PrintState == "printed" {
		t.Fatalf("a sale past its budget = held %v print %s, want held until accepted", slow.PrintHeld, slow.PrintState)
	}
	x.flush(10 * time.Second)
	waitFor(t, "the held receipt", 10*time.Second, func() bool {
		return x.get(slow.ID).Upload == outbox.UploadAccepted && len(x.jobsOf(x.get(slow.ID))) == 1
	})
	d := x.decode(x.jobsOf(x.get(slow.ID))[0])
	if len(d.QR) != 1 || strings.Contains(d.Text, "CERTYFIKAT") {
		t.Errorf("the held receipt prints %d codes:\n%s", len(d.QR), d.Text)
	}
}

// TestTokenAlarm: on the injected clock, token auth is only a countdown in
// 2026 and an alarm from 2027-01-01 Warsaw (ksef.TokenAuthEnd); failed
// logins count in posagent_ksef_auth_failures_total.
func TestTokenAlarm(t *testing.T) {
	e := newEnv(t, nil)
	reg := metrics.NewRegistry()
	e.clock.Set(time.Date(2026, 12, 31, 23, 59, 0, 0, ksef.Warsaw))
	x := e.start(func(o *agent.Options) { o.AuthMethod, o.Metrics = "token", reg }, false)
	st, err := x.agent.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Auth.Method != "token" || st.Auth.Alarm != "" || !st.Auth.TokensEnd.Equal(ksef.TokenAuthEnd) {
		t.Fatalf("auth status at 23:59 = %+v", st.Auth)
	}
	e.clock.Add(2 * time.Minute)
	x.agent.LoginResult("token", errors.New("status 450"))
	x.agent.LoginResult("token", errors.New("status 450"))
	st, err = x.agent.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(st.Auth.Alarm, "stopped working on 2027-01-01") || st.Auth.FailedLogins != 2 {
		t.Fatalf("auth status at 00:01 = %+v", st.Auth)
	}
	scrape := scrapeOf(t, reg)
	for _, want := range []string{"posagent_ksef_auth_failures_total 2", `posagent_ksef_auth_method{method="token"} 1`, `posagent_ksef_auth_method{method="xades"} 0`} {
		if !strings.Contains(scrape, want) {
			t.Errorf("metrics lack %q:\n%s", want, scrape)
		}
	}
	x.agent.LoginResult("token", nil)
	if st, _ := x.agent.Status(context.Background()); st.Auth.FailedLogins != 0 {
		t.Errorf("failures after a good login = %d", st.Auth.FailedLogins)
	}
}

// TestSetSigner: a renewed Offline certificate signs the next sale's KOD II
// and clears a revocation reported for the old one.
func TestSetSigner(t *testing.T) {
	e := newEnv(t, nil)
	x := e.start(nil, false)
	revoke(x, agent.CertRevoked)
	if _, err := x.agent.Issue(context.Background(), agent.IssueRequest{Key: "a", Sale: consumerSale()}); !errors.Is(err, agent.ErrOfflineCertificateInvalid) {
		t.Fatalf("Issue with a revoked certificate = %v", err)
	}
	fresh := certstoretest.Cert(t, certstore.Offline, certstore.KeyEC)
	x.agent.SetSigner(fresh)
	got := x.issue("b", consumerSale())
	k2, err := ksef.ParseKOD2(got.KOD2)
	if err != nil || k2.CertSerial != fresh.CertSerial() {
		t.Fatalf("KOD II %q (%v), want serial %s", got.KOD2, err, fresh.CertSerial())
	}
	// A report about the old certificate no longer counts.
	revoke(x, agent.CertRevoked)
	x.issue("c", consumerSale())
}

func scrapeOf(t *testing.T, reg *metrics.Registry) string {
	t.Helper()
	var b strings.Builder
	if _, err := reg.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
