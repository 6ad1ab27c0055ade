package till_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/internal/metrics"
	"github.com/posagent/posagent/till"
)

const metricsToken = "metrics-token-0123456789abcdef"

func TestNewMetricsServerRefuses(t *testing.T) {
	reg := metrics.NewRegistry()
	tests := []struct {
		name string
		opts till.MetricsOptions
		want error
	}{
		{"RemoteWithoutToken", till.MetricsOptions{Listen: "0.0.0.0:9464"}, till.ErrTokenRequired},
		{"ShortToken", till.MetricsOptions{Listen: "127.0.0.1:9464", Token: "short"}, till.ErrTokenInvalid},
		{"NoPort", till.MetricsOptions{Listen: "127.0.0.1"}, till.ErrListen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := till.NewMetricsServer(reg, tt.opts); !errors.Is(err, tt.want) {
				t.Errorf("NewMetricsServer() = %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := till.NewMetricsServer(reg, till.MetricsOptions{Listen: "0.0.0.0:9464", Token: metricsToken}); err != nil {
		t.Errorf("remote with a token: %v", err)
	}
}

// The metrics listener answers GET /metrics and nothing else, and with a
// token only to its bearer.
func TestMetricsServer(t *testing.T) {
	reg := metrics.NewRegistry()
	reg.Counter("posagent_sales_total", "Sales.").Add(3)
	tests := []struct {
		name, token  string
		method, path string
		auth         string
		host         string // default 127.0.0.1:9464
		wantCode     int
	}{
		{"Scrape", "", "GET", "/metrics", "", "", 200},
		{"Head", "", "HEAD", "/metrics", "", "", 200},
		{"NoPost", "", "POST", "/metrics", "", "", 405},
		{"NoTillAPI", "", "POST", "/v1/sales", "", "", 404},
		{"NoStatusPage", "", "GET", "/", "", "", 404},
		{"TokenMissing", metricsToken, "GET", "/metrics", "", "", 401},
		{"TokenWrong", metricsToken, "GET", "/metrics", "Bearer " + metricsToken + "x", "", 401},
		{"TokenRight", metricsToken, "GET", "/metrics", "Bearer " + metricsToken, "", 200},
		{"TokenRightNoTillAPI", metricsToken, "GET", "/v1/invoices", "Bearer " + metricsToken, "", 404},
		// Without a token only the machine itself may scrape (DNS rebinding).
		{"Localhost", "", "GET", "/metrics", "", "localhost:9464", 200},
		{"RebindingRefused", "", "GET", "/metrics", "", "evil.example:9464", 403},
		{"TokenAnyHost", metricsToken, "GET", "/metrics", "Bearer " + metricsToken, "metrics.example:9464", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := till.NewMetricsServer(reg, till.MetricsOptions{Listen: "127.0.0.1:9464", Token: tt.token})
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest(tt.method, tt.path, nil)
			req.Host = "127.0.0.1:9464"
			if tt.host != "" {
				req.Host = tt.host
			}
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, req)
			if rec.Code != tt.wantCode {
				t.Fatalf("%s %s = %d, want %d: %s", tt.method, tt.path, rec.Code, tt.wantCode, rec.Body)
			}
			if tt.wantCode == 200 && tt.method == "GET" && !strings.Contains(rec.Body.String(), "posagent_sales_total 3\n") {
				t.Errorf("body lacks the registry's series:\n%s", rec.Body)
			}
		})
	}
}

// ListenAndServe serves on its address until ctx ends, then returns nil.
func TestMetricsServerListens(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	reg := metrics.NewRegistry()
	reg.Gauge("posagent_backlog", "Backlog.").Set(2)
	s, err := till.NewMetricsServer(reg, till.MetricsOptions{Listen: addr})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ListenAndServe(ctx) }()
	var body []byte
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err == nil {
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			break
		}
	}
	if !strings.Contains(string(body), "posagent_backlog 2\n") {
		t.Errorf("scrape = %q", body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("ListenAndServe after cancel = %v", err)
	}
}
