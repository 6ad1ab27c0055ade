package ksefsim_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/certstore"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/ksef/ksefsim"
)

// xadesLogin logs in with id and returns the access token.
func (e *env) xadesLogin(id identity) string {
	e.t.Helper()
	return e.redeem(e.startXAdES(id)).AccessToken.Token
}

// xadesStatus starts an XAdES login with id and returns its final status.
func (e *env) xadesStatus(id identity) (int, string) {
	e.t.Helper()
	code, res := e.authStatus(e.startXAdES(id))
	return code, string(res.body)
}

// startXAdES starts an XAdES login with id and moves the clock on until it
// is no longer in progress.
func (e *env) startXAdES(id identity) authInit {
	e.t.Helper()
	r := e.do("POST", "/v2/auth/xades-signature", "", signXAdES(e.t, authRequestXML(e.challenge().Challenge, testNIP), id, e.clk.Now()))
	e.want(r, 202, "AuthenticationInitResponse")
	var init authInit
	r.json(e.t, &init)
	for range 100 {
		if code, _ := e.authStatus(init); code != 100 {
			break
		}
		e.clk.Add(time.Second)
	}
	return init
}

type enrollData struct {
	CommonName             string `json:"commonName"`
	CountryName            string `json:"countryName"`
	GivenName              string `json:"givenName"`
	Surname                string `json:"surname"`
	SerialNumber           string `json:"serialNumber"`
	OrganizationName       string `json:"organizationName"`
	OrganizationIdentifier string `json:"organizationIdentifier"`
}

func (d enrollData) subject() certstore.Subject {
	s := certstore.Subject{CommonName: d.CommonName, CountryName: d.CountryName, Surname: d.Surname,
		SerialNumber: d.SerialNumber, OrganizationName: d.OrganizationName, OrganizationIdentifier: d.OrganizationIdentifier}
	if d.GivenName != "" {
		s.GivenNames = []string{d.GivenName}
	}
	return s
}

// enrollFlow runs data → CSR → enroll → status → retrieve and returns the
// identity of the issued certificate.
func (e *env) enrollFlow(access, typ string, subj func(*certstore.Subject)) identity {
	e.t.Helper()
	r := e.do("GET", "/v2/certificates/enrollments/data", access, nil)
	e.want(r, 200, "CertificateEnrollmentDataResponse")
	var d enrollData
	r.json(e.t, &d)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		e.t.Fatal(err)
	}
	s := d.subject()
	if subj != nil {
		subj(&s)
	}
	csr, err := certstore.NewCSR(key, s)
	if err != nil {
		e.t.Fatal(err)
	}
	r = e.do("POST", "/v2/certificates/enrollments", access, map[string]any{"certificateName": "posagent KASA01", "certificateType": typ, "csr": csr.DER})
	e.want(r, 202, "EnrollCertificateResponse")
	var en struct{ ReferenceNumber string }
	r.json(e.t, &en)
	var st struct {
		Status struct {
			Code    int
			Details []string
		}
		CertificateSerialNumber string
	}
	for range 100 {
		r = e.do("GET", "/v2/certificates/enrollments/"+en.ReferenceNumber, access, nil)
		e.want(r, 200, "CertificateEnrollmentStatusResponse")
		r.json(e.t, &st)
		if st.Status.Code != 100 {
			break
		}
		e.clk.Add(time.Second)
	}
	if st.Status.Code != 200 || st.CertificateSerialNumber == "" {
		e.t.Fatalf("enrollment status = %s", r.body)
	}
	r = e.do("POST", "/v2/certificates/retrieve", access, map[string]any{"certificateSerialNumbers": []string{st.CertificateSerialNumber}})
	e.want(r, 200, "RetrieveCertificatesResponse")
	var got struct {
		Certificates []struct {
			Certificate             []byte
			CertificateSerialNumber string
			CertificateType         string
		}
	}
	r.json(e.t, &got)
	if len(got.Certificates) != 1 || got.Certificates[0].CertificateType != typ {
		e.t.Fatalf("retrieve = %s", r.body)
	}
	cert, err := x509.ParseCertificate(got.Certificates[0].Certificate)
	if err != nil {
		e.t.Fatal(err)
	}
	return identity{signer: key, cert: cert, ec: true}
}

func (e *env) caCert() *x509.Certificate {
	e.t.Helper()
	b, _ := pem.Decode(e.sim.CACertificatePEM())
	ca, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		e.t.Fatal(err)
	}
	return ca
}

