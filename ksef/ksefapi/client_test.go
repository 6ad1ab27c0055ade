package ksefapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/ksef/ksefapi"
)

func TestNewValidatesConfig(t *testing.T) {
	key := testKeys(t)["ECDSA"]
	cert := selfSigned(t, key)
	other := selfSigned(t, testKeys(t)["RSA"])
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  ksefapi.Config
	}{
		{"no base", ksefapi.Config{Context: testCtx, Auth: ksefapi.TokenAuth{Token: "x"}}},
		{"bad base", ksefapi.Config{BaseURL: "ftp://x", Context: testCtx, Auth: ksefapi.TokenAuth{Token: "x"}}},
		{"no context", ksefapi.Config{Environment: ksef.EnvTest, Auth: ksefapi.TokenAuth{Token: "x"}}},
		{"no auth", ksefapi.Config{Environment: ksef.EnvTest, Context: testCtx}},
		{"empty token", ksefapi.Config{Environment: ksef.EnvTest, Context: testCtx, Auth: ksefapi.TokenAuth{}}},
		{"xades no cert", ksefapi.Config{Environment: ksef.EnvTest, Context: testCtx, Auth: ksefapi.XAdESAuth{Signer: key}}},
		{"xades small rsa", ksefapi.Config{Environment: ksef.EnvTest, Context: testCtx, Auth: ksefapi.XAdESAuth{Signer: rsa1024, Certificate: selfSigned(t, rsa1024)}}},
		{"xades key mismatch", ksefapi.Config{Environment: ksef.EnvTest, Context: testCtx, Auth: ksefapi.XAdESAuth{Signer: key, Certificate: other}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ksefapi.New(tt.cfg); !errors.Is(err, ksefapi.ErrInvalidConfig) {
				t.Fatalf("New() err = %v, want ErrInvalidConfig", err)
			}
		})
	}
	if _, err := ksefapi.New(ksefapi.Config{Environment: ksef.EnvProd, Context: testCtx, Auth: ksefapi.XAdESAuth{Signer: key, Certificate: cert}}); err != nil {
		t.Fatalf("New(valid) = %v", err)
	}
}

func TestAvailabilityBase(t *testing.T) {
	tests := []struct {
		env  ksef.Environment
		want string
	}{
		{ksef.EnvTest, "https://api-latarnia-test.ksef.mf.gov.pl"},
		{ksef.EnvDemo, ""},
		{ksef.EnvProd, "https://api-latarnia.ksef.mf.gov.pl"},
		{0, ""},
	}
	for _, tt := range tests {
		if got := ksefapi.AvailabilityBase(tt.env); got != tt.want {
			t.Errorf("AvailabilityBase(%v) = %q, want %q", tt.env, got, tt.want)
		}
	}
}

func TestTokenSecretsRedacted(t *testing.T) {
	a := ksefapi.TokenAuth{Token: fakeKsefToken}
	for _, s := range []string{fmt.Sprint(a), fmt.Sprintf("%v %+v %#v", a, a, a)} {
		if strings.Contains(s, "secret") {
			t.Fatalf("token leaked: %s", s)
		}
	}
	tok := ksefapi.Token{Token: "eyJsecret", ValidUntil: fakeNow}
	if s := fmt.Sprintf("%v %+v", tok, tok); strings.Contains(s, "eyJsecret") {
		t.Fatalf("bearer leaked: %s", s)
	}
}

func TestAuthenticateToken(t *testing.T) {
	f := newFake(t)
	c := f.client(t, ksefapi.TokenAuth{Token: fakeKsefToken})
	tok, err := c.Authenticate(context.Background())
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	if got, want := f.gotToken, fakeKsefToken+"|1752236636015"; got != want {
		t.Fatalf("server decrypted %q, want %q", got, want)
	}
	if got, want := f.count("GET /v2/auth/"+fakeAuthRef), 2; got != want {
		t.Fatalf("auth status polls = %d, want %d", got, want)
	}
	// validUntil says 13:00 but the JWT exp says 12:15: the earlier one wins.
	if got, want := tok.Access.ValidUntil, fakeNow.Add(15*time.Minute); !got.Equal(want) {
		t.Fatalf("access ValidUntil = %v, want %v", got, want)
	}
	if tok.Refresh.Token != "refresh-token" {
		t.Fatalf("refresh token = %q", tok.Refresh.Token)
	}
}

