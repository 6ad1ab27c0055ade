package certmgr_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posagent/posagent/certmgr"
	"github.com/posagent/posagent/certstore"
	"github.com/posagent/posagent/certstore/certstoretest"
	"github.com/posagent/posagent/ksef/ksefapi"
	"github.com/posagent/posagent/ksef/ksefsim"
	"github.com/posagent/posagent/ksef/ksefsim/ksefsimtest"
)

// clock is a settable clock shared by the simulator, the client, the store
// and the manager.
type clock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// counting wraps the client and counts enrollment requests; failWait makes
// the next WaitEnrollment fail as a lost connection would, cancelWait makes
// KSeF cancel the enrollment it waits for (status 550, kept as its state).
type counting struct {
	*ksefapi.Client
	mu         sync.Mutex // guards enrolls, failWait, cancelWait and cancelled
	enrolls    int
	failWait   bool
	cancelWait bool
	cancelled  map[string]bool
}

func (c *counting) Enroll(ctx context.Context, r ksefapi.EnrollRequest) (*ksefapi.Enrollment, error) {
	c.mu.Lock()
	c.enrolls++
	c.mu.Unlock()
	return c.Client.Enroll(ctx, r)
}

func (c *counting) WaitEnrollment(ctx context.Context, ref string) (string, error) {
	c.mu.Lock()
	fail := c.failWait
	c.failWait = false
	if c.cancelWait {
		c.cancelWait = false
		if c.cancelled == nil {
			c.cancelled = map[string]bool{}
		}
		c.cancelled[ref] = true
	}
	cancelled := c.cancelled[ref]
	c.mu.Unlock()
	if fail {
		return "", &ksefapi.APIError{Op: "enrollment status", Err: errors.New("connection reset")}
	}
	if cancelled {
		return "", &ksefapi.StatusError{Op: "enrollment", Code: ksefapi.EnrollmentCancelled, Description: "Operacja została anulowana przez system"}
	}
	return c.Client.WaitEnrollment(ctx, ref)
}

func (c *counting) count() int { c.mu.Lock(); defer c.mu.Unlock(); return c.enrolls }

type rig struct {
	t     *testing.T
	clk   *clock
	sim   *ksefsimtest.Sim
	store *certstore.Store
	api   *counting
	mgr   *certmgr.Manager
	logs  *bytes.Buffer

	mu        sync.Mutex // guards installed and statuses
	installed []string
	statuses  []certmgr.Status
}

