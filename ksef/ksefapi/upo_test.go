package ksefapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/posagent/posagent/internal/testutil"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/ksef/ksefapi"
)

func officialUPO(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(testutil.Official("ksef/upo/" + name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseUPOOfficialSamples(t *testing.T) {
	tests := []struct {
		file      string
		docs      int
		firstKsef string
		firstHash string
		page      int
	}{
		{"upo-faktura-kontekst-id-nip.xml", 1, "5265877635-20250916-0200A0D6723E-C2", "GZMGNVzs3krF6URKgvaw77OOeG3nJ+WGziT5xguliQ8=", 0},
		{"upo-sesja-kontekst-id-nip.xml", 2, "5265877635-20250916-010040741B3E-46", "jli86Kp2Kw7jppX59P8VmjWRcwLTvsPK3DcPEB87mNk=", 1},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			u, err := ksefapi.ParseUPO(officialUPO(t, tt.file))
			if err != nil {
				t.Fatalf("ParseUPO: %v", err)
			}
			if len(u.Documents) != tt.docs {
				t.Fatalf("documents = %d, want %d", len(u.Documents), tt.docs)
			}
			d := u.Documents[0]
			if d.KsefNumber != tt.firstKsef || d.InvoiceHash != tt.firstHash || d.InvoicingMode != "Online" || d.SellerNip != "5265877635" {
				t.Fatalf("first document = %+v", d)
			}
			if u.Page != tt.page || u.ContextNip != "5265877635" || u.FormCode != "FA (3)" || u.SessionReferenceNumber == "" {
				t.Fatalf("header = %+v", u)
			}
			if !strings.Contains(u.ReceivingEntity, "(TE)") {
				t.Fatalf("TE name variant not kept: %q", u.ReceivingEntity)
			}
			if _, ok := u.Document(tt.firstKsef); !ok {
				t.Fatal("Document(ksef) not found")
			}
		})
	}
}

func TestParseUPORejects(t *testing.T) {
	good := string(officialUPO(t, "upo-faktura-kontekst-id-nip.xml"))
	tests := []struct{ name, doc string }{
		{"wrong namespace", strings.Replace(good, "KSeF/v4-3", "KSeF/v4-2", 1)},
		{"no documents", good[:strings.Index(good, "<Dokument>")] + "</Potwierdzenie>"},
		{"bad hash", strings.Replace(good, "GZMGNVzs3krF6URKgvaw77OOeG3nJ+WGziT5xguliQ8=", "abc", 1)},
		{"not xml", "{}"},
		{"truncated", good[:200]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ksefapi.ParseUPO([]byte(tt.doc)); err == nil {
				t.Fatal("ParseUPO accepted a bad document")
			}
		})
	}
}

func TestDownloadUPO(t *testing.T) {
	upo := officialUPO(t, "upo-faktura-kontekst-id-nip.xml")
	sum := sha256.Sum256(upo)
	good := base64.StdEncoding.EncodeToString(sum[:])
	tests := []struct {
		name    string
		hash    string
		status  int
		wantErr error
	}{
		{"ok", good, 200, nil},
		{"no hash header", "", 200, nil},
		{"hash mismatch", base64.StdEncoding.EncodeToString(make([]byte, 32)), 200, ksefapi.ErrUPOHashMismatch},
		{"expired link", "", 403, &ksefapi.APIError{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var auth string
			srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				auth = r.Header.Get("Authorization")
				if tt.hash != "" {
					w.Header().Set("x-ms-meta-hash", tt.hash)
				}
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(tt.status)
				if tt.status == 200 {
					w.Write(upo)
				} else {
					w.Write([]byte(`<?xml version="1.0"?><Error><Code>AuthenticationFailed</Code></Error>`))
				}
			}))
			defer srv.Close()
			c2, err := ksefapi.New(ksefapi.Config{BaseURL: "https://api.example.invalid/v2", HTTPClient: srv.Client(), Context: testCtx, Auth: ksefapi.TokenAuth{Token: "t"}})
			if err != nil {
				t.Fatal(err)
			}
			u, raw, err := c2.DownloadUPO(context.Background(), srv.URL+"/upo/x?sv=2025&sig=abc")
			if auth != "" {
				t.Fatalf("UPO download sent Authorization %q", auth)
			}
			switch want := tt.wantErr.(type) {
			case nil:
				if err != nil || len(u.Documents) != 1 || string(raw) != string(upo) {
					t.Fatalf("DownloadUPO() = %v, %v", u, err)
				}
			case *ksefapi.APIError:
				var ae *ksefapi.APIError
				if !errors.As(err, &ae) || ae.Status != tt.status || ae.Retryable() {
					t.Fatalf("DownloadUPO() err = %v, want non-retryable APIError %d", err, tt.status)
				}
			default:
				if !errors.Is(err, want) {
					t.Fatalf("DownloadUPO() err = %v, want %v", err, want)
				}
			}
		})
	}
	c, _ := ksefapi.New(ksefapi.Config{Environment: ksef.EnvTest, Context: testCtx, Auth: ksefapi.TokenAuth{Token: "t"}})
	if _, _, err := c.DownloadUPO(context.Background(), "file:///etc/passwd"); !errors.Is(err, ksefapi.ErrInvalidInput) {
		t.Fatalf("DownloadUPO(file URL) = %v, want ErrInvalidInput", err)
	}
}

func TestInvoiceUPO(t *testing.T) {
	upo := officialUPO(t, "upo-faktura-kontekst-id-nip.xml")
	sum := sha256.Sum256(upo)
	f := newFake(t)
	c := authed(t, f)
	var gotAuth, gotPath string
	f.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasSuffix(r.URL.Path, "/upo") {
			return false
		}
		gotAuth, gotPath = r.Header.Get("Authorization"), r.URL.Path
		w.Header().Set("x-ms-meta-hash", base64.StdEncoding.EncodeToString(sum[:]))
		w.Header().Set("Content-Type", "application/xml")
		w.Write(upo)
		return true
	})
	u, _, err := c.InvoiceUPO(context.Background(), fakeSessionRef, "20250625-EE-319D7EE000-B67F415CDC-2C")
	if err != nil {
		t.Fatalf("InvoiceUPO: %v", err)
	}
	if gotAuth != "Bearer "+f.accessTok || gotPath != "/v2/sessions/"+fakeSessionRef+"/invoices/20250625-EE-319D7EE000-B67F415CDC-2C/upo" {
		t.Fatalf("request %q with %q", gotPath, gotAuth)
	}
	if len(u.Documents) != 1 {
		t.Fatalf("documents = %d", len(u.Documents))
	}
}