func TestAuthenticateXAdES(t *testing.T) {
	for name, key := range testKeys(t) {
		t.Run(name, func(t *testing.T) {
			f := newFake(t)
			cert := selfSigned(t, key)
			c := f.client(t, ksefapi.XAdESAuth{Signer: key, Certificate: cert})
			if _, err := c.Authenticate(context.Background()); err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if f.xadesCert == nil || !f.xadesCert.Equal(cert) {
				t.Fatal("server did not verify the XAdES signature with the client certificate")
			}
		})
	}
}

func TestAuthenticateFailedStatus(t *testing.T) {
	f := newFake(t)
	f.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasPrefix(r.URL.Path, "/v2/auth/2") {
			return false
		}
		f.reply(w, 200, "AuthenticationOperationStatusResponse", map[string]any{
			"startDate": "2026-11-21T12:00:00Z", "authenticationMethod": "Token",
			"authenticationMethodInfo": map[string]any{"category": "Token", "code": "token.ksef", "displayName": "Token KSeF"},
			"status": map[string]any{"code": 450, "description": "Uwierzytelnianie zakończone niepowodzeniem z powodu błędnego tokenu",
				"details": []string{"Token unieważniony"}}})
		return true
	})
	c := f.client(t, ksefapi.TokenAuth{Token: fakeKsefToken})
	_, err := c.Authenticate(context.Background())
	var se *ksefapi.StatusError
	if !errors.As(err, &se) || se.Code != 450 || se.Details[0] != "Token unieważniony" {
		t.Fatalf("Authenticate() err = %v, want StatusError 450", err)
	}
	if se.Retryable() {
		t.Fatal("450 must not be retryable")
	}
	if strings.Contains(err.Error(), "secret") {
		t.Fatalf("token leaked into error: %v", err)
	}
}