func (e *env) certStatus(access, serial string) string {
	e.t.Helper()
	r := e.do("POST", "/v2/certificates/query?pageSize=10", access, map[string]any{"certificateSerialNumber": serial})
	e.want(r, 200, "QueryCertificatesResponse")
	var q struct {
		Certificates []struct{ Status string }
	}
	r.json(e.t, &q)
	if len(q.Certificates) != 1 {
		e.t.Fatalf("query %s = %s", serial, r.body)
	}
	return q.Certificates[0].Status
}

// TestEnrollment follows ksef-api.md §2 end to end: an XAdES login gets the
// enrollment data, a CSR with exactly those attributes gets a certificate
// signed by the simulator's CA with the keyUsage of its type; the issued
// Authentication certificate logs in, the Offline one cannot, and a revoked
// or blocked one is refused.
func TestEnrollment(t *testing.T) {
	e := newEnv(t, &ksefsim.Options{ProcessingDelay: time.Second, CertificateValidity: 30 * 24 * time.Hour, DisableRateLimits: true})
	seal := newIdentity(t, testNIP, true)
	access := e.xadesLogin(seal)

	r := e.do("GET", "/v2/certificates/limits", access, nil)
	e.want(r, 200, "CertificateLimitsResponse")
	if !strings.Contains(string(r.body), `"canRequest":true`) || !strings.Contains(string(r.body), `"remaining":300`) {
		t.Fatalf("limits = %s", r.body)
	}

	// The status is "accepted" until the processing delay has passed.
	r = e.do("GET", "/v2/certificates/enrollments/data", access, nil)
	var d enrollData
	r.json(t, &d)
	if d.SerialNumber != "TINPL-"+testNIP || d.CommonName != seal.cert.Subject.CommonName || d.CountryName != "PL" {
		t.Fatalf("enrollment data = %s, want the login certificate's subject", r.body)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr, err := certstore.NewCSR(key, d.subject())
	if err != nil {
		t.Fatal(err)
	}
	r = e.do("POST", "/v2/certificates/enrollments", access, map[string]any{"certificateName": "posagent KASA01", "certificateType": "Offline", "csr": csr.DER})
	e.want(r, 202, "EnrollCertificateResponse")
	var en struct{ ReferenceNumber string }
	r.json(t, &en)
	r = e.do("GET", "/v2/certificates/enrollments/"+en.ReferenceNumber, access, nil)
	e.want(r, 200, "CertificateEnrollmentStatusResponse")
	if !strings.Contains(string(r.body), `"code":100`) || strings.Contains(string(r.body), "certificateSerialNumber") {
		t.Fatalf("status before the delay = %s", r.body)
	}
	e.clk.Add(time.Second)

	auth := e.enrollFlow(access, "Authentication", nil)
	off := e.enrollFlow(access, "Offline", nil)
	ca := e.caCert()
	for _, tt := range []struct {
		id identity
		ku x509.KeyUsage
	}{{auth, x509.KeyUsageDigitalSignature}, {off, x509.KeyUsageContentCommitment}} {
		if err := tt.id.cert.CheckSignatureFrom(ca); err != nil {
			t.Errorf("certificate %s is not signed by the simulator's CA: %v", tt.id.cert.SerialNumber, err)
		}
		if tt.id.cert.KeyUsage != tt.ku {
			t.Errorf("keyUsage = %b, want %b", tt.id.cert.KeyUsage, tt.ku)
		}
		if got := tt.id.cert.NotAfter.Sub(tt.id.cert.NotBefore); got != 30*24*time.Hour {
			t.Errorf("validity = %v", got)
		}
		if !strings.Contains(tt.id.cert.Subject.String(), "TINPL-"+testNIP) {
			t.Errorf("subject %s lost the CSR's attributes", tt.id.cert.Subject)
		}
	}

	// The issued Authentication certificate logs in, with or without a chain check.
	if code, body := e.xadesStatus(auth); code != 200 || !strings.Contains(body, "InternalCertificate") {
		t.Fatalf("login with the issued Authentication certificate = %d %s", code, body)
	}
	// An Offline certificate cannot authenticate.
	if code, body := e.xadesStatus(off); code != 460 || !strings.Contains(body, "Offline") {
		t.Fatalf("login with the Offline certificate = %d %s, want 460", code, body)
	}

	serial := func(id identity) string { return strings.ToUpper(id.cert.SerialNumber.Text(16)) }
	pad := func(s string) string { return strings.Repeat("0", 16-len(s)) + s }
	authSerial, offSerial := pad(serial(auth)), pad(serial(off))
	if got := e.certStatus(access, offSerial); got != "Active" {
		t.Fatalf("status = %s", got)
	}
	// Revoke the Offline certificate; a second revocation is refused.
	r = e.do("POST", "/v2/certificates/"+offSerial+"/revoke", access, map[string]any{"revocationReason": "KeyCompromise"})
	e.want(r, 204, "")
	if got := e.certStatus(access, offSerial); got != "Revoked" {
		t.Fatalf("status after revoke = %s", got)
	}
	e.wantCode(e.do("POST", "/v2/certificates/"+offSerial+"/revoke", access, nil), 400, 25009)
	e.wantCode(e.do("POST", "/v2/certificates/00000000000000AA/revoke", access, nil), 400, 25008)

	// Blocked (suspended) by KSeF: the login is refused.
	if err := e.sim.SetCertificateStatus(authSerial, ksefsim.CertBlocked); err != nil {
		t.Fatal(err)
	}
	if code, body := e.xadesStatus(auth); code != 460 || !strings.Contains(body, "zawieszony") {
		t.Fatalf("login with a blocked certificate = %d %s, want 460", code, body)
	}
	if err := e.sim.SetCertificateStatus(offSerial, ksefsim.CertActive); err == nil {
		t.Error("a revoked certificate was made active again")
	}

	// Validity ends: the query says Expired.
	e.clk.Add(31 * 24 * time.Hour)
	access = e.xadesLogin(seal)
	if err := e.sim.SetCertificateStatus(authSerial, ksefsim.CertActive); err != nil {
		t.Fatal(err)
	}
	if got := e.certStatus(access, authSerial); got != "Expired" {
		t.Fatalf("status after validity = %s", got)
	}
	r = e.do("POST", "/v2/certificates/query?pageSize=10&pageOffset=0", access, map[string]any{"status": "Expired"})
	e.want(r, 200, "QueryCertificatesResponse")
	if n := strings.Count(string(r.body), `"certificateSerialNumber"`); n != 2 {
		t.Errorf("expired certificates = %d, want 2 (the first enrollment and the Authentication one): %s", n, r.body)
	}
}

func TestEnrollmentRefusals(t *testing.T) {
	e := newEnv(t, &ksefsim.Options{CertificateLimit: 1, DisableRateLimits: true})
	token := e.login()
	// After a token login: no data, no enrollment, no revocation, canRequest false.
	e.wantCode(e.do("GET", "/v2/certificates/enrollments/data", token, nil), 400, 25001)
	e.wantCode(e.do("POST", "/v2/certificates/enrollments", token, map[string]any{"certificateName": "posagent", "certificateType": "Offline", "csr": []byte{1}}), 400, 25002)
	r := e.do("GET", "/v2/certificates/limits", token, nil)
	e.want(r, 200, "CertificateLimitsResponse")
	if !strings.Contains(string(r.body), `"canRequest":false`) {
		t.Errorf("limits after a token login = %s", r.body)
	}
	r = e.do("POST", "/v2/certificates/0000000000000001/revoke", token, nil)
	e.want(r, 403, "ForbiddenProblemDetails")
	if !strings.Contains(string(r.body), "auth-method-not-allowed") {
		t.Errorf("revoke after a token login = %s", r.body)
	}

	access := e.xadesLogin(newIdentity(t, testNIP, true))
	r = e.do("GET", "/v2/certificates/enrollments/data", access, nil)
	var d enrollData
	r.json(t, &d)
	post := func(typ, name string, der []byte) result {
		return e.do("POST", "/v2/certificates/enrollments", access, map[string]any{"certificateName": name, "certificateType": typ, "csr": der})
	}
	csrOf := func(key *ecdsa.PrivateKey, s certstore.Subject) []byte {
		csr, err := certstore.NewCSR(key, s)
		if err != nil {
			t.Fatal(err)
		}
		return csr.DER
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	changed := d.subject()
	changed.CommonName += " X"
	extra := d.subject()
	extra.OrganizationName = "Inna sp. z o.o."
	e.wantCode(post("Offline", "posagent", csrOf(key, changed)), 400, 25003)
	e.wantCode(post("Offline", "posagent", csrOf(key, extra)), 400, 25003)
	e.wantCode(post("Offline", "posagent", []byte("not a CSR")), 400, 25004)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	name := pkix.Name{CommonName: d.CommonName, Country: []string{d.CountryName}, SerialNumber: d.SerialNumber}
	if csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: name}, p384); err == nil {
		e.wantCode(post("Offline", "posagent", csr), 400, 25010)
	} else {
		t.Fatal(err)
	}
	e.wantCode(post("Qualified", "posagent", csrOf(key, d.subject())), 400, 21405)
	e.wantCode(post("Offline", "a/b", csrOf(key, d.subject())), 400, 21405)

	// CertificateLimit 1: the second active certificate is refused.
	e.want(post("Offline", "posagent", csrOf(key, d.subject())), 202, "EnrollCertificateResponse")
	e.wantCode(post("Authentication", "posagent", csrOf(key, d.subject())), 400, 25007)
}

