package ksefapi_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posagent/posagent/internal/openapischema"
	"github.com/posagent/posagent/ksef/ksefapi"
)

// testCertDER makes a certificate with the given serial.
func testCertDER(t testing.TB, serial uint64) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: new(big.Int).SetUint64(serial), Subject: pkix.Name{CommonName: "5265877635"},
		NotBefore: fakeNow.Add(-time.Hour), NotAfter: fakeNow.Add(365 * 24 * time.Hour), KeyUsage: x509.KeyUsageContentCommitment}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func retrieveBody(serial, typ, cert string) string {
	return fmt.Sprintf(`{"certificates":[{"certificate":%q,"certificateName":"posagent KASA01","certificateSerialNumber":%q,"certificateType":%q}]}`, cert, serial, typ)
}

func TestParseRetrievedCertificates(t *testing.T) {
	der := testCertDER(t, 0x0321C82DA41B4362)
	b64 := base64.StdEncoding.EncodeToString(der)
	tests := []struct {
		name    string
		body    string
		wantErr string
	}{
		{"OK", retrieveBody("0321C82DA41B4362", "Offline", b64), ""},
		{"Empty", `{"certificates":[]}`, ""},
		{"SerialMismatch", retrieveBody("0321C82DA41B4363", "Offline", b64), "serial number is 0321C82DA41B4362"},
		{"LowerCaseSerial", retrieveBody("0321c82da41b4362", "Offline", b64), "not 16 uppercase hex"},
		{"UnknownType", retrieveBody("0321C82DA41B4362", "Qualified", b64), "unknown type"},
		{"NotBase64", retrieveBody("0321C82DA41B4362", "Offline", "%%%"), "not Base64"},
		{"NotACertificate", retrieveBody("0321C82DA41B4362", "Offline", "AAEC"), "does not parse"},
		{"Trailing", `{"certificates":[]} {}`, "trailing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ksefapi.ParseRetrievedCertificates([]byte(tt.body))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("ParseRetrievedCertificates = %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("ParseRetrievedCertificates error = %v, want %q", err, tt.wantErr)
			case tt.name == "OK" && (len(got) != 1 || got[0].Type != ksefapi.CertOffline || got[0].Certificate == nil || ksefapi.SerialOf(got[0].Certificate) != got[0].Serial):
				t.Fatalf("ParseRetrievedCertificates = %+v", got)
			}
		})
	}
}

// certServer is a KSeF stand-in for the certificate endpoints: it checks each
// request body against the official schema and answers with handle.
type certServer struct {
	t   *testing.T
	doc *openapischema.Doc
	srv *httptest.Server

	mu    sync.Mutex // guards calls
	calls []string
}

func newCertServer(t *testing.T, handle func(w http.ResponseWriter, r *http.Request, body []byte)) (*certServer, *ksefapi.Client) {
	t.Helper()
	cs := &certServer{t: t, doc: openapischema.Load(t)}
	schemas := map[string]string{
		"POST /v2/certificates/enrollments": "EnrollCertificateRequest",
		"POST /v2/certificates/retrieve":    "RetrieveCertificatesRequest",
		"POST /v2/certificates/query":       "QueryCertificatesRequest",
	}
	cs.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		cs.mu.Lock()
		cs.calls = append(cs.calls, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
		cs.mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer a" {
			t.Errorf("%s %s without the access token", r.Method, r.URL.Path)
		}
		if name := schemas[r.Method+" "+r.URL.Path]; name != "" {
			if err := cs.doc.Validate(name, body); err != nil {
				t.Errorf("%s %s: request does not match %s: %v\n%s", r.Method, r.URL.Path, name, err, body)
			}
		}
		w.Header().Set("Content-Type", "application/json")
		handle(w, r, body)
	}))
	t.Cleanup(cs.srv.Close)
	c, err := ksefapi.New(ksefapi.Config{BaseURL: cs.srv.URL + "/v2", HTTPClient: cs.srv.Client(), Context: testCtx,
		Auth: ksefapi.TokenAuth{Token: "t"}, Now: func() time.Time { return fakeNow }, PollInterval: time.Millisecond, PollMax: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	c.SetTokens(ksefapi.Tokens{Access: ksefapi.Token{Token: "a", ValidUntil: fakeNow.Add(time.Hour)}})
	return cs, c
}

func TestEnrollRequest(t *testing.T) {
	var got map[string]any
	_, c := newCertServer(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		json.Unmarshal(body, &got)
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprintf(w, `{"referenceNumber":%q,"timestamp":"2026-11-21T12:00:00Z"}`, fakeEnrollRef)
	})
	csr := []byte{0x30, 0x03, 0x02, 0x01, 0x00}
	e, err := c.Enroll(context.Background(), ksefapi.EnrollRequest{Name: "posagent KASA01 Łódź", Type: ksefapi.CertAuthentication, CSR: csr})
	if err != nil {
		t.Fatal(err)
	}
	if e.ReferenceNumber != fakeEnrollRef {
		t.Errorf("reference = %q", e.ReferenceNumber)
	}
	if got["csr"] != base64.StdEncoding.EncodeToString(csr) || got["certificateType"] != "Authentication" || got["validFrom"] != nil {
		t.Errorf("request body = %v", got)
	}
}