func TestRefreshBeforeExpiry(t *testing.T) {
	f := newFake(t)
	now := fakeNow
	c, err := ksefapi.New(ksefapi.Config{BaseURL: f.srv.URL + "/v2", HTTPClient: f.srv.Client(), Context: testCtx,
		Auth: ksefapi.TokenAuth{Token: fakeKsefToken}, Now: func() time.Time { return now }, PollInterval: time.Millisecond,
		RefreshSkew: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.Authenticate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SessionStatus(ctx, fakeSessionRef); err != nil {
		t.Fatalf("SessionStatus: %v", err)
	}
	if f.refreshes != 0 {
		t.Fatalf("refreshed %d times with a fresh token", f.refreshes)
	}
	now = fakeNow.Add(14 * time.Minute) // 1 min before exp, inside the 2 min skew
	if _, err := c.SessionStatus(ctx, fakeSessionRef); err != nil {
		t.Fatalf("SessionStatus after refresh: %v", err)
	}
	if f.refreshes != 1 {
		t.Fatalf("refreshes = %d, want 1", f.refreshes)
	}
	if got := f.count("POST /v2/auth/challenge"); got != 1 {
		t.Fatalf("challenges = %d, want 1 (refresh, not a new login)", got)
	}
}

func TestReloginWhenRefreshRejected(t *testing.T) {
	f := newFake(t)
	c := f.client(t, ksefapi.TokenAuth{Token: fakeKsefToken})
	c.SetTokens(ksefapi.Tokens{Access: ksefapi.Token{Token: "old", ValidUntil: fakeNow.Add(-time.Minute)},
		Refresh: ksefapi.Token{Token: "revoked", ValidUntil: fakeNow.Add(time.Hour)}})
	if _, err := c.SessionStatus(context.Background(), fakeSessionRef); err != nil {
		t.Fatalf("SessionStatus: %v", err)
	}
	if got := f.count("POST /v2/auth/challenge"); got != 1 {
		t.Fatalf("challenges = %d, want a new login after the refresh was rejected", got)
	}
}

func TestNotAuthenticatedLogsIn(t *testing.T) {
	f := newFake(t)
	c := f.client(t, ksefapi.TokenAuth{Token: fakeKsefToken})
	if _, err := c.OpenOnline(context.Background()); err != nil {
		t.Fatalf("OpenOnline without Authenticate: %v", err)
	}
	if f.count("POST /v2/auth/token/redeem") != 1 {
		t.Fatal("token source did not log in")
	}
}

func authed(t *testing.T, f *fakeKSeF) *ksefapi.Client {
	t.Helper()
	c := f.client(t, ksefapi.TokenAuth{Token: fakeKsefToken})
	if _, err := c.Authenticate(context.Background()); err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	return c
}

func TestOnlineSession(t *testing.T) {
	f := newFake(t)
	c := authed(t, f)
	ctx := context.Background()
	s, err := c.OpenOnline(ctx)
	if err != nil {
		t.Fatalf("OpenOnline: %v", err)
	}
	if s.Reference != fakeSessionRef {
		t.Fatalf("Reference = %q", s.Reference)
	}
	inv1 := []byte(`<?xml version="1.0" encoding="UTF-8"?><Faktura>1</Faktura>`)
	inv2 := []byte(`<Faktura>exactly thirty-two bytes!</Faktura>`[:32])
	orig := sha256.Sum256([]byte("rejected original"))
	ref1, err := s.Send(ctx, inv1, ksefapi.SendOptions{})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	ref2, err := s.Send(ctx, inv2, ksefapi.SendOptions{OfflineMode: true, HashOfCorrected: orig[:]})
	if err != nil {
		t.Fatalf("Send correction: %v", err)
	}
	if ref1 == ref2 || ref1 == "" {
		t.Fatalf("invoice references %q, %q", ref1, ref2)
	}
	if string(f.invoices[0]) != string(inv1) || string(f.invoices[1]) != string(inv2) {
		t.Fatal("server decrypted different bytes")
	}
	if got, want := f.sendReqs[1]["encryptedInvoiceSize"], float64(48); got != want {
		t.Fatalf("encrypted size of a 32-byte invoice = %v, want %v (full padding block)", got, want)
	}
	if got, want := f.sendReqs[1]["hashOfCorrectedInvoice"], base64.StdEncoding.EncodeToString(orig[:]); got != want {
		t.Fatalf("hashOfCorrectedInvoice = %v, want %v", got, want)
	}
	if f.sendReqs[0]["offlineMode"] != false || f.sendReqs[1]["offlineMode"] != true {
		t.Fatal("offlineMode not sent as given")
	}
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := s.Send(ctx, inv1, ksefapi.SendOptions{}); !errors.Is(err, ksefapi.ErrSessionClosed) {
		t.Fatalf("Send after Close = %v, want ErrSessionClosed", err)
	}
	st, err := c.WaitSession(ctx, s.Reference)
	if err != nil {
		t.Fatalf("WaitSession: %v", err)
	}
	if st.Status.Code != 200 || *st.SuccessfulInvoiceCount != 3 || len(st.UPO.Pages) != 1 {
		t.Fatalf("final status = %+v", st)
	}
}

func TestSendRejectsBadInput(t *testing.T) {
	f := newFake(t)
	c := authed(t, f)
	s, err := c.OpenOnline(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(nil)
	tests := []struct {
		name string
		xml  []byte
		opts ksefapi.SendOptions
	}{
		{"empty", nil, ksefapi.SendOptions{}},
		{"short corrected hash", []byte("<a/>"), ksefapi.SendOptions{OfflineMode: true, HashOfCorrected: []byte{1, 2}}},
		{"correction online", []byte("<a/>"), ksefapi.SendOptions{HashOfCorrected: sum[:]}},
		{"too big", make([]byte, 3_000_001), ksefapi.SendOptions{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.count("POST /v2/sessions/online/" + fakeSessionRef + "/invoices")
			if _, err := s.Send(context.Background(), tt.xml, tt.opts); !errors.Is(err, ksefapi.ErrInvalidInput) {
				t.Fatalf("Send() err = %v, want ErrInvalidInput", err)
			}
			if f.count("POST /v2/sessions/online/"+fakeSessionRef+"/invoices") != before {
				t.Fatal("a rejected invoice reached the server")
			}
		})
	}
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		name       string
		respond    func(f *fakeKSeF, w http.ResponseWriter)
		wantIs     error
		wantStatus int
		retryable  bool
		retryAfter time.Duration
	}{
		{"session full", func(f *fakeKSeF, w http.ResponseWriter) {
			f.problem(w, 400, 21155, "Przekroczono limit faktur w sesji.")
		}, ksefapi.ErrSessionFull, 400, false, 0},
		{"correction already accepted", func(f *fakeKSeF, w http.ResponseWriter) {
			f.problem(w, 400, 21166, "Korekta techniczna niedostępna.")
		}, ksefapi.ErrTechnicalCorrectionUnavailable, 400, false, 0},
		{"correction not allowed", func(f *fakeKSeF, w http.ResponseWriter) {
			f.problem(w, 400, 21167, "Status faktury nie pozwala na korektę techniczną.")
		}, ksefapi.ErrTechnicalCorrectionNotAllowed, 400, false, 0},
		{"rate limited", func(f *fakeKSeF, w http.ResponseWriter) {
			w.Header().Set("Retry-After", "30")
			f.reply(w, 429, "TooManyRequestsResponse", map[string]any{"status": map[string]any{"code": 429,
				"description": "Too Many Requests", "details": []string{"Przekroczono limit 30 żądań na minutę."}}})
		}, nil, 429, true, 30 * time.Second},
		{"rate limited http-date", func(f *fakeKSeF, w http.ResponseWriter) {
			w.Header().Set("Retry-After", fakeNow.Add(90*time.Second).Format(http.TimeFormat))
			f.reply(w, 429, "TooManyRequestsProblemDetails", map[string]any{"title": "Too Many Requests", "status": 429,
				"detail": "Przekroczono limit.", "instance": "/v2/x", "timestamp": "2026-11-21T12:00:00Z", "traceId": "t"})
		}, nil, 429, true, 90 * time.Second},
		{"html 502", func(f *fakeKSeF, w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(502)
			w.Write([]byte("<html><body><h1>502 Bad Gateway</h1></body></html>"))
		}, nil, 502, true, 0},
		{"legacy exception", func(f *fakeKSeF, w http.ResponseWriter) {
			f.reply(w, 400, "ExceptionResponse", map[string]any{"exception": map[string]any{
				"exceptionDetailList": []any{map[string]any{"exceptionCode": 21155, "exceptionDescription": "Limit faktur.", "details": []string{"10000"}}},
				"serviceCode":         "00-abc", "timestamp": "2025-10-11T12:23:56.0154302+00:00"}})
		}, ksefapi.ErrSessionFull, 400, false, 0},
		{"unauthorized", func(f *fakeKSeF, w http.ResponseWriter) {
			f.reply(w, 401, "UnauthorizedProblemDetails", map[string]any{"title": "Unauthorized", "status": 401,
				"detail": "Token wygasł.", "timestamp": "2026-11-21T12:00:00Z"})
		}, ksefapi.ErrUnauthorized, 401, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			c := authed(t, f)
			s, err := c.OpenOnline(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			f.setHook(func(w http.ResponseWriter, r *http.Request) bool {
				if strings.HasSuffix(r.URL.Path, "/invoices") {
					tt.respond(f, w)
					return true
				}
				return false
			})
			_, err = s.Send(context.Background(), []byte("<Faktura/>"), ksefapi.SendOptions{})
			var ae *ksefapi.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("Send() err = %v, want *APIError", err)
			}
			if ae.Status != tt.wantStatus {
				t.Errorf("Status = %d, want %d", ae.Status, tt.wantStatus)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.wantIs)
			}
			if got := ae.Retryable(); got != tt.retryable {
				t.Errorf("Retryable() = %v, want %v", got, tt.retryable)
			}
			if ae.RetryAfter != tt.retryAfter {
				t.Errorf("RetryAfter = %v, want %v", ae.RetryAfter, tt.retryAfter)
			}
			if ae.Description == "" {
				t.Error("Description empty")
			}
		})
	}
}

