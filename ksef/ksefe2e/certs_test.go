package ksefe2e_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/certstore"
	"github.com/posagent/posagent/certstore/certstoretest"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/ksef/ksefapi"
	"github.com/posagent/posagent/ksef/ksefsim"
	"github.com/posagent/posagent/ksef/ksefsim/ksefsimtest"
)

// enroll runs the documented enrollment (ksef-api.md §2) with an
// XAdES-logged-in client: limits, data, a CSR with those attributes made by
// a certstore, enroll, poll, retrieve, import. It returns the store the
// certificate is installed in and the certificate's facts.
func enroll(t *testing.T, h *harness, c *ksefapi.Client, typ ksefapi.CertificateType) (*certstore.Store, *certstore.Info) {
	t.Helper()
	lim, err := c.CertificateLimits(ctx(t))
	if err != nil || !lim.Allows() {
		t.Fatalf("CertificateLimits = %+v, %v", lim, err)
	}
	data, err := c.EnrollmentData(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	// On the harness clock: KSeF dated the certificate by it.
	store := certstoretest.NewStore(t, h.clk.Now)
	subj := certstore.Subject{CommonName: data.CommonName, CountryName: data.CountryName, Surname: data.Surname,
		SerialNumber: data.SerialNumber, UniqueIdentifier: data.UniqueIdentifier,
		OrganizationName: data.OrganizationName, OrganizationIdentifier: data.OrganizationIdentifier}
	if data.GivenName != "" {
		subj.GivenNames = []string{data.GivenName}
	}
	csr, err := store.CreateCSR(usageOf(typ), subj, certstore.KeyEC)
	if err != nil {
		t.Fatal(err)
	}
	en, err := c.Enroll(ctx(t), ksefapi.EnrollRequest{Name: "posagent KASA01", Type: typ, CSR: csr.DER})
	if err != nil {
		t.Fatal(err)
	}
	serial, err := c.WaitEnrollment(ctx(t), en.ReferenceNumber)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.RetrieveCertificates(ctx(t), serial)
	if err != nil || len(got) != 1 || got[0].Type != typ {
		t.Fatalf("RetrieveCertificates = %+v, %v", got, err)
	}
	info, err := store.ImportCertificate(usageOf(typ), got[0].DER)
	if err != nil {
		t.Fatalf("ImportCertificate: %v", err)
	}
	if info.Serial != serial {
		t.Errorf("installed serial %s, want %s", info.Serial, serial)
	}
	return store, info
}

func usageOf(typ ksefapi.CertificateType) certstore.Usage {
	if typ == ksefapi.CertAuthentication {
		return certstore.Authentication
	}
	return certstore.Offline
}

// enrollCert enrolls a certificate (enroll), then queries it and revokes it.
// It returns the installed certificate.
func enrollCert(t *testing.T, h *harness, c *ksefapi.Client, typ ksefapi.CertificateType) *certstore.Info {
	t.Helper()
	_, info := enroll(t, h, c, typ)
	serial := info.Serial
	st, ok, err := c.CertificateStatusOf(ctx(t), serial)
	if err != nil || !ok || st.Status != ksefapi.CertActive || st.Type != typ {
		t.Fatalf("CertificateStatusOf = %+v, %v, %v", st, ok, err)
	}
	if err := c.RevokeCertificate(ctx(t), serial, ksefapi.RevokeSuperseded); err != nil {
		t.Fatal(err)
	}
	if st, _, err := c.CertificateStatusOf(ctx(t), serial); err != nil || st.Status != ksefapi.CertRevoked {
		t.Fatalf("after revoke: %+v, %v", st, err)
	}
	return info
}

// TestEnrollAndLogIn: an Authentication certificate enrolled through the
// client logs in; the certificate enrolled as Offline does not (an Offline
// certificate cannot authenticate, ksef-api.md §2).
func TestEnrollAndLogIn(t *testing.T) {
	h := start(t, ksefsim.Options{DisableRateLimits: true})
	seal := h.client(h.xadesAuth(ksefsimtest.NIP, certstore.KeyEC), nil)
	if _, err := seal.Authenticate(ctx(t)); err != nil {
		t.Fatal(err)
	}
	for _, typ := range []ksefapi.CertificateType{ksefapi.CertAuthentication, ksefapi.CertOffline} {
		store, _ := enroll(t, h, seal, typ)
		cert, err := store.Load(usageOf(typ))
		if err != nil {
			t.Fatal(err)
		}
		c := h.client(ksefapi.XAdESAuth{Signer: cert, Certificate: cert.Certificate()}, nil)
		_, err = c.Authenticate(ctx(t))
		var se *ksefapi.StatusError
		switch typ {
		case ksefapi.CertAuthentication:
			if err != nil {
				t.Fatalf("login with the enrolled Authentication certificate: %v", err)
			}
		case ksefapi.CertOffline:
			if !errors.As(err, &se) || se.Code != 460 {
				t.Fatalf("login with the Offline certificate = %v, want status 460", err)
			}
		}
	}
}

// TestTokenEndsAtNewYear: on the simulator's clock a token client works at
// 2026-12-31 23:59 Warsaw and cannot log in at 2027-01-01 00:01 (status 450),
// while an XAdES client can.
func TestTokenEndsAtNewYear(t *testing.T) {
	h := startAt(t, ksefsim.Options{DisableRateLimits: true}, time.Date(2026, 12, 31, 23, 59, 0, 0, ksef.Warsaw))
	c := h.tokenClient()
	s := openOnline(t, c)
	sendAccepted(t, c, s, invoice(t, "FV/NY/1", h.clk.today(), "1.00"), "at 23:59")
	h.clk.Advance(2 * time.Minute)
	_, err := c.Authenticate(ctx(t))
	var se *ksefapi.StatusError
	if !errors.As(err, &se) || se.Code != 450 || !strings.Contains(strings.Join(se.Details, " "), "nieaktywny") {
		t.Fatalf("token login at 00:01 = %v, want status 450 Token nieaktywny", err)
	}
	x := h.client(h.xadesAuth(ksefsimtest.NIP, certstore.KeyEC), nil)
	s2 := openOnline(t, x)
	sendAccepted(t, x, s2, invoice(t, "FV/NY/2", h.clk.today(), "2.00"), "at 00:01 with XAdES")
}
