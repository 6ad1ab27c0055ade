package till_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posagent/posagent/internal/metrics"
	"github.com/posagent/posagent/till"
	"github.com/posagent/posagent/till/tilltest"
)

const testToken = "s3cret-token-0123456789"

func TestNewBinding(t *testing.T) {
	tests := []struct {
		listen, token string
		wantErr       error
	}{
		{"", "", nil},
		{"127.0.0.1:8080", "", nil},
		{"127.0.0.2:8080", "", nil},
		{"[::1]:8080", "", nil},
		{"localhost:8080", "", nil},
		{"LOCALHOST:0", "", nil},
		{"0.0.0.0:8080", "", till.ErrTokenRequired},
		{":8080", "", till.ErrTokenRequired},
		{"[::]:8080", "", till.ErrTokenRequired},
		{"192.168.1.10:8080", "", till.ErrTokenRequired},
		{"till.local:8080", "", till.ErrTokenRequired},
		{"0.0.0.0:8080", testToken, nil},
		{"0.0.0.0:8080", "short", till.ErrTokenInvalid},
		{"0.0.0.0:8080", "has a space in it, so no", till.ErrTokenInvalid},
		{"127.0.0.1", "", till.ErrListen},
	}
	for _, tt := range tests {
		t.Run(tt.listen+"/"+tt.token, func(t *testing.T) {
			_, err := till.New(tilltest.New(), till.Options{Listen: tt.listen, Token: tt.token})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("New(%q) = %v, want %v", tt.listen, err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), tt.token) && tt.token != "" {
				t.Errorf("error %q contains the token", err)
			}
		})
	}
}

func TestAuth(t *testing.T) {
	tests := []struct {
		name       string
		listen     string
		token      string // configured
		path       string
		auth       string // Authorization header
		wantStatus int
	}{
		{"loopback, no token, v1 open", "127.0.0.1:0", "", "/v1/status", "", 200},
		{"loopback, token, v1 without", "127.0.0.1:0", testToken, "/v1/status", "", 401},
		{"loopback, token, v1 wrong", "127.0.0.1:0", testToken, "/v1/status", "Bearer " + testToken + "x", 401},
		{"loopback, token, v1 prefix", "127.0.0.1:0", testToken, "/v1/status", "Bearer " + testToken[:10], 401},
		{"loopback, token, v1 basic", "127.0.0.1:0", testToken, "/v1/status", "Basic " + testToken, 401},
		{"loopback, token, v1 right", "127.0.0.1:0", testToken, "/v1/status", "Bearer " + testToken, 200},
		{"loopback, token, scheme case", "127.0.0.1:0", testToken, "/v1/status", "bearer " + testToken, 200},
		{"loopback, token, page open", "127.0.0.1:0", testToken, "/", "", 200},
		{"loopback, token, metrics open", "127.0.0.1:0", testToken, "/metrics", "", 200},
		{"off loopback, page without", "0.0.0.0:0", testToken, "/", "", 401},
		{"off loopback, metrics without", "0.0.0.0:0", testToken, "/metrics", "", 401},
		{"off loopback, unknown route without", "0.0.0.0:0", testToken, "/admin", "", 401},
		{"off loopback, page right", "0.0.0.0:0", testToken, "/", "Bearer " + testToken, 200},
		{"off loopback, metrics right", "0.0.0.0:0", testToken, "/metrics", "Bearer " + testToken, 200},
		{"off loopback, v1 right", "0.0.0.0:0", testToken, "/v1/invoices", "Bearer " + testToken, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, till.Options{Listen: tt.listen, Token: tt.token})
			hdr := http.Header{}
			if tt.auth != "" {
				hdr.Set("Authorization", tt.auth)
			}
			rec := h.do(request{method: "GET", path: tt.path, header: hdr})
			if rec.Code != tt.wantStatus {
				t.Fatalf("GET %s = %d, want %d", tt.path, rec.Code, tt.wantStatus)
			}
			if rec.Code == 401 {
				if p := problemOf(t, rec); p.Code != till.CodeUnauthorized {
					t.Errorf("code = %q", p.Code)
				}
				if rec.Header().Get("WWW-Authenticate") == "" {
					t.Errorf("401 without WWW-Authenticate")
				}
			}
		})
	}
	t.Run("rejected sale stores nothing", func(t *testing.T) {
		h := newHarness(t, till.Options{Token: testToken})
		if rec := h.sale("k", validSale); rec.Code != 401 || h.core.Calls("Issue") != 0 {
			t.Errorf("unauthenticated sale = %d, Issue calls %d; want 401 and none", rec.Code, h.core.Calls("Issue"))
		}
	})
}

