package ksefapi_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/posagent/posagent/internal/openapischema"
	"github.com/posagent/posagent/ksef/ksefapi"
)

func TestParseError(t *testing.T) {
	doc := openapischema.Load(t)
	tests := []struct {
		name   string
		status int
		header http.Header
		schema string // the fixture must conform to it ("" for non-JSON bodies)
		body   string
		want   ksefapi.APIError
	}{
		{"problem details", 400, nil, "BadRequestProblemDetails",
			`{"title":"Bad Request","status":400,"instance":"/v2/sessions/online","detail":"Żądanie jest nieprawidłowe.","errors":[{"code":21405,"description":"Błąd walidacji danych wejściowych.","details":["Wskazany kod formularza nie jest wspierany."]},{"code":21157,"description":"Nieprawidłowy rozmiar części pakietu.","details":["Rozmiar części 1 przekroczył dozwolony rozmiar 100MB."]}],"timestamp":"2025-07-11T12:23:56.0154302+00:00","traceId":"673843e023c432286660bc0501a3af44"}`,
			ksefapi.APIError{Status: 400, Codes: []int{21405, 21157}, Description: "Błąd walidacji danych wejściowych.",
				Details: []string{"Wskazany kod formularza nie jest wspierany.", "Rozmiar części 1 przekroczył dozwolony rozmiar 100MB."}, TraceID: "673843e023c432286660bc0501a3af44"}},
		{"legacy exception", 400, nil, "ExceptionResponse",
			`{"exception":{"exceptionDetailList":[{"exceptionCode":21470,"exceptionDescription":"Nieznany klucz.","details":null}],"referenceNumber":"20250625-EE-319D7EE000-B67F415CDC-2C","serviceCode":"00-c02c","serviceCtx":"srvABCDA","serviceName":"Undefined","timestamp":"2025-10-11T12:23:56.0154302+00:00"}}`,
			ksefapi.APIError{Status: 400, Codes: []int{21470}, Description: "Nieznany klucz.", TraceID: "00-c02c",
				Extensions: map[string]string{"referenceNumber": "20250625-EE-319D7EE000-B67F415CDC-2C"}}},
		{"legacy 429", 429, http.Header{"Retry-After": {"30"}}, "TooManyRequestsResponse",
			`{"status":{"code":429,"description":"Too Many Requests","details":["Przekroczono limit 20 żądań na minutę. Spróbuj ponownie po 30 sekundach."]}}`,
			ksefapi.APIError{Status: 429, Description: "Too Many Requests", RetryAfter: 30 * time.Second,
				Details: []string{"Przekroczono limit 20 żądań na minutę. Spróbuj ponownie po 30 sekundach."}}},
		{"forbidden", 403, nil, "ForbiddenProblemDetails",
			`{"title":"Forbidden","status":403,"detail":"Brak uprawnień.","reasonCode":"missing-permissions","timestamp":"2026-11-21T12:00:00Z"}`,
			ksefapi.APIError{Status: 403, Description: "Forbidden", Details: []string{"Brak uprawnień."}, Extensions: map[string]string{"reasonCode": "missing-permissions"}}},
		{"html gateway", 502, http.Header{"Content-Type": {"text/html; charset=utf-8"}}, "", `<html><h1>Bad Gateway</h1></html>`,
			ksefapi.APIError{Status: 502, Description: "Bad Gateway"}},
		{"empty 503 with date", 503, http.Header{"Retry-After": {fakeNow.Add(2 * time.Minute).Format(http.TimeFormat)}}, "", ``,
			ksefapi.APIError{Status: 503, Description: "Service Unavailable", RetryAfter: 2 * time.Minute}},
		// A broken proxy must not park invoices for days (or overflow to a
		// negative delay): Retry-After is capped.
		{"retry-after overflow", 429, http.Header{"Retry-After": {"9223372036854775807"}}, "", ``,
			ksefapi.APIError{Status: 429, Description: "Too Many Requests", RetryAfter: ksefapi.MaxRetryAfter}},
		{"retry-after beyond uint64", 429, http.Header{"Retry-After": {"99999999999999999999999"}}, "", ``,
			ksefapi.APIError{Status: 429, Description: "Too Many Requests", RetryAfter: ksefapi.MaxRetryAfter}},
		{"retry-after date next week", 503, http.Header{"Retry-After": {fakeNow.Add(7 * 24 * time.Hour).Format(http.TimeFormat)}}, "", ``,
			ksefapi.APIError{Status: 503, Description: "Service Unavailable", RetryAfter: ksefapi.MaxRetryAfter}},
		{"retry-after negative", 429, http.Header{"Retry-After": {"-30"}}, "", ``,
			ksefapi.APIError{Status: 429, Description: "Too Many Requests"}},
		{"retry-after date past", 503, http.Header{"Retry-After": {fakeNow.Add(-time.Minute).Format(http.TimeFormat)}}, "", ``,
			ksefapi.APIError{Status: 503, Description: "Service Unavailable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.schema != "" {
				if err := doc.Validate(tt.schema, []byte(tt.body)); err != nil {
					t.Fatalf("fixture does not conform: %v", err)
				}
			}
			h := tt.header
			if h == nil {
				h = http.Header{}
			}
			got := ksefapi.ParseError("op", tt.status, h, []byte(tt.body), fakeNow)
			got.Op = ""
			gotErr := got.Err
			got.Err = nil
			if !reflect.DeepEqual(*got, tt.want) {
				t.Fatalf("ParseError() =\n%#v\nwant\n%#v", *got, tt.want)
			}
			if tt.schema == "" && len(tt.body) > 0 && gotErr == nil {
				t.Fatal("non-JSON body: Err not set")
			}
		})
	}
}