func TestKeyRotation21470(t *testing.T) {
	f := newFake(t)
	c := authed(t, f)
	keys := theMFKeys(t)
	// The MF rotates the symmetric key: the old one is retired and a new one published.
	f.mu.Lock()
	f.retired[keys[1].id] = true
	f.keys = []*mfKey{keys[0], keys[2]}
	f.mu.Unlock()
	if _, err := c.OpenOnline(context.Background()); err != nil {
		t.Fatalf("OpenOnline after rotation: %v", err)
	}
	if got, want := f.count("POST /v2/sessions/online"), 2; got != want {
		t.Fatalf("open attempts = %d, want %d (one 21470, one retry)", got, want)
	}
	if got, want := f.count("GET /v2/security/public-key-certificates"), 2; got != want {
		t.Fatalf("key fetches = %d, want %d", got, want)
	}
	// A key that stays unknown fails after exactly one retry.
	f.mu.Lock()
	f.retired[keys[2].id] = true
	f.mu.Unlock()
	_, err := c.OpenOnline(context.Background())
	if !errors.Is(err, ksefapi.ErrUnknownPublicKey) {
		t.Fatalf("OpenOnline with only retired keys = %v, want ErrUnknownPublicKey", err)
	}
	if got, want := f.count("POST /v2/sessions/online"), 4; got != want {
		t.Fatalf("open attempts = %d, want %d", got, want)
	}
}

