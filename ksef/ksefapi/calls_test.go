package ksefapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/ksef/ksefapi"
)

// TestEveryCall runs each client call against four servers: one that answers
// correctly, one that answers with an error status, one that is gone, and one
// reached with a cancelled context.
func TestEveryCall(t *testing.T) {
	statusOK := map[string]any{"dateCreated": "2026-11-21T12:00:00Z", "dateUpdated": "2026-11-21T12:00:00Z",
		"status": map[string]any{"code": 100, "description": "Sesja interaktywna otwarta"}}
	calls := []struct {
		name   string
		ok     any // JSON body of the success answer
		status int // its status
		run    func(ctx context.Context, c *ksefapi.Client, base string) error
	}{
		{"Challenge", map[string]any{"challenge": fakeChallenge, "timestamp": "2026-11-21T12:00:00Z", "timestampMs": 1, "clientIp": "1.2.3.4"}, 200,
			func(ctx context.Context, c *ksefapi.Client, _ string) error { _, err := c.Challenge(ctx); return err }},
		{"PublicKeys", []any{}, 200,
			func(ctx context.Context, c *ksefapi.Client, _ string) error { _, err := c.PublicKeys(ctx); return err }},
		{"SessionStatus", statusOK, 200,
			func(ctx context.Context, c *ksefapi.Client, _ string) error {
				_, err := c.SessionStatus(ctx, fakeSessionRef)
				return err
			}},
		{"InvoiceStatus", invoiceStatusJSON(1, 200), 200,
			func(ctx context.Context, c *ksefapi.Client, _ string) error {
				_, err := c.InvoiceStatus(ctx, fakeSessionRef, "20250625-EE-319D7EE000-B67F415CDC-2C")
				return err
			}},
		{"ListInvoices", map[string]any{"invoices": []any{}}, 200,
			func(ctx context.Context, c *ksefapi.Client, _ string) error {
				_, err := c.ListInvoices(ctx, fakeSessionRef, ksefapi.ListOptions{Failed: true})
				return err
			}},
		{"Redeem", map[string]any{"accessToken": map[string]any{"token": "a", "validUntil": "2026-11-21T13:00:00Z"},
			"refreshToken": map[string]any{"token": "r", "validUntil": "2026-11-28T13:00:00Z"}}, 200,
			func(ctx context.Context, c *ksefapi.Client, _ string) error {
				_, err := c.Redeem(ctx, ksefapi.Token{Token: "auth"})
				return err
			}},
		{"Refresh", map[string]any{"accessToken": map[string]any{"token": "a", "validUntil": "2026-11-21T13:00:00Z"}}, 200,
			func(ctx context.Context, c *ksefapi.Client, _ string) error {
				_, err := c.Refresh(ctx, ksefapi.Token{Token: "r"})
				return err
			}},
		{"AuthStatus", map[string]any{"startDate": "2026-11-21T12:00:00Z", "status": map[string]any{"code": 100, "description": "w toku"}}, 200,
			func(ctx context.Context, c *ksefapi.Client, _ string) error {
				_, err := c.AuthStatus(ctx, &ksefapi.AuthInit{ReferenceNumber: fakeAuthRef, AuthenticationToken: ksefapi.Token{Token: "a"}})
				return err
			}},
		{"Availability", map[string]any{"status": "MAINTENANCE", "messages": []any{map[string]any{"id": 7, "eventId": "e1",
			"category": "MAINTENANCE", "type": "MAINTENANCE_ANNOUNCEMENT", "title": "Prace", "text": "…", "start": "2026-11-21T16:00:00Z", "version": 1}}}, 200,
			func(ctx context.Context, c *ksefapi.Client, _ string) error {
				_, err := c.Availability(ctx)
				return err
			}},
		{"CertificateLimits", map[string]any{"canRequest": true, "enrollment": map[string]any{"limit": 300, "remaining": 299},
			"certificate": map[string]any{"limit": 100, "remaining": 99}}, 200,
			func(ctx context.Context, c *ksefapi.Client, _ string) error {
				_, err := c.CertificateLimits(ctx)
				return err
			}},
		{"EnrollmentData", map[string]any{"commonName": "5265877635", "countryName": "PL", "organizationIdentifier": "VATPL-5265877635"}, 200,
			func(ctx context.Context, c *ksefapi.Client, _ string) error {
				_, err := c.EnrollmentData(ctx)
				return err
			}},
		{"Enroll", map[string]any{"referenceNumber": fakeEnrollRef, "timestamp": "2026-11-21T12:00:00Z"}, 202,
			func(ctx context.Context, c *ksefapi.Client, _ string) error {
				_, err := c.Enroll(ctx, ksefapi.EnrollRequest{Name: "posagent KASA01", Type: ksefapi.CertOffline, CSR: []byte{0x30, 0}})
				return err
			}},
		{"EnrollmentStatus", map[string]any{"requestDate": "2026-11-21T12:00:00Z", "status": map[string]any{"code": 100, "description": "Wniosek przyjęty do realizacji"}}, 200,
			func(ctx context.Context, c *ksefapi.Client, _ string) error {
				_, err := c.EnrollmentStatus(ctx, fakeEnrollRef)
				return err
			}},
		{"RetrieveCertificates", map[string]any{"certificates": []any{}}, 200,
			func(ctx context.Context, c *ksefapi.Client, _ string) error {
				_, err := c.RetrieveCertificates(ctx, "0321C82DA41B4362")
				return err
			}},
		{"RevokeCertificate", nil, 204,
			func(ctx context.Context, c *ksefapi.Client, _ string) error {
				return c.RevokeCertificate(ctx, "0321C82DA41B4362", ksefapi.RevokeKeyCompromise)
			}},
		{"QueryCertificates", map[string]any{"certificates": []any{}, "hasMore": false}, 200,
			func(ctx context.Context, c *ksefapi.Client, _ string) error {
				_, err := c.QueryCertificates(ctx, ksefapi.CertificateQuery{Type: ksefapi.CertOffline})
				return err
			}},
	}
	modes := []string{"success", "non-2xx", "network error", "cancelled context"}
	for _, call := range calls {
		for _, mode := range modes {
			t.Run(call.name+"/"+mode, func(t *testing.T) {
				srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if mode == "non-2xx" {
						w.Header().Set("Content-Type", "application/problem+json")
						w.WriteHeader(http.StatusServiceUnavailable)
						w.Write([]byte(`{"title":"Service Unavailable","status":503,"detail":"Przerwa techniczna."}`))
						return
					}
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(call.status)
					if call.ok != nil {
						json.NewEncoder(w).Encode(call.ok)
					}
				}))
				defer srv.Close()
				c, err := ksefapi.New(ksefapi.Config{BaseURL: srv.URL + "/v2", AvailabilityURL: srv.URL, HTTPClient: srv.Client(),
					Context: testCtx, Auth: ksefapi.TokenAuth{Token: "t"}, Now: func() time.Time { return fakeNow }})
				if err != nil {
					t.Fatal(err)
				}
				c.SetTokens(ksefapi.Tokens{Access: ksefapi.Token{Token: "a", ValidUntil: fakeNow.Add(time.Hour)}})
				ctx := context.Background()
				switch mode {
				case "network error":
					srv.Close()
				case "cancelled context":
					cctx, cancel := context.WithCancel(ctx)
					cancel()
					ctx = cctx
				}
				err = call.run(ctx, c, srv.URL)
				var ae *ksefapi.APIError
				switch mode {
				case "success":
					if err != nil {
						t.Fatalf("err = %v", err)
					}
				case "non-2xx":
					if !errors.As(err, &ae) || ae.Status != 503 || !ae.Retryable() || ae.Description != "Service Unavailable" {
						t.Fatalf("err = %v, want retryable APIError 503", err)
					}
				case "network error":
					if !errors.As(err, &ae) || ae.Status != 0 || !ae.Retryable() {
						t.Fatalf("err = %v, want retryable transport APIError", err)
					}
				case "cancelled context":
					if !errors.Is(err, context.Canceled) || ksefapi.Retryable(err) {
						t.Fatalf("err = %v, want non-retryable context.Canceled", err)
					}
				}
			})
		}
	}
}