func TestEnrollRefusesBadInput(t *testing.T) {
	cs, c := newCertServer(t, func(w http.ResponseWriter, r *http.Request, body []byte) { t.Error("request sent") })
	tests := []struct {
		name string
		req  ksefapi.EnrollRequest
	}{
		{"ShortName", ksefapi.EnrollRequest{Name: "abc", Type: ksefapi.CertOffline, CSR: []byte{1}}},
		{"NameWithSlash", ksefapi.EnrollRequest{Name: "KASA/01", Type: ksefapi.CertOffline, CSR: []byte{1}}},
		{"UnknownType", ksefapi.EnrollRequest{Name: "posagent", Type: "Qualified", CSR: []byte{1}}},
		{"NoCSR", ksefapi.EnrollRequest{Name: "posagent", Type: ksefapi.CertOffline}},
	}
	for _, tt := range tests {
		if _, err := c.Enroll(context.Background(), tt.req); !errors.Is(err, ksefapi.ErrInvalidInput) {
			t.Errorf("%s: Enroll = %v, want ErrInvalidInput", tt.name, err)
		}
	}
	if err := c.RevokeCertificate(context.Background(), "123", ""); !errors.Is(err, ksefapi.ErrInvalidInput) {
		t.Errorf("RevokeCertificate(123) = %v, want ErrInvalidInput", err)
	}
	if _, err := c.RetrieveCertificates(context.Background()); !errors.Is(err, ksefapi.ErrInvalidInput) {
		t.Errorf("RetrieveCertificates() = %v, want ErrInvalidInput", err)
	}
	if len(cs.calls) != 0 {
		t.Errorf("calls = %v", cs.calls)
	}
}

func TestWaitEnrollment(t *testing.T) {
	tests := []struct {
		name       string
		final      string // the status after two polls "in progress"
		wantSerial string
		wantCode   int
	}{
		{"Issued", `{"code":200,"description":"Wniosek obsłużony"},"certificateSerialNumber":"0321C82DA41B4362"`, "0321C82DA41B4362", 0},
		{"Rejected", `{"code":400,"description":"Wniosek odrzucony","details":["Osiągnięto dopuszczalny limit posiadanych certyfikatów."]}`, "", 400},
		{"Cancelled", `{"code":550,"description":"Operacja została anulowana przez system"}`, "", 550},
		{"NoSerial", `{"code":200,"description":"Wniosek obsłużony"}`, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			polls := 0
			_, c := newCertServer(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
				if r.URL.Path != "/v2/certificates/enrollments/"+fakeEnrollRef {
					t.Errorf("path %s", r.URL.Path)
				}
				polls++
				st := `{"code":100,"description":"Wniosek przyjęty do realizacji"}`
				if polls > 2 {
					st = tt.final
				}
				fmt.Fprintf(w, `{"requestDate":"2026-11-21T12:00:00Z","status":%s}`, st)
			})
			serial, err := c.WaitEnrollment(context.Background(), fakeEnrollRef)
			var se *ksefapi.StatusError
			switch {
			case tt.wantSerial != "":
				if err != nil || serial != tt.wantSerial {
					t.Fatalf("WaitEnrollment = %q, %v; want %q", serial, err, tt.wantSerial)
				}
			case tt.wantCode != 0:
				if !errors.As(err, &se) || se.Code != tt.wantCode || se.Retryable() != (tt.wantCode == 550) {
					t.Fatalf("WaitEnrollment = %q, %v; want a StatusError %d", serial, err, tt.wantCode)
				}
			default:
				if err == nil {
					t.Fatalf("WaitEnrollment = %q, want an error", serial)
				}
			}
			if polls != 3 {
				t.Errorf("polls = %d, want 3", polls)
			}
		})
	}
}