func TestTimeoutIsRetryable(t *testing.T) {
	f := newFake(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	f.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		return true
	})
	hc := f.srv.Client()
	hc.Timeout = 50 * time.Millisecond
	c, err := ksefapi.New(ksefapi.Config{BaseURL: f.srv.URL + "/v2", HTTPClient: hc, Context: testCtx, Auth: ksefapi.TokenAuth{Token: "t"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Challenge(context.Background())
	var ae *ksefapi.APIError
	if !errors.As(err, &ae) || ae.Status != 0 || !ae.Retryable() || !ksefapi.Retryable(err) {
		t.Fatalf("Challenge() on a hung server = %v, want a retryable transport APIError", err)
	}
}

func TestListInvoicesPaging(t *testing.T) {
	f := newFake(t)
	c := authed(t, f)
	var gotTokens []string
	f.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasPrefix(r.URL.Path, "/v2/sessions/"+fakeSessionRef+"/invoices") {
			return false
		}
		gotTokens = append(gotTokens, r.Header.Get("x-continuation-token")+"|"+r.URL.Query().Get("pageSize"))
		page := map[string]any{"invoices": []any{invoiceStatusJSON(len(gotTokens), 200)}}
		switch r.Header.Get("x-continuation-token") {
		case "":
			page["continuationToken"] = "page-2"
		case "page-2":
			page["continuationToken"] = "page-3"
		default:
			page["invoices"] = []any{invoiceStatusJSON(3, 440)}
		}
		f.reply(w, 200, "SessionInvoicesResponse", page)
		return true
	})
	all, err := c.AllInvoices(context.Background(), fakeSessionRef, false)
	if err != nil {
		t.Fatalf("AllInvoices: %v", err)
	}
	if len(all) != 3 {
		t.Fatalf("got %d invoices, want 3", len(all))
	}
	if want := []string{"|1000", "page-2|1000", "page-3|1000"}; fmt.Sprint(gotTokens) != fmt.Sprint(want) {
		t.Fatalf("continuation headers = %v, want %v", gotTokens, want)
	}
	dup := all[2]
	if dup.Code() != ksefapi.InvoiceDuplicate || dup.OriginalKsefNumber() != "5265877635-20250626-010080DD2B5E-26" ||
		dup.OriginalSessionReferenceNumber() != "20250626-SO-2F14610000-242991F8C9-B4" {
		t.Fatalf("duplicate = %+v", dup)
	}
	var se *ksefapi.StatusError
	if !errors.As(dup.Err(), &se) || se.Code != 440 {
		t.Fatalf("dup.Err() = %v", dup.Err())
	}
	if all[0].Err() != nil || all[0].KsefNumber == "" || all[0].InvoicingMode != "Offline" {
		t.Fatalf("first invoice = %+v", all[0])
	}

	// The failed list uses its own path.
	f.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/v2/sessions/"+fakeSessionRef+"/invoices/failed" {
			return false
		}
		f.reply(w, 200, "SessionInvoicesResponse", map[string]any{"invoices": []any{invoiceStatusJSON(7, 450)}})
		return true
	})
	failed, err := c.AllInvoices(context.Background(), fakeSessionRef, true)
	if err != nil || len(failed) != 1 || failed[0].Code() != 450 {
		t.Fatalf("failed list = %+v, %v", failed, err)
	}
	if _, err := c.ListInvoices(context.Background(), fakeSessionRef, ksefapi.ListOptions{PageSize: 5}); !errors.Is(err, ksefapi.ErrInvalidInput) {
		t.Fatalf("page size 5 = %v, want ErrInvalidInput", err)
	}
}

