// Package ksefsimtest starts a KSeF simulator for other packages' tests: one
// call gives a running server on a loopback port, logging to the test and
// closed by t.Cleanup.
package ksefsimtest

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/posagent/posagent/ksef/ksefsim"
)

// Token and NIP are the KSeF token and context NIP Start registers when the
// options name no tokens.
const (
	Token = "ksefsimtest-token-5265877635"
	NIP   = "5265877635"
)

// Sim is a running simulator.
type Sim struct {
	*ksefsim.Server
	// Base is the API base URL, ending in /v2 (what a client calls).
	Base string
	// Latarnia is the availability feed base URL (GET Latarnia+"/status").
	Latarnia string
	// Root is the server root, for /admin requests.
	Root string
}

// Start runs a simulator under httptest. opts may be nil; Tokens defaults to
// {Token: NIP} and Logger to one that writes to t.
func Start(t testing.TB, opts *ksefsim.Options) *Sim {
	t.Helper()
	var o ksefsim.Options
	if opts != nil {
		o = *opts
	}
	if o.Tokens == nil {
		o.Tokens = map[string]string{Token: NIP}
	}
	if o.Logger == nil {
		o.Logger = slog.New(&testHandler{t: t})
	}
	srv, err := ksefsim.New(&o)
	if err != nil {
		t.Fatalf("ksefsimtest: %v", err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		if err := srv.Close(); err != nil {
			t.Errorf("ksefsimtest: close: %v", err)
		}
	})
	return &Sim{Server: srv, Base: hs.URL + "/v2", Latarnia: hs.URL + "/latarnia", Root: hs.URL}
}

// testHandler sends warnings and errors to t.Logf; request lines are debug
// and dropped to keep test output short.
type testHandler struct {
	t     testing.TB
	attrs []slog.Attr
}

func (h *testHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (h *testHandler) Handle(_ context.Context, r slog.Record) error {
	args := []any{r.Level.String(), r.Message}
	for _, a := range h.attrs {
		args = append(args, a.String())
	}
	r.Attrs(func(a slog.Attr) bool { args = append(args, a.String()); return true })
	h.t.Log(args...)
	return nil
}

func (h *testHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &testHandler{t: h.t, attrs: append(append([]slog.Attr{}, h.attrs...), as...)}
}

func (h *testHandler) WithGroup(string) slog.Handler { return h }