// TestTokenCutoff: tokens authenticate until 31 December 2026 (§ 13 ust. 1
// pkt 1 of the KSeF regulation of 12.12.2025), on the simulator's clock in
// Warsaw; tokens of a login made before midnight stop working at midnight.
func TestTokenCutoff(t *testing.T) {
	e := newEnv(t, nil)
	e.clk.Add(time.Date(2026, 12, 31, 23, 59, 0, 0, ksef.Warsaw).Sub(e.clk.Now()))
	access := e.login()
	s := e.openOnline(access)
	if s.ref == "" {
		t.Fatal("no session before midnight")
	}
	e.clk.Add(2 * time.Minute) // 2027-01-01 00:01 Warsaw
	e.want(e.do("GET", "/v2/sessions/"+s.ref, access, nil), 401, "UnauthorizedProblemDetails")
	r := e.startTokenAuth(testNIP, testToken, nil)
	e.want(r, 202, "AuthenticationInitResponse")
	var init authInit
	r.json(t, &init)
	code, res := e.authStatus(init)
	if code != 450 || !strings.Contains(string(res.body), "nieaktywny") {
		t.Fatalf("token login at 00:01 = %d %s, want 450 Token nieaktywny", code, res.body)
	}
	// XAdES keeps working.
	if e.xadesLogin(newIdentity(t, testNIP, true)) == "" {
		t.Fatal("no XAdES access token")
	}
}