func TestQueryCertificatesPages(t *testing.T) {
	item := func(serial, status string) string {
		return fmt.Sprintf(`{"certificateSerialNumber":%q,"name":"posagent","type":"Offline","commonName":"5265877635","status":%q,`+
			`"subjectIdentifier":{"type":"Nip","value":"5265877635"},"validFrom":"2026-01-01T00:00:00Z","validTo":"2028-01-01T00:00:00Z","requestDate":"2026-01-01T00:00:00Z"}`, serial, status)
	}
	cs, c := newCertServer(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		switch r.URL.Query().Get("pageOffset") {
		case "0":
			fmt.Fprintf(w, `{"certificates":[%s],"hasMore":true}`, item("0000000000000001", "Active"))
		case "1":
			fmt.Fprintf(w, `{"certificates":[%s],"hasMore":false}`, item("0321C82DA41B4362", "Revoked"))
		default:
			t.Errorf("page %s", r.URL.RawQuery)
		}
	})
	info, ok, err := c.CertificateStatusOf(context.Background(), "0321C82DA41B4362")
	if err != nil || !ok || info.Status != ksefapi.CertRevoked || info.Status.Usable() {
		t.Fatalf("CertificateStatusOf = %+v, %v, %v", info, ok, err)
	}
	if len(cs.calls) != 2 || !strings.Contains(cs.calls[1], "pageOffset=1") || !strings.Contains(cs.calls[0], "pageSize=50") {
		t.Errorf("calls = %v", cs.calls)
	}
	if _, ok, err := c.CertificateStatusOf(context.Background(), "00000000000000FF"); ok || err != nil {
		t.Errorf("unknown serial: ok=%v err=%v", ok, err)
	}
}

func TestCertificateLimitsAllows(t *testing.T) {
	tests := []struct {
		l    ksefapi.CertificateLimits
		want bool
	}{
		{ksefapi.CertificateLimits{CanRequest: true, Enrollment: ksefapi.Limits{300, 1}, Certificate: ksefapi.Limits{100, 1}}, true},
		{ksefapi.CertificateLimits{CanRequest: false, Enrollment: ksefapi.Limits{300, 1}, Certificate: ksefapi.Limits{100, 1}}, false},
		{ksefapi.CertificateLimits{CanRequest: true, Enrollment: ksefapi.Limits{300, 0}, Certificate: ksefapi.Limits{100, 1}}, false},
		{ksefapi.CertificateLimits{CanRequest: true, Enrollment: ksefapi.Limits{300, 1}, Certificate: ksefapi.Limits{100, 0}}, false},
	}
	for _, tt := range tests {
		if got := tt.l.Allows(); got != tt.want {
			t.Errorf("%+v.Allows() = %v, want %v", tt.l, got, tt.want)
		}
	}
}

// TestOnLogin: the hook sees every login with its method and outcome, and
// SetCredentials switches the method of the next one.
func TestOnLogin(t *testing.T) {
	f := newFake(t)
	type login struct {
		method string
		ok     bool
	}
	var (
		mu   sync.Mutex
		seen []login
	)
	c, err := ksefapi.New(ksefapi.Config{BaseURL: f.srv.URL + "/v2", HTTPClient: f.srv.Client(), Context: testCtx,
		Auth: ksefapi.TokenAuth{Token: fakeKsefToken}, Now: func() time.Time { return fakeNow },
		PollInterval: time.Millisecond, PollMax: 5 * time.Millisecond,
		OnLogin: func(method string, err error) {
			mu.Lock()
			seen = append(seen, login{method, err == nil})
			mu.Unlock()
		}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Authenticate(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/v2/auth/challenge" {
			w.WriteHeader(http.StatusBadGateway)
			return true
		}
		return false
	})
	if _, err := c.Authenticate(context.Background()); err == nil {
		t.Fatal("login through a 502 succeeded")
	}
	if got := c.AuthMethod(); got != "token" {
		t.Errorf("AuthMethod = %q", got)
	}
	if err := c.SetCredentials(ksefapi.XAdESAuth{}); !errors.Is(err, ksefapi.ErrInvalidConfig) {
		t.Errorf("SetCredentials(empty XAdES) = %v, want ErrInvalidConfig", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetCredentials(ksefapi.XAdESAuth{Signer: key, Certificate: selfSigned(t, key)}); err != nil {
		t.Fatal(err)
	}
	f.setHook(nil)
	if _, err := c.Authenticate(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []login{{"token", true}, {"token", false}, {"xades", true}}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("logins = %v, want %v", seen, want)
	}
}