// invoiceStatusJSON is a SessionInvoiceStatusResponse fixture.
func invoiceStatusJSON(n, code int) map[string]any {
	m := map[string]any{
		"ordinalNumber": n, "invoiceNumber": fmt.Sprintf("FV/%d/2026", n),
		"referenceNumber": fmt.Sprintf("20250625-EE-319D7EE000-B67F415CDC-%02d", n),
		"invoiceHash":     "EbrK4cOSjW4hEpJaHU71YXSOZZmqP5++dK9nLgTzgV4=", "invoicingDate": "2026-11-21T12:00:00+01:00",
		"status": map[string]any{"code": code, "description": "Sukces"},
	}
	switch code {
	case 200:
		m["ksefNumber"] = "5265877635-20250826-0100001AF629-AF"
		m["acquisitionDate"] = "2026-11-21T12:00:01+01:00"
		m["invoicingMode"] = "Offline"
		m["upoDownloadUrl"] = "https://upo.example/x?sig=1"
	case 440:
		m["status"] = map[string]any{"code": 440, "description": "Duplikat faktury",
			"details": []string{"Duplikat faktury. Faktura o numerze KSeF: 5265877635-20250626-010080DD2B5E-26 została już prawidłowo przesłana do systemu w sesji: 20250626-SO-2F14610000-242991F8C9-B4"},
			"extensions": map[string]any{"originalSessionReferenceNumber": "20250626-SO-2F14610000-242991F8C9-B4",
				"originalKsefNumber": "5265877635-20250626-010080DD2B5E-26"}}
	case 450:
		m["status"] = map[string]any{"code": 450, "description": "Błąd weryfikacji semantyki dokumentu faktury"}
	}
	return m
}