func TestParsePublicKeysAndSelect(t *testing.T) {
	keys := theMFKeys(t)
	doc := openapischema.Load(t)
	item := func(k *mfKey, from, to string, usage ...string) map[string]any {
		return map[string]any{"certificate": k.der, "certificateId": "Y2VydA==", "publicKeyId": k.id, "validFrom": from, "validTo": to, "usage": usage}
	}
	list := []any{
		item(keys[0], "2025-01-01T00:00:00Z", "2027-01-01T00:00:00Z", "KsefTokenEncryption"),
		item(keys[1], "2025-01-01T00:00:00Z", "2027-01-01T00:00:00Z", "SymmetricKeyEncryption"),
		item(keys[2], "2026-06-01T00:00:00Z", "2027-01-01T00:00:00Z", "SymmetricKeyEncryption"), // newer: wins
		item(keys[0], "2026-12-01T00:00:00Z", "2028-01-01T00:00:00Z", "SymmetricKeyEncryption"), // not yet valid
	}
	for _, it := range list {
		if err := doc.ValidateValue("PublicKeyCertificate", it); err != nil {
			t.Fatal(err)
		}
	}
	body, _ := json.Marshal(list)
	parsed, err := ksefapi.ParsePublicKeys(body)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		usage ksefapi.KeyUsage
		now   time.Time
		want  string
	}{
		{ksefapi.UsageKsefToken, fakeNow, keys[0].id},
		{ksefapi.UsageSymmetricKey, fakeNow, keys[2].id},
		{ksefapi.UsageSymmetricKey, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), keys[1].id},
		{ksefapi.UsageSymmetricKey, time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC), keys[0].id},
		{ksefapi.UsageKsefToken, time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC), ""},
	}
	for _, tt := range tests {
		k, err := ksefapi.SelectKey(parsed, tt.usage, tt.now)
		if tt.want == "" {
			if !errors.Is(err, ksefapi.ErrNoPublicKey) {
				t.Errorf("SelectKey(%s, %v) err = %v, want ErrNoPublicKey", tt.usage, tt.now, err)
			}
			continue
		}
		if err != nil || k.PublicKeyID != tt.want {
			t.Errorf("SelectKey(%s, %v) = %s, %v; want %s", tt.usage, tt.now, k.PublicKeyID, err, tt.want)
		}
	}
	if _, err := ksefapi.ParsePublicKeys([]byte(`[{"certificate":"AAAA"}]`)); err == nil {
		t.Fatal("ParsePublicKeys accepted a broken certificate")
	}
}

func TestEncryptCBC(t *testing.T) {
	key := make([]byte, 32)
	iv := make([]byte, 16)
	rand.Read(key)
	rand.Read(iv)
	for _, n := range []int{1, 15, 16, 17, 6480, 100_003} {
		plain := bytes.Repeat([]byte{'x'}, n)
		ct, err := ksefapi.EncryptCBC(key, iv, plain)
		if err != nil {
			t.Fatal(err)
		}
		if want := (n/16 + 1) * 16; len(ct) != want {
			t.Errorf("EncryptCBC(%d bytes) = %d bytes, want %d", n, len(ct), want)
		}
		back, err := ksefapi.DecryptCBC(key, iv, ct)
		if err != nil || !bytes.Equal(back, plain) {
			t.Errorf("round trip of %d bytes failed: %v", n, err)
		}
	}
	ct, _ := ksefapi.EncryptCBC(key, iv, []byte("abc"))
	ct[len(ct)-1] ^= 0xff
	if _, err := ksefapi.DecryptCBC(key, iv, ct); err == nil {
		t.Error("DecryptCBC accepted a corrupted last block")
	}
}

func TestParseAvailability(t *testing.T) {
	tests := []struct {
		body    string
		want    ksefapi.AvailabilityStatus
		wantErr bool
	}{
		{`{"status":"AVAILABLE","messages":[]}`, ksefapi.Available, false},
		{`{"status":"TOTAL_FAILURE","messages":[{"id":"a1","eventId":12,"category":"TOTAL_FAILURE","type":"FAILURE_START","title":"Awaria","text":"…","start":"2026-11-21T10:00:00+01:00","end":null,"version":2,"published":"2026-11-21T10:05:00+01:00"}]}`, ksefapi.TotalFailure, false},
		{`{"status":"DOWN"}`, "", true},
		{`<html>`, "", true},
	}
	for _, tt := range tests {
		a, err := ksefapi.ParseAvailability([]byte(tt.body))
		if (err != nil) != tt.wantErr {
			t.Fatalf("ParseAvailability(%s) err = %v", tt.body, err)
		}
		if err == nil && a.Status != tt.want {
			t.Fatalf("ParseAvailability(%s) = %s, want %s", tt.body, a.Status, tt.want)
		}
	}
}

func TestParseInvoiceStatusConforms(t *testing.T) {
	doc := openapischema.Load(t)
	for _, code := range []int{100, 200, 440, 450} {
		b, _ := json.Marshal(invoiceStatusJSON(1, code))
		if err := doc.Validate("SessionInvoiceStatusResponse", b); err != nil {
			t.Fatalf("fixture %d: %v", code, err)
		}
		st, err := ksefapi.ParseInvoiceStatus(b)
		if err != nil || st.Code() != code {
			t.Fatalf("ParseInvoiceStatus(%d) = %+v, %v", code, st, err)
		}
		if got, want := st.Err() != nil, code >= 300; got != want {
			t.Fatalf("code %d: Err() != nil is %v", code, got)
		}
	}
	if _, err := ksefapi.ParseInvoiceStatus([]byte(`{"ordinalNumber":1}`)); err == nil {
		t.Fatal("accepted a status without referenceNumber")
	}
}