// newRig starts a simulator and a store holding a self-signed (TE-style)
// Authentication certificate, and a manager whose client logs in with it
// (xades) or with the simulator's token.
func newRig(t *testing.T, simOpts ksefsim.Options, xades bool, edit func(*certmgr.Options)) *rig {
	t.Helper()
	r := &rig{t: t, clk: &clock{t: time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)}, logs: &bytes.Buffer{}}
	simOpts.Now = r.clk.Now
	simOpts.DisableRateLimits = true
	r.sim = ksefsimtest.Start(t, &simOpts)
	r.store = certstoretest.NewStore(t, r.clk.Now)
	certPEM, keyPEM, err := certstore.Generate(certstore.Authentication, ksefsimtest.NIP, certstore.KeyEC, r.clk.Now().Add(-time.Hour), 2*365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.store.Import(certstore.Authentication, append(certPEM, keyPEM...), ""); err != nil {
		t.Fatal(err)
	}
	var auth ksefapi.Credentials = ksefapi.TokenAuth{Token: ksefsimtest.Token}
	if xades {
		c, err := r.store.Load(certstore.Authentication)
		if err != nil {
			t.Fatal(err)
		}
		auth = ksefapi.XAdESAuth{Signer: c, Certificate: c.Certificate()}
	}
	client, err := ksefapi.New(ksefapi.Config{BaseURL: r.sim.Base, HTTPClient: &http.Client{Timeout: 10 * time.Second},
		Context: ksefapi.ContextIdentifier{Type: ksefapi.ContextNip, Value: ksefsimtest.NIP}, Auth: auth, Now: r.clk.Now,
		PollInterval: time.Millisecond, PollMax: 5 * time.Millisecond, PollTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r.api = &counting{Client: client}
	opts := certmgr.Options{Store: r.store, API: r.api, Name: "posagent KASA/01", AutoRenew: true, Now: r.clk.Now,
		Logger: slog.New(slog.NewTextHandler(r.logs, nil)),
		OnInstalled: func(u certstore.Usage, c *certstore.Cert) {
			r.mu.Lock()
			r.installed = append(r.installed, u.String()+":"+c.CertSerial())
			r.mu.Unlock()
			if u == certstore.Authentication {
				if err := client.SetCredentials(ksefapi.XAdESAuth{Signer: c, Certificate: c.Certificate()}); err != nil {
					t.Error(err)
				}
			}
		},
		OnStatus: func(s certmgr.Status) {
			r.mu.Lock()
			r.statuses = append(r.statuses, s)
			r.mu.Unlock()
		},
	}
	if edit != nil {
		edit(&opts)
	}
	r.mgr, err = certmgr.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	r.t.Cleanup(cancel)
	return ctx
}

func (r *rig) info(u certstore.Usage) certstore.Info {
	r.t.Helper()
	list, err := r.store.List()
	if err != nil {
		r.t.Fatal(err)
	}
	for _, i := range list {
		if i.Usage == u {
			return i
		}
	}
	r.t.Fatalf("no %s certificate installed", u)
	return certstore.Info{}
}

func (r *rig) caCert() *x509.Certificate {
	b, _ := pem.Decode(r.sim.CACertificatePEM())
	ca, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		r.t.Fatal(err)
	}
	return ca
}

// TestEnroll: both certificate types come from KSeF's CA with the keyUsage of
// their type, the CSR carrying the login certificate's attributes; the
// record says Active and the caller is told.
func TestEnroll(t *testing.T) {
	r := newRig(t, ksefsim.Options{}, true, nil)
	for _, u := range []certstore.Usage{certstore.Offline, certstore.Authentication} {
		info, err := r.mgr.Enroll(r.ctx(), u)
		if err != nil {
			t.Fatalf("Enroll(%s): %v", u, err)
		}
		c, err := r.store.Load(u)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Certificate().CheckSignatureFrom(r.caCert()); err != nil {
			t.Errorf("%s certificate not issued by KSeF's CA: %v", u, err)
		}
		if !strings.Contains(info.Subject, "VATPL-"+ksefsimtest.NIP) {
			t.Errorf("subject %s lost the enrollment data", info.Subject)
		}
		rec, err := r.store.Record(u)
		if err != nil || rec.Serial != info.Serial || rec.State != certstore.StateActive || rec.Enrollment != "" {
			t.Errorf("record = %+v, %v", rec, err)
		}
		if p, _ := r.store.Pending(u); p {
			t.Errorf("a pending %s key is left", u)
		}
	}
	if got := strings.Join(r.installed, " "); !strings.HasPrefix(got, "offline:") || !strings.Contains(got, " authentication:") {
		t.Errorf("OnInstalled calls: %s", got)
	}
	// The client now logs in with the KSeF-issued Authentication certificate.
	if _, err := r.api.Authenticate(r.ctx()); err != nil {
		t.Fatalf("login with the enrolled certificate: %v", err)
	}
	if got := r.mgr.CertificateName(certstore.Offline); got != "posagent KASA-01 Offline" {
		t.Errorf("CertificateName = %q", got)
	}
}

func TestEnrollRefusals(t *testing.T) {
	t.Run("TokenLogin", func(t *testing.T) {
		r := newRig(t, ksefsim.Options{}, false, nil)
		if _, err := r.mgr.Enroll(r.ctx(), certstore.Offline); !errors.Is(err, certmgr.ErrNeedsXAdES) {
			t.Fatalf("Enroll with a token client = %v, want ErrNeedsXAdES", err)
		}
		if r.api.count() != 0 {
			t.Error("a request was sent")
		}
	})
	t.Run("Limit", func(t *testing.T) {
		r := newRig(t, ksefsim.Options{CertificateLimit: 1}, true, nil)
		if _, err := r.mgr.Enroll(r.ctx(), certstore.Offline); err != nil {
			t.Fatal(err)
		}
		_, err := r.mgr.Enroll(r.ctx(), certstore.Authentication)
		var le *certmgr.LimitError
		if !errors.As(err, &le) || le.Limits.Certificate.Remaining != 0 || !errors.Is(err, certmgr.ErrLimit) {
			t.Fatalf("second Enroll = %v, want a LimitError", err)
		}
		if r.api.count() != 1 {
			t.Errorf("enroll requests = %d, want 1: nothing is requested past the limit", r.api.count())
		}
	})
}

// TestEnrollResumes: an enrollment whose answer was lost is finished by the
// next call from its record, without a second request.
func TestEnrollResumes(t *testing.T) {
	r := newRig(t, ksefsim.Options{}, true, nil)
	r.api.failWait = true
	if _, err := r.mgr.Enroll(r.ctx(), certstore.Offline); err == nil {
		t.Fatal("Enroll with a lost answer succeeded")
	}
	rec, _ := r.store.Record(certstore.Offline)
	if rec.Enrollment == "" {
		t.Fatal("the enrollment reference was not recorded")
	}
	info, err := r.mgr.Enroll(r.ctx(), certstore.Offline)
	if err != nil {
		t.Fatal(err)
	}
	if r.api.count() != 1 {
		t.Errorf("enroll requests = %d, want 1", r.api.count())
	}
	if info.Serial == "" {
		t.Error("nothing installed")
	}
}

// TestEnrollReplacesDeadRequest: an enrollment in flight that KSeF will
// never finish is replaced by a new request on the next call, rather than
// failing on every call: one it cancelled (550 stays its status) or one it
// no longer knows (25005: it keeps an enrollment's status for 30 days).
func TestEnrollReplacesDeadRequest(t *testing.T) {
	tests := []struct {
		name string
		kill func(r *rig) // before the first Enroll
		lose func(r *rig) // after it failed
	}{
		{"Cancelled", func(r *rig) { r.api.cancelWait = true }, func(*rig) {}},
		{"ForgottenReference", func(r *rig) { r.api.failWait = true }, func(r *rig) {
			if err := r.store.UpdateRecord(certstore.Offline, func(rec *certstore.Record) {
				rec.Enrollment = "20261105-EH-0000000000-0000000000-00"
			}); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, ksefsim.Options{}, true, nil)
			tt.kill(r)
			if _, err := r.mgr.Enroll(r.ctx(), certstore.Offline); err == nil {
				t.Fatal("the first Enroll succeeded")
			}
			tt.lose(r)
			info, err := r.mgr.Enroll(r.ctx(), certstore.Offline)
			if err != nil {
				t.Fatalf("second Enroll: %v", err)
			}
			if r.api.count() != 2 || info.Serial == "" {
				t.Errorf("enroll requests = %d, serial %q; want a second request and a certificate", r.api.count(), info.Serial)
			}
		})
	}
}

