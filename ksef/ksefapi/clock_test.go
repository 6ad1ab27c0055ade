package ksefapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posagent/posagent/ksef/ksefapi"
)

// ClockSkew reads KSeF's Date header on any answer, an error too; an answer
// without one leaves the last measurement.
func TestClockSkew(t *testing.T) {
	var behind atomic.Int64 // how far the server's clock is behind this host's
	var noDate atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if noDate.Load() {
			w.Header()["Date"] = nil // net/http adds none then
		} else {
			w.Header().Set("Date", time.Now().Add(-time.Duration(behind.Load())).UTC().Format(http.TimeFormat))
		}
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	c, err := ksefapi.New(ksefapi.Config{BaseURL: srv.URL + "/v2", Context: testCtx, Auth: ksefapi.TokenAuth{Token: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.ClockSkew(); ok {
		t.Fatal("ClockSkew known before any answer")
	}
	// A client on a rehearsal clock an hour ahead measures from that clock.
	ahead, err := ksefapi.New(ksefapi.Config{BaseURL: srv.URL + "/v2", Context: testCtx, Auth: ksefapi.TokenAuth{Token: "x"},
		Now: func() time.Time { return time.Now().Add(time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	ahead.Authenticate(context.Background())
	if got, ok := ahead.ClockSkew(); !ok || got < time.Hour-2*time.Second || got > time.Hour+2*time.Second {
		t.Errorf("ClockSkew() on a clock an hour ahead = %v, %v", got, ok)
	}
	tests := []struct {
		name   string
		behind time.Duration
		noDate bool
		want   time.Duration // ±2 s: Date has whole seconds, and a loaded machine is slow
	}{
		{"InStep", 0, false, 0},
		{"HostAheadAnHour", time.Hour, false, time.Hour},
		{"HostBehind", -90 * time.Second, false, -90 * time.Second},
		{"NoDateKeepsTheLast", time.Hour, true, -90 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			behind.Store(int64(tt.behind))
			noDate.Store(tt.noDate)
			if _, err := c.Authenticate(context.Background()); err == nil {
				t.Fatal("Authenticate succeeded against a 503")
			}
			got, ok := c.ClockSkew()
			if !ok || got < tt.want-2*time.Second || got > tt.want+2*time.Second {
				t.Errorf("ClockSkew() = %v, %v; want %v ± 2s", got, ok, tt.want)
			}
		})
	}
}