// slowCore holds Issue until released, to test graceful shutdown.
type slowCore struct {
	*tilltest.Core
	entered chan struct{}
	release chan struct{}
}

func (c *slowCore) Issue(ctx context.Context, req till.IssueRequest) (*till.Issued, error) {
	close(c.entered)
	<-c.release
	return c.Core.Issue(ctx, req)
}

// TestGracefulShutdown cancels the server while a sale is in flight: the sale
// completes and is answered, new connections are refused, Serve returns nil.
func TestGracefulShutdown(t *testing.T) {
	core := &slowCore{Core: tilltest.New(), entered: make(chan struct{}), release: make(chan struct{})}
	srv, err := till.New(core, till.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()

	url := "http://" + ln.Addr().String()
	var wg sync.WaitGroup
	var status int
	var reqErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		req, _ := http.NewRequest("POST", url+"/v1/sales", strings.NewReader(validSale))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "in-flight")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			reqErr = err
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		status = resp.StatusCode
	}()
	<-core.entered
	cancel()
	// Shutdown closes the listener first; then let the sale finish.
	deadline := time.Now().Add(2 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), 100*time.Millisecond)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("listener still accepting after cancel")
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(core.release)
	wg.Wait()
	if reqErr != nil || status != http.StatusCreated {
		t.Fatalf("in-flight sale: status %d, err %v; want 201", status, reqErr)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve = %v, want nil", err)
		}
	case <-time.After(till.ShutdownTimeout + time.Second):
		t.Fatal("Serve did not return")
	}
	if core.Stored() != 1 {
		t.Errorf("stored %d, want 1", core.Stored())
	}
}

func TestListenAndServe(t *testing.T) {
	srv, err := till.New(tilltest.New(), till.Options{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := srv.ListenAndServe(ctx); err != nil {
		t.Errorf("ListenAndServe with a done ctx = %v, want nil", err)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	srv2, _ := till.New(tilltest.New(), till.Options{Listen: busy.Addr().String()})
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	if err := srv2.ListenAndServe(ctx2); err == nil {
		t.Errorf("ListenAndServe on a busy port = nil, want an error")
	}
}

// TestLogsKeepSecrets makes requests with and without the token and with an
// internal error, and checks the log never holds the token or the body.
func TestLogsKeepSecrets(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := newHarness(t, till.Options{Token: testToken, Logger: log})
	h.do(request{method: "POST", path: "/v1/sales", key: "k", body: validSale, token: testToken})
	h.do(request{method: "POST", path: "/v1/sales", key: "k", body: validSale, token: testToken + "x"})
	h.core.Err = errors.New("store: write failed")
	h.do(request{method: "POST", path: "/v1/sales", key: "k2", body: validSale, token: testToken})
	out := buf.String()
	for _, secret := range []string{testToken, "Kawa", "Bearer"} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains %q:\n%s", secret, out)
		}
	}
	for _, want := range []string{"status=201", "status=401", "status=500", "store: write failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

func TestMetrics(t *testing.T) {
	reg := metrics.NewRegistry()
	reg.Counter("posagent_sales_total", "Sales issued.").Add(7)
	h := newHarness(t, till.Options{Metrics: reg})
	h.sale("k", validSale)
	h.sale("k", validSale)
	h.sale("k2", `{`)
	h.do(request{method: "GET", path: "/nowhere"})
	rec := h.do(request{method: "GET", path: "/metrics"})
	if rec.Code != 200 || rec.Header().Get("Content-Type") != metrics.ContentType {
		t.Fatalf("GET /metrics = %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	body := rec.Body.String()
	for _, want := range []string{
		"posagent_sales_total 7",
		`posagent_http_requests_total{route="POST /v1/sales",code="201"} 1`,
		`posagent_http_requests_total{route="POST /v1/sales",code="200"} 1`,
		`posagent_http_requests_total{route="POST /v1/sales",code="400"} 1`,
		`posagent_http_requests_total{route="/",code="404"} 1`,
		`posagent_http_request_duration_seconds_count{route="POST /v1/sales"} 3`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q\n%s", want, body)
		}
	}
}