func TestAvailabilityNotConfigured(t *testing.T) {
	c, err := ksefapi.New(ksefapi.Config{Environment: ksef.EnvDemo, Context: testCtx, Auth: ksefapi.TokenAuth{Token: "t"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Availability(context.Background()); !errors.Is(err, ksefapi.ErrNoAvailabilityURL) {
		t.Fatalf("Availability() on DEMO = %v, want ErrNoAvailabilityURL", err)
	}
}

func TestSystemWarningLogged(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-System-Warning", "Planowana przerwa techniczna 16:00")
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"challenge":"` + fakeChallenge + `","timestamp":"2026-11-21T12:00:00Z","timestampMs":1,"clientIp":"1.2.3.4"}`))
	}))
	defer srv.Close()
	var logs bytes.Buffer
	c, err := ksefapi.New(ksefapi.Config{BaseURL: srv.URL + "/v2", HTTPClient: srv.Client(), Context: testCtx,
		Auth: ksefapi.TokenAuth{Token: fakeKsefToken}, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Challenge(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "Planowana przerwa") {
		t.Fatalf("warning not logged: %s", logs.String())
	}
	if strings.Contains(logs.String(), "secret") {
		t.Fatalf("token in logs: %s", logs.String())
	}
}

// TestSessionCallsFailures covers the calls that need an open session or a
// login: a cancelled context and a vanished server must give a non-retryable
// context.Canceled and a retryable transport APIError respectively.
func TestSessionCallsFailures(t *testing.T) {
	calls := []struct {
		name string
		run  func(ctx context.Context, c *ksefapi.Client, s *ksefapi.OnlineSession) error
	}{
		{"OpenOnline", func(ctx context.Context, c *ksefapi.Client, _ *ksefapi.OnlineSession) error {
			_, err := c.OpenOnline(ctx)
			return err
		}},
		{"Send", func(ctx context.Context, c *ksefapi.Client, s *ksefapi.OnlineSession) error {
			_, err := c.SendInvoice(ctx, s, []byte("<Faktura/>"), ksefapi.SendOptions{})
			return err
		}},
		{"Close", func(ctx context.Context, c *ksefapi.Client, s *ksefapi.OnlineSession) error {
			return c.CloseOnline(ctx, s)
		}},
		{"SendBatch", func(ctx context.Context, c *ksefapi.Client, _ *ksefapi.OnlineSession) error {
			_, err := c.SendBatch(ctx, func(yield func(string, []byte) bool) { yield("a.xml", []byte("<a/>")) },
				ksefapi.BatchOptions{TempDir: t.TempDir()})
			return err
		}},
		{"InvoiceUPO", func(ctx context.Context, c *ksefapi.Client, _ *ksefapi.OnlineSession) error {
			_, _, err := c.InvoiceUPO(ctx, fakeSessionRef, "r")
			return err
		}},
		{"Authenticate", func(ctx context.Context, c *ksefapi.Client, _ *ksefapi.OnlineSession) error {
			_, err := c.Authenticate(ctx)
			return err
		}},
	}
	for _, call := range calls {
		for _, mode := range []string{"network error", "cancelled context"} {
			t.Run(call.name+"/"+mode, func(t *testing.T) {
				f := newFake(t)
				c := authed(t, f)
				s, err := c.OpenOnline(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				ctx := context.Background()
				if mode == "network error" {
					f.srv.Close()
				} else {
					cctx, cancel := context.WithCancel(ctx)
					cancel()
					ctx = cctx
				}
				err = call.run(ctx, c, s)
				var ae *ksefapi.APIError
				switch mode {
				case "network error":
					if !errors.As(err, &ae) || ae.Status != 0 || !ae.Retryable() {
						t.Fatalf("err = %v, want retryable transport APIError", err)
					}
				case "cancelled context":
					if !errors.Is(err, context.Canceled) || ksefapi.Retryable(err) {
						t.Fatalf("err = %v, want non-retryable context.Canceled", err)
					}
				}
			})
		}
	}
}
