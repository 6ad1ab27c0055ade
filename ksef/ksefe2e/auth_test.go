package ksefe2e_test

import (
	"errors"
	"testing"
	"time"

	"github.com/posagent/posagent/certstore"
	"github.com/posagent/posagent/ksef/ksefapi"
	"github.com/posagent/posagent/ksef/ksefsim"
	"github.com/posagent/posagent/ksef/ksefsim/ksefsimtest"
)

// otherNIP passes the checksum but is not the simulator's context.
const otherNIP = "1234563218"

func TestAuthenticate(t *testing.T) {
	tests := []struct {
		name     string
		auth     func(h *harness) ksefapi.Credentials
		initPath string
	}{
		{"KSeFToken", func(h *harness) ksefapi.Credentials { return ksefapi.TokenAuth{Token: ksefsimtest.Token} }, "/v2/auth/ksef-token"},
		{"XAdESRSA", func(h *harness) ksefapi.Credentials { return h.xadesAuth(ksefsimtest.NIP, certstore.KeyRSA) }, "/v2/auth/xades-signature"},
		{"XAdESECDSA", func(h *harness) ksefapi.Credentials { return h.xadesAuth(ksefsimtest.NIP, certstore.KeyEC) }, "/v2/auth/xades-signature"},
		{"XAdESFingerprint", func(h *harness) ksefapi.Credentials {
			a := h.xadesAuth(ksefsimtest.NIP, certstore.KeyEC)
			a.Subject = ksefapi.SubjectFingerprint
			return a
		}, "/v2/auth/xades-signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, ksefsim.Options{ProcessingDelay: 30 * time.Millisecond})
			c := h.client(tt.auth(h), nil)
			tok, err := c.Authenticate(ctx(t))
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			now := h.clk.Now()
			if tok.Access.Token == "" || !tok.Access.ValidUntil.After(now) {
				t.Errorf("access token empty or expired (valid until %v, now %v)", tok.Access.ValidUntil, now)
			}
			if tok.Refresh.Token == "" || !tok.Refresh.ValidUntil.After(tok.Access.ValidUntil) {
				t.Errorf("refresh token empty or shorter-lived than the access token")
			}
			// The tokens work: a bearer-protected call succeeds without a new login.
			mark := h.wire.mark()
			s, err := c.OpenOnline(ctx(t))
			if err != nil {
				t.Fatalf("OpenOnline after login: %v", err)
			}
			if s.Reference == "" || !s.ValidUntil.After(now) {
				t.Errorf("session %q valid until %v", s.Reference, s.ValidUntil)
			}
			for _, ex := range h.wire.since(mark) {
				if ex.Path == "/v2/auth/challenge" {
					t.Errorf("OpenOnline logged in again: %v", ex)
				}
			}
			// The login used the right method and polled the operation with its token.
			var sawInit, sawPoll, sawRedeem bool
			for _, ex := range h.wire.exchanges() {
				switch {
				case ex.Path == tt.initPath && ex.Status == 202:
					sawInit = true
				case ex.Op == "/auth/{referenceNumber}" && ex.Auth && ex.Status == 200:
					sawPoll = true
				case ex.Path == "/v2/auth/token/redeem" && ex.Auth && ex.Status == 200:
					sawRedeem = true
				}
			}
			if !sawInit || !sawPoll || !sawRedeem {
				t.Errorf("login exchanges init=%v poll=%v redeem=%v, want all; wire: %v", sawInit, sawPoll, sawRedeem, h.wire.exchanges())
			}
		})
	}
}

func TestAuthenticateRejected(t *testing.T) {
	tests := []struct {
		name       string
		auth       func(h *harness) ksefapi.Credentials
		wantStatus int // code of the asynchronous failure (StatusError), or
		wantAPI    int // KSeF code of a synchronous 400 (APIError)
	}{
		{"UnknownToken", func(h *harness) ksefapi.Credentials { return ksefapi.TokenAuth{Token: "not-a-registered-token"} }, 450, 0},
		{"CertificateOfAnotherNIP", func(h *harness) ksefapi.Credentials { return h.xadesAuth(otherNIP, certstore.KeyEC) }, 415, 0},
		{"ExpiredCertificate", func(h *harness) ksefapi.Credentials { return expiredAuth(h) }, 0, 21115},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, ksefsim.Options{})
			c := h.client(tt.auth(h), nil)
			_, err := c.Authenticate(ctx(t))
			if ksefapi.Retryable(err) {
				t.Errorf("Retryable(%v) = true, want false", err)
			}
			if tt.wantAPI != 0 {
				if ae := asAPIError(t, err); ae.Status != 400 || !ae.HasCode(tt.wantAPI) {
					t.Errorf("Authenticate = %v, want 400 [%d]", err, tt.wantAPI)
				}
				return
			}
			var se *ksefapi.StatusError
			if !errors.As(err, &se) {
				t.Fatalf("Authenticate = %v, want *ksefapi.StatusError", err)
			}
			if se.Code != tt.wantStatus || se.Op != "authentication" {
				t.Errorf("StatusError %s/%d, want authentication/%d", se.Op, se.Code, tt.wantStatus)
			}
			// A failed login leaves the client without tokens: the next protected
			// call logs in again (and fails again) rather than sending a stale bearer.
			if _, err := c.OpenOnline(ctx(t)); !errors.As(err, &se) {
				t.Errorf("OpenOnline after failed login = %v, want the login's StatusError", err)
			}
		})
	}
}

