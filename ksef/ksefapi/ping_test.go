package ksefapi_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/posagent/posagent/ksef/ksefapi"
)

// TestPing: the link probe is one unauthenticated GET of the public keys;
// an answer other than 2xx, a dead link and a cancelled context are errors.
func TestPing(t *testing.T) {
	t.Run("success", func(t *testing.T) {
		f := newFake(t)
		c := f.client(t, ksefapi.TokenAuth{Token: "tok"})
		var auth []string
		f.setHook(func(w http.ResponseWriter, r *http.Request) bool {
			auth = append(auth, r.Header.Get("Authorization"))
			return false
		})
		if err := c.Ping(context.Background()); err != nil {
			t.Fatalf("Ping = %v", err)
		}
		if got := f.count("GET /v2/security/public-key-certificates"); got != 1 || len(auth) != 1 || auth[0] != "" {
			t.Errorf("%d calls with Authorization %q; want one unauthenticated GET of the public keys", got, auth)
		}
	})
	t.Run("non-2xx", func(t *testing.T) {
		f := newFake(t)
		c := f.client(t, ksefapi.TokenAuth{Token: "tok"})
		f.setHook(func(w http.ResponseWriter, r *http.Request) bool {
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		})
		var ae *ksefapi.APIError
		if err := c.Ping(context.Background()); !errors.As(err, &ae) || ae.Status != http.StatusServiceUnavailable {
			t.Errorf("Ping = %v, want an APIError with status 503", err)
		}
	})
	t.Run("network error", func(t *testing.T) {
		f := newFake(t)
		c := f.client(t, ksefapi.TokenAuth{Token: "tok"})
		f.srv.Close()
		var ae *ksefapi.APIError
		if err := c.Ping(context.Background()); !errors.As(err, &ae) || ae.Status != 0 {
			t.Errorf("Ping = %v, want an APIError without status", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		f := newFake(t)
		c := f.client(t, ksefapi.TokenAuth{Token: "tok"})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := c.Ping(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("Ping = %v, want context.Canceled", err)
		}
	})
}