func TestBatch(t *testing.T) {
	f := newFake(t)
	c := authed(t, f)
	const n = 1000
	invoices := func(yield func(string, []byte) bool) {
		for i := range n {
			// Incompressible-ish content so the archive spans several small parts.
			body := fmt.Sprintf(`<Faktura n="%d">%x</Faktura>`, i, sha256.Sum256([]byte{byte(i)}))
			if !yield(fmt.Sprintf("fv-%03d.xml", i), []byte(body)) {
				return
			}
		}
	}
	tmp := t.TempDir()
	res, err := c.SendBatch(context.Background(), invoices, ksefapi.BatchOptions{PartSize: 16 << 10, TempDir: tmp, OfflineMode: true})
	if err != nil {
		t.Fatalf("SendBatch: %v", err)
	}
	if res.Reference != fakeBatchRef || res.Invoices != n || res.Parts < 3 || res.Status.Status.Code != 200 {
		t.Fatalf("result = %+v", res)
	}
	files := f.batchFiles(t)
	if len(files) != n || !strings.Contains(string(files["fv-007.xml"]), `n="7"`) {
		t.Fatalf("server unpacked %d files", len(files))
	}
	for _, h := range f.uploadAuth {
		if h != "|BlockBlob" {
			t.Fatalf("part upload headers (Authorization|x-ms-blob-type) = %q, want no bearer and BlockBlob", h)
		}
	}
	if f.batchOpen["offlineMode"] != true {
		t.Fatal("offlineMode not sent")
	}
	if f.count("POST /v2/sessions/batch/"+fakeBatchRef+"/close") != 1 {
		t.Fatal("batch session not closed")
	}
	if left, _ := filepathGlob(tmp); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

// OnOpen reports the session before any part goes up, and its error stops
// the upload: a caller that cannot record the session must not upload.
func TestBatchOnOpen(t *testing.T) {
	invoices := func(yield func(string, []byte) bool) { yield("fv-1.xml", []byte("<Faktura/>")) }
	t.Run("Called", func(t *testing.T) {
		f := newFake(t)
		c := authed(t, f)
		var got string
		var partsBefore int
		open := func(_ context.Context, ref string) error {
			got, partsBefore = ref, len(f.uploadAuth)
			return nil
		}
		if _, err := c.SendBatch(context.Background(), invoices, ksefapi.BatchOptions{TempDir: t.TempDir(), OnOpen: open}); err != nil {
			t.Fatal(err)
		}
		if got != fakeBatchRef || partsBefore != 0 {
			t.Fatalf("OnOpen(%q) with %d parts uploaded, want (%q) before any", got, partsBefore, fakeBatchRef)
		}
	})
	t.Run("ErrorStops", func(t *testing.T) {
		f := newFake(t)
		c := authed(t, f)
		boom := errors.New("store full")
		res, err := c.SendBatch(context.Background(), invoices, ksefapi.BatchOptions{TempDir: t.TempDir(),
			OnOpen: func(context.Context, string) error { return boom }})
		if !errors.Is(err, boom) || res == nil || res.Reference != fakeBatchRef {
			t.Fatalf("SendBatch = %+v, %v; want the reference and the OnOpen error", res, err)
		}
		if len(f.uploadAuth) != 0 {
			t.Fatalf("%d parts uploaded after OnOpen failed", len(f.uploadAuth))
		}
	})
}

func TestBatchRejectsBadInput(t *testing.T) {
	f := newFake(t)
	c := authed(t, f)
	seq := func(names ...string) iter.Seq2[string, []byte] {
		return func(yield func(string, []byte) bool) {
			for _, n := range names {
				if !yield(n, []byte("<a/>")) {
					return
				}
			}
		}
	}
	tests := []struct {
		name string
		inv  iter.Seq2[string, []byte]
		opts ksefapi.BatchOptions
	}{
		{"empty", seq(), ksefapi.BatchOptions{}},
		{"duplicate name", seq("a.xml", "a.xml"), ksefapi.BatchOptions{}},
		{"path in name", seq("../a.xml"), ksefapi.BatchOptions{}},
		{"part too big", seq("a.xml"), ksefapi.BatchOptions{PartSize: 100_000_001}},
		{"too many parts", seq("a.xml", "b.xml", "c.xml"), ksefapi.BatchOptions{PartSize: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.TempDir = t.TempDir()
			if _, err := c.SendBatch(context.Background(), tt.inv, tt.opts); !errors.Is(err, ksefapi.ErrInvalidInput) {
				t.Fatalf("SendBatch() = %v, want ErrInvalidInput", err)
			}
			if f.count("POST /v2/sessions/batch") != 0 {
				t.Fatal("a rejected batch reached the server")
			}
		})
	}
}

func TestWaitSessionFailure(t *testing.T) {
	f := newFake(t)
	c := authed(t, f)
	polls := 0
	f.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/v2/sessions/"+fakeBatchRef {
			return false
		}
		polls++
		switch polls {
		case 1:
			w.WriteHeader(http.StatusBadGateway) // a transient gateway error is polled through
			w.Write([]byte("<html>502</html>"))
			return true
		case 2:
			f.reply(w, 200, "SessionStatusResponse", map[string]any{"dateCreated": "2026-11-21T12:00:00Z", "dateUpdated": "2026-11-21T12:00:00Z",
				"status": map[string]any{"code": 150, "description": "Trwa przetwarzanie"}})
			return true
		}
		f.reply(w, 200, "SessionStatusResponse", map[string]any{"dateCreated": "2026-11-21T12:00:00Z", "dateUpdated": "2026-11-21T12:00:00Z",
			"status": map[string]any{"code": 430, "description": "Błąd dekompresji pierwotnego archiwum"}})
		return true
	})
	st, err := c.WaitSession(context.Background(), fakeBatchRef)
	var se *ksefapi.StatusError
	if !errors.As(err, &se) || se.Code != 430 || st == nil || st.Status.Code != 430 {
		t.Fatalf("WaitSession() = %+v, %v; want StatusError 430", st, err)
	}
	if polls != 3 {
		t.Fatalf("polls = %d, want 3", polls)
	}
}

