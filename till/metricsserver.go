package till

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
)

// MetricsOptions configure a MetricsServer.
type MetricsOptions struct {
	// Listen is host:port. A host that is not a loopback address requires Token.
	Listen string
	// Token, when set, is the bearer token every request must carry, on
	// loopback too. It is not the till API's token.
	Token string
	// Logger receives the server's internal errors (level debug); nil discards.
	Logger *slog.Logger
}

// MetricsServer serves a metrics handler on GET /metrics and nothing else,
// for a fleet's Prometheus on its own address: whoever holds its token reads
// counts, and can neither issue nor read invoices, so the till API can stay
// on loopback. Create it with NewMetricsServer.
type MetricsServer struct {
	opts    MetricsOptions
	handler http.Handler
}

// NewMetricsServer checks the options and builds the server for h (usually
// the *metrics.Registry the till API serves too). It refuses a non-loopback
// listen address without a token (ErrTokenRequired) and a token that is not
// 16-4096 printable characters (ErrTokenInvalid).
func NewMetricsServer(h http.Handler, opts MetricsOptions) (*MetricsServer, error) {
	if h == nil {
		return nil, errors.New("till: nil metrics handler")
	}
	if _, err := checkListen("metrics listen", opts.Listen, opts.Token); err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &MetricsServer{opts: opts}
	s.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case opts.Token == "" && !loopbackHost(r.Host):
			// Tokenless means loopback: refuse a page that made its own host
			// name resolve to 127.0.0.1 (DNS rebinding), as the till API does.
			writeProblem(w, hostNotAllowed(r.Host, "scrape http://127.0.0.1:PORT/metrics"))
		case opts.Token != "" && !bearerIs(r, opts.Token):
			w.Header().Set("WWW-Authenticate", `Bearer realm="posagent metrics"`)
			writeProblem(w, newProblem(http.StatusUnauthorized, CodeUnauthorized, "a valid Authorization: Bearer token is required"))
		case r.URL.Path != "/metrics":
			writeProblem(w, newProblem(http.StatusNotFound, CodeRouteNotFound, "this address serves /metrics only"))
		default:
			h.ServeHTTP(w, r) // answers GET and HEAD, refuses other methods
		}
	})
	return s, nil
}

// Handler returns the HTTP handler with the token check.
func (s *MetricsServer) Handler() http.Handler { return s.handler }

// ListenAndServe listens on MetricsOptions.Listen and serves until ctx ends.
func (s *MetricsServer) ListenAndServe(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.opts.Listen)
	if err != nil {
		return fmt.Errorf("metrics listen: %w", err)
	}
	return serve(ctx, ln, s.handler, s.opts.Logger)
}

// bearerIs reports whether r carries "Authorization: Bearer tok", compared
// in constant time.
func bearerIs(r *http.Request, tok string) bool {
	scheme, got, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(tok)) == 1
}