// TestCertStateSurvivesRestart: the CA and the issued certificates are in the
// state file, so a restarted simulator still trusts and reports them.
func TestCertStateSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	e := newEnv(t, &ksefsim.Options{StateFile: path})
	access := e.xadesLogin(newIdentity(t, testNIP, true))
	auth := e.enrollFlow(access, "Authentication", nil)
	ca := e.sim.CACertificatePEM()
	if err := e.sim.Save(); err != nil {
		t.Fatal(err)
	}
	e2 := newEnv(t, &ksefsim.Options{StateFile: path, Now: e.clk.Now})
	if string(e2.sim.CACertificatePEM()) != string(ca) {
		t.Fatal("the CA changed across a restart")
	}
	if code, body := e2.xadesStatus(auth); code != 200 {
		t.Fatalf("login after restart = %d %s", code, body)
	}
}

// TestLastUseDate: a certificate's lastUseDate is its last login, not one it
// failed (a context its subject has no rights in: 415).
func TestLastUseDate(t *testing.T) {
	e := newEnv(t, &ksefsim.Options{DisableRateLimits: true})
	access := e.xadesLogin(newIdentity(t, testNIP, true))
	auth := e.enrollFlow(access, "Authentication", nil)
	serial := fmt.Sprintf("%016X", auth.cert.SerialNumber)
	lastUse := func() string {
		t.Helper()
		r := e.do("POST", "/v2/certificates/query?pageSize=10", access, map[string]any{"certificateSerialNumber": serial})
		e.want(r, 200, "QueryCertificatesResponse")
		var q struct {
			Certificates []struct{ LastUseDate string }
		}
		r.json(t, &q)
		if len(q.Certificates) != 1 {
			t.Fatalf("query %s = %s", serial, r.body)
		}
		return q.Certificates[0].LastUseDate
	}
	if got := lastUse(); got != "" {
		t.Fatalf("lastUseDate of a certificate never used = %q", got)
	}
	r := e.do("POST", "/v2/auth/xades-signature", "", signXAdES(t, authRequestXML(e.challenge().Challenge, otherNIP), auth, e.clk.Now()))
	e.want(r, 202, "AuthenticationInitResponse")
	var init authInit
	r.json(t, &init)
	if code, res := e.authStatus(init); code != 415 {
		t.Fatalf("login into another context = %d %s, want 415", code, res.body)
	}
	if got := lastUse(); got != "" {
		t.Errorf("lastUseDate after a failed login = %q, want none", got)
	}
	if code, body := e.xadesStatus(auth); code != 200 {
		t.Fatalf("login = %d %s", code, body)
	}
	if got := lastUse(); got == "" {
		t.Error("no lastUseDate after a login")
	}
}