func TestWaitSessionTimeout(t *testing.T) {
	f := newFake(t)
	c, err := ksefapi.New(ksefapi.Config{BaseURL: f.srv.URL + "/v2", HTTPClient: f.srv.Client(), Context: testCtx,
		Auth: ksefapi.TokenAuth{Token: fakeKsefToken}, Now: func() time.Time { return fakeNow },
		PollInterval: time.Millisecond, PollTimeout: 30 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	c.SetTokens(ksefapi.Tokens{Access: ksefapi.Token{Token: f.accessTok, ValidUntil: fakeNow.Add(time.Hour)}})
	f.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		f.reply(w, 200, "SessionStatusResponse", map[string]any{"dateCreated": "2026-11-21T12:00:00Z", "dateUpdated": "2026-11-21T12:00:00Z",
			"status": map[string]any{"code": 170, "description": "Sesja interaktywna zamknięta"}})
		return true
	})
	if _, err := c.WaitSession(context.Background(), fakeSessionRef); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitSession() on a stuck session = %v, want DeadlineExceeded", err)
	}
}

// TestConcurrentSends shares one client and session between goroutines whose
// access token has just expired; run with -race. Exactly one refresh may happen.
func TestConcurrentSends(t *testing.T) {
	f := newFake(t)
	c := f.client(t, ksefapi.TokenAuth{Token: fakeKsefToken})
	s, err := c.OpenOnline(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c.SetTokens(ksefapi.Tokens{Access: ksefapi.Token{Token: "expired", ValidUntil: fakeNow},
		Refresh: ksefapi.Token{Token: "refresh-token", ValidUntil: fakeNow.Add(time.Hour)}})
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			_, err := s.Send(context.Background(), []byte(fmt.Sprintf("<Faktura>%d</Faktura>", i)), ksefapi.SendOptions{})
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got := f.count("POST /v2/auth/token/redeem"); got != 1 {
		t.Fatalf("logins = %d, want 1", got)
	}
	if got := f.count("POST /v2/auth/token/refresh"); got != 1 {
		t.Fatalf("refreshes = %d, want 1", got)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.invoices) != 8 {
		t.Fatalf("server got %d invoices", len(f.invoices))
	}
}

func TestNoSecretsInLogsOrErrors(t *testing.T) {
	f := newFake(t)
	var logs bytes.Buffer
	c, err := ksefapi.New(ksefapi.Config{BaseURL: f.srv.URL + "/v2", HTTPClient: f.srv.Client(), Context: testCtx,
		Auth: ksefapi.TokenAuth{Token: fakeKsefToken}, Now: func() time.Time { return fakeNow }, PollInterval: time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.Authenticate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	f.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		f.problem(w, 400, 21405, "Błąd walidacji")
		return true
	})
	_, err = c.OpenOnline(context.Background())
	out := logs.String() + fmt.Sprint(err) + fmt.Sprintf("%+v", tok)
	for _, secret := range []string{"secretsecret", tok.Access.Token, "refresh-token", "auth-op-token"} {
		if strings.Contains(out, secret) {
			t.Fatalf("secret %q leaked:\n%s", secret, out)
		}
	}
	if !strings.Contains(logs.String(), "ksef authenticated") {
		t.Fatalf("expected log lines, got:\n%s", logs.String())
	}
}

func TestRevokedAccessTokenIsRefreshed(t *testing.T) {
	f := newFake(t)
	c := f.client(t, ksefapi.TokenAuth{Token: fakeKsefToken})
	// The client believes its access token is good for an hour; KSeF has revoked it.
	c.SetTokens(ksefapi.Tokens{Access: ksefapi.Token{Token: "revoked", ValidUntil: fakeNow.Add(time.Hour)},
		Refresh: ksefapi.Token{Token: "refresh-token", ValidUntil: fakeNow.Add(24 * time.Hour)}})
	if _, err := c.SessionStatus(context.Background(), fakeSessionRef); err != nil {
		t.Fatalf("SessionStatus: %v", err)
	}
	if got := f.count("GET /v2/sessions/" + fakeSessionRef); got != 2 {
		t.Fatalf("status calls = %d, want 2 (401, then retry)", got)
	}
	if f.refreshes != 1 {
		t.Fatalf("refreshes = %d, want 1", f.refreshes)
	}
	// A second 401 in a row is returned, not looped on.
	f.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/v2/sessions/"+fakeSessionRef {
			f.requireBearer(w, r, "never")
			return true
		}
		return false
	})
	if _, err := c.SessionStatus(context.Background(), fakeSessionRef); !errors.Is(err, ksefapi.ErrUnauthorized) {
		t.Fatalf("SessionStatus with a permanently rejected token = %v, want ErrUnauthorized", err)
	}
}