// TestRenewal: on the injected clock, a certificate is renewed once it has
// 30 days left, not before, and a failed renewal is not retried the same day.
func TestRenewal(t *testing.T) {
	r := newRig(t, ksefsim.Options{CertificateValidity: 90 * 24 * time.Hour, EnrollmentLimit: 2}, true, nil)
	first, err := r.mgr.Enroll(r.ctx(), certstore.Offline)
	if err != nil {
		t.Fatal(err)
	}
	r.clk.Add(59 * 24 * time.Hour) // 31 days left
	r.mgr.Tick(r.ctx())
	if got := r.info(certstore.Offline).Serial; got != first.Serial || r.api.count() != 1 {
		t.Fatalf("renewed with 31 days left: serial %s, %d requests", got, r.api.count())
	}
	r.clk.Add(24*time.Hour + time.Minute) // 30 days left
	r.mgr.Tick(r.ctx())
	second := r.info(certstore.Offline)
	if second.Serial == first.Serial || r.api.count() != 2 {
		t.Fatalf("not renewed with 30 days left: serial %s, %d requests\n%s", second.Serial, r.api.count(), r.logs)
	}
	if d := second.NotAfter.Sub(r.clk.Now()); d < 89*24*time.Hour {
		t.Errorf("the new certificate is valid for %v", d)
	}
	r.mgr.Tick(r.ctx())
	if r.api.count() != 2 {
		t.Errorf("renewed again: %d requests", r.api.count())
	}
	// The subject may send two enrollment requests (EnrollmentLimit): the
	// next renewal fails on the limits, without a request, and waits a day
	// before it tries again.
	r.clk.Add(61 * 24 * time.Hour) // the second has 29 days left
	r.mgr.Tick(r.ctx())
	if r.api.count() != 2 || !strings.Contains(r.logs.String(), "certificate limit reached") {
		t.Fatalf("renewal past the limit: %d requests\n%s", r.api.count(), r.logs)
	}
	before := strings.Count(r.logs.String(), "certificate renewal failed")
	r.clk.Add(time.Hour)
	r.mgr.Tick(r.ctx())
	if after := strings.Count(r.logs.String(), "certificate renewal failed"); after != before {
		t.Errorf("renewal retried within the retry interval")
	}
	rec, _ := r.store.Record(certstore.Offline)
	if !strings.Contains(rec.LastError, "limit") {
		t.Errorf("record = %+v", rec)
	}
}

