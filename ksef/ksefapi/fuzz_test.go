package ksefapi_test

import (
	"encoding/base64"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/posagent/posagent/internal/testutil"
	"github.com/posagent/posagent/ksef/ksefapi"
)

func FuzzParseError(f *testing.F) {
	f.Add(400, `{"title":"Bad Request","status":400,"errors":[{"code":21155,"description":"x","details":["d"]}]}`, "")
	f.Add(400, `{"exception":{"exceptionDetailList":[{"exceptionCode":21470,"exceptionDescription":"k"}]}}`, "")
	f.Add(429, `{"status":{"code":429,"description":"Too Many Requests","details":[]}}`, "30")
	f.Add(502, `<html>Bad Gateway</html>`, "Sat, 21 Nov 2026 12:01:00 GMT")
	f.Add(500, `{"status":"x"}`, "-1")
	f.Add(408, ``, "9223372036854775807")
	f.Fuzz(func(t *testing.T, status int, body, retryAfter string) {
		e := ksefapi.ParseError("op", status, http.Header{"Retry-After": {retryAfter}}, []byte(body), fakeNow)
		if e == nil || e.Status != status || e.RetryAfter < 0 || e.RetryAfter > ksefapi.MaxRetryAfter {
			t.Fatalf("ParseError = %+v", e)
		}
		_ = e.Error()
		_ = e.Retryable()
	})
}

func FuzzParseInvoiceStatus(f *testing.F) {
	f.Add(`{"ordinalNumber":1,"referenceNumber":"r","invoiceHash":"h","invoicingDate":"2026-11-21T12:00:00Z","status":{"code":440,"description":"Duplikat","extensions":{"originalKsefNumber":"k"}}}`)
	f.Add(`{"status":{"code":200}}`)
	f.Fuzz(func(t *testing.T, body string) {
		st, err := ksefapi.ParseInvoiceStatus([]byte(body))
		if err != nil {
			return
		}
		if st.ReferenceNumber == "" || st.Code() == 0 {
			t.Fatalf("accepted %q as %+v", body, st)
		}
		_ = st.Err()
		_ = st.OriginalKsefNumber()
	})
}

func FuzzParseUPO(f *testing.F) {
	for _, name := range []string{"upo-faktura-kontekst-id-nip.xml", "upo-sesja-kontekst-id-nip.xml"} {
		b, err := os.ReadFile(testutil.Official("ksef/upo/" + name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`<Potwierdzenie xmlns="http://upo.schematy.mf.gov.pl/KSeF/v4-3"/>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := ksefapi.ParseUPO(b)
		if err != nil {
			return
		}
		if len(u.Documents) == 0 || u.SessionReferenceNumber == "" {
			t.Fatalf("accepted an empty UPO: %+v", u)
		}
	})
}

func FuzzParseAvailability(f *testing.F) {
	f.Add(`{"status":"AVAILABLE","messages":[]}`)
	f.Add(`{"status":"FAILURE","messages":[{"id":1,"eventId":"x","version":null}]}`)
	f.Fuzz(func(t *testing.T, body string) {
		a, err := ksefapi.ParseAvailability([]byte(body))
		if err != nil {
			return
		}
		switch a.Status {
		case ksefapi.Available, ksefapi.Maintenance, ksefapi.Failure, ksefapi.TotalFailure:
		default:
			t.Fatalf("accepted status %q", a.Status)
		}
	})
}

func FuzzParsePublicKeys(f *testing.F) {
	f.Add(`[]`)
	f.Add(`[{"certificate":"AAAA","publicKeyId":"x","usage":["KsefTokenEncryption"]}]`)
	f.Fuzz(func(t *testing.T, body string) {
		keys, err := ksefapi.ParsePublicKeys([]byte(body))
		if err != nil {
			return
		}
		for _, k := range keys {
			if k.RSA == nil || k.Certificate == nil || k.PublicKeyID == "" {
				t.Fatalf("accepted key without RSA key or id: %+v", k)
			}
		}
		_, _ = ksefapi.SelectKey(keys, ksefapi.UsageSymmetricKey, time.Now())
	})
}

func FuzzParseRetrievedCertificates(f *testing.F) {
	f.Add(retrieveBody("0321C82DA41B4362", "Offline", base64.StdEncoding.EncodeToString(testCertDER(f, 0x0321C82DA41B4362))))
	f.Add(`{"certificates":[]}`)
	f.Add(retrieveBody("0000000000000001", "Authentication", "MAA="))
	f.Fuzz(func(t *testing.T, body string) {
		certs, err := ksefapi.ParseRetrievedCertificates([]byte(body))
		if err != nil {
			return
		}
		for _, c := range certs {
			if c.Certificate == nil || ksefapi.SerialOf(c.Certificate) != c.Serial || !ksefapi.ValidSerial(c.Serial) {
				t.Fatalf("accepted %q as %+v", body, c)
			}
		}
	})
}