// expiredAuth makes an Authentication certificate that expired yesterday.
func expiredAuth(h *harness) ksefapi.Credentials {
	t := h.t
	t.Helper()
	from := h.clk.Now().Add(-72 * time.Hour)
	certPEM, keyPEM, err := certstore.Generate(certstore.Authentication, ksefsimtest.NIP, certstore.KeyEC, from, 48*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := certstore.Parse(certstore.Authentication, append(certPEM, keyPEM...), "", from.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return ksefapi.XAdESAuth{Signer: cert, Certificate: cert.Certificate()}
}

// TestUPONamesTheLogin: the UPO of a XAdES session carries the hash of the
// signed AuthTokenRequest the client sent, so a receipt can be tied to the
// certificate that opened the session.
func TestUPONamesTheLogin(t *testing.T) {
	h := start(t, ksefsim.Options{DisableRateLimits: true})
	c := h.client(h.xadesAuth(ksefsimtest.NIP, certstore.KeyRSA), nil)
	s := openOnline(t, c)
	ref := send(t, s, invoice(t, "FV/X/1", h.clk.today(), "1.00"))
	st := waitInvoice(t, c, s.Reference, ref)
	upo, _, err := c.DownloadUPO(ctx(t), st.UpoDownloadURL)
	if err != nil {
		t.Fatal(err)
	}
	var signed []byte
	for _, ex := range h.wire.exchanges() {
		if ex.Path == "/v2/auth/xades-signature" && ex.Status == 202 {
			signed = ex.ReqBody
		}
	}
	if signed == nil {
		t.Fatal("no XAdES login on the wire")
	}
	if got, want := upo.AuthDocumentHash, hashB64(signed); got != want {
		t.Errorf("UPO SkrotDokumentuUwierzytelniajacego %s, want the hash of the signed request %s", got, want)
	}
	if upo.ContextNip != ksefsimtest.NIP {
		t.Errorf("UPO context NIP %s", upo.ContextNip)
	}
	if _, err := ksefapi.VerifyXAdES(signed); err != nil {
		t.Errorf("the request the simulator accepted does not verify with the client's own checker: %v", err)
	}
}

// TestVerifyCertificateChain: with verifyCertificateChain=true KSeF checks the
// certificate's chain of trust and revocation status even on an environment
// that otherwise takes self-signed certificates (open-api.json, POST
// /auth/xades-signature). A self-signed certificate must then fail the login,
// either at once (400 [21115]) or in the operation status (460).
func TestVerifyCertificateChain(t *testing.T) {
	h := start(t, ksefsim.Options{})
	auth := h.xadesAuth(ksefsimtest.NIP, certstore.KeyEC)
	auth.VerifyCertificateChain = true
	c := h.client(auth, nil)
	_, err := c.Authenticate(ctx(t))
	sent := false
	for _, ex := range h.wire.exchanges() {
		if ex.Path == "/v2/auth/xades-signature" && ex.Query == "verifyCertificateChain=true" {
			sent = true
		}
	}
	if !sent {
		t.Fatal("no XAdES login with verifyCertificateChain=true on the wire")
	}
	var se *ksefapi.StatusError
	var ae *ksefapi.APIError
	switch {
	case errors.As(err, &se) && se.Code == 460:
	case errors.As(err, &ae) && ae.Status == 400 && ae.HasCode(21115):
	default:
		t.Errorf("Authenticate = %v, want StatusError 460 or 400 [21115]", err)
	}
	if ksefapi.Retryable(err) {
		t.Errorf("Retryable(%v) = true", err)
	}
}