// TestRenewalNeedsXAdES: with a token client a due certificate is not
// renewed; a warning says why.
func TestRenewalNeedsXAdES(t *testing.T) {
	r := newRig(t, ksefsim.Options{}, false, nil)
	r.clk.Add(2*365*24*time.Hour - 10*24*time.Hour) // the Authentication certificate has 10 days left
	r.mgr.Tick(r.ctx())
	if r.api.count() != 0 || !strings.Contains(r.logs.String(), "ksef.auth = xades") {
		t.Fatalf("%d requests; log:\n%s", r.api.count(), r.logs)
	}
}

// TestCheckRevoked: a certificate KSeF reports revoked or blocked raises an
// alarm and reaches OnStatus as unusable; one KSeF does not know (the
// self-signed login certificate) is unknown, not an alarm.
func TestCheckRevoked(t *testing.T) {
	r := newRig(t, ksefsim.Options{}, true, nil)
	info, err := r.mgr.Enroll(r.ctx(), certstore.Offline)
	if err != nil {
		t.Fatal(err)
	}
	for _, state := range []string{ksefsim.CertBlocked, ksefsim.CertRevoked} {
		if err := r.sim.SetCertificateStatus(info.Serial, state); err != nil {
			t.Fatal(err)
		}
		list, err := r.mgr.Check(r.ctx())
		if err != nil {
			t.Fatal(err)
		}
		var off, auth *certmgr.Status
		for i := range list {
			switch list[i].Info.Usage {
			case certstore.Offline:
				off = &list[i]
			case certstore.Authentication:
				auth = &list[i]
			}
		}
		if off == nil || !off.Unusable() || off.Record.State != state {
			t.Fatalf("%s: offline status = %+v", state, off)
		}
		if auth == nil || auth.Unusable() || auth.Record.State != certstore.StateUnknown {
			t.Fatalf("%s: authentication status = %+v", state, auth)
		}
		if !strings.Contains(r.logs.String(), "ALARM: KSeF reports the Offline certificate "+strings.ToLower(state)) {
			t.Errorf("%s: no alarm in the log:\n%s", state, r.logs)
		}
	}
	rec, _ := r.store.Record(certstore.Offline)
	if !rec.Unusable(info.Serial) {
		t.Errorf("record = %+v", rec)
	}
	if len(r.statuses) != 4 {
		t.Errorf("OnStatus calls = %d, want 4", len(r.statuses))
	}
}

func TestNewOptions(t *testing.T) {
	s := certstoretest.NewStore(t, nil)
	for _, o := range []certmgr.Options{{}, {Store: s}, {Store: s, API: &counting{}, KeyType: "dsa"}, {Store: s, API: &counting{}, RenewBefore: -1}} {
		if _, err := certmgr.New(o); !errors.Is(err, certmgr.ErrOptions) {
			t.Errorf("New(%+v) = %v, want ErrOptions", o, err)
		}
	}
}
