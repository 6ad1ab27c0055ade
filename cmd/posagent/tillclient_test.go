package main

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/config"
)

func TestTillClientErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "till-token")
	tests := []struct {
		name      string
		status    int
		ctype     string
		body      string
		tokenFile string
		want      string // in the error text
		wantIs    error
	}{
		{"Problem", 409, "application/problem+json", `{"status":409,"code":"conflict","detail":"sale replayed with another body"}`, "",
			"till API: 409 conflict: sale replayed with another body", nil},
		{"NoProblemBody", 500, "text/plain", "boom", "", "till API: HTTP 500", nil},
		{"UnauthorizedTokenUnreadable", 401, "application/problem+json", `{"status":401,"code":"unauthorized","detail":"bearer token required"}`, missing,
			"the till token could not be read", fs.ErrNotExist},
		{"UnauthorizedNoTokenConfigured", 401, "text/plain", "", "", "till API: HTTP 401", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if got := r.Header.Get("Authorization"); got != "" {
					t.Errorf("Authorization = %q, want none", got)
				}
				w.Header().Set("Content-Type", tt.ctype)
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			cfg := config.Default()
			cfg.Till.Listen = strings.TrimPrefix(srv.URL, "http://")
			cfg.Till.TokenFile = tt.tokenFile
			m := &Main{Getenv: func(string) string { return "" }, HTTP: srv.Client()}
			err := m.tillClient(cfg).do(context.Background(), http.MethodGet, "/v1/status", nil, nil, nil)
			var te *tillError
			if !errors.As(err, &te) || te.Status != tt.status {
				t.Fatalf("do() = %v, want a tillError with status %d", err, tt.status)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("do() = %q, want it to contain %q", err, tt.want)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("do() = %v, want errors.Is %v", err, tt.wantIs)
			}
			if tt.wantIs == nil && te.Err != nil {
				t.Errorf("do() carries token error %v, want none", te.Err)
			}
			if notRunning(err) {
				t.Errorf("do() = %v counts as not running", err)
			}
		})
	}
}

func TestTillClientNotRunning(t *testing.T) {
	cfg := config.Default()
	cfg.Till.Listen = freePort(t)
	m := &Main{Getenv: func(string) string { return "" }, HTTP: &http.Client{Timeout: 2 * time.Second}}
	tc := m.tillClient(cfg)
	if err := tc.do(context.Background(), http.MethodGet, "/v1/status", nil, nil, nil); !notRunning(err) {
		t.Errorf("do() on a closed port = %v, want errNotRunning", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := tc.do(ctx, http.MethodGet, "/v1/status", nil, nil, nil); !errors.Is(err, context.Canceled) || notRunning(err) {
		t.Errorf("do() with a cancelled context = %v, want context.Canceled only", err)
	}
	// A body that cannot be encoded fails before anything is sent.
	if err := tc.do(context.Background(), http.MethodPost, "/v1/mode", nil, map[string]any{"x": func() {}}, nil); err == nil || notRunning(err) || !strings.Contains(err.Error(), "POST /v1/mode") {
		t.Errorf("do() with an unencodable body = %v, want an encoding error naming the request", err)
	}
}
