package till

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/posagent/posagent/internal/metrics"
)

// Defaults.
const (
	DefaultListen   = "127.0.0.1:8080"
	DefaultMaxBody  = 1 << 20 // 1 MiB
	ShutdownTimeout = 5 * time.Second
	// MaxKeyLen is the longest accepted Idempotency-Key.
	MaxKeyLen = 128
)

// maxDrain bounds what is read and discarded of a body over the limit before
// the 413 goes out; a larger one is cut off.
const maxDrain = 16 << 20

// Options configure a Server. Zero values take the documented defaults.
type Options struct {
	// Listen is host:port (default DefaultListen). A host that is not a
	// loopback address (127.0.0.0/8, ::1, localhost) requires Token.
	Listen string
	// Token is the bearer token (read from the configured secret file). When
	// set, every /v1 request must carry "Authorization: Bearer <Token>"; off
	// loopback, / and /metrics need it too.
	Token string
	// MaxBody bounds request bodies (default DefaultMaxBody).
	MaxBody int64
	// Metrics receives the HTTP request metrics and is served on /metrics;
	// nil gives a private registry.
	Metrics *metrics.Registry
	// Logger receives internal errors (level error) and one line per request
	// (level debug), never headers or bodies; nil discards.
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Server is the till HTTP API. Create it with New.
type Server struct {
	core     Core
	opts     Options
	loopback bool
	log      *slog.Logger
	mux      *http.ServeMux
	handler  http.Handler
	reqs     *metrics.CounterVec
	latency  *metrics.HistogramVec
}

// New checks the options and builds the server. It refuses a non-loopback
// listen address without a token (ErrTokenRequired).
func New(core Core, opts Options) (*Server, error) {
	if core == nil {
		return nil, errors.New("till: nil core")
	}
	if opts.Listen == "" {
		opts.Listen = DefaultListen
	}
	loop, err := checkListen("listen", opts.Listen, opts.Token)
	if err != nil {
		return nil, err
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if opts.Metrics == nil {
		opts.Metrics = metrics.NewRegistry()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{core: core, opts: opts, loopback: loop, log: opts.Logger}
	s.reqs = opts.Metrics.CounterVec("posagent_http_requests_total", "Till API requests by route and status.", "route", "code")
	s.latency = opts.Metrics.HistogramVec("posagent_http_request_duration_seconds", "Till API request latency by route.",
		[]float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}, "route")
	s.routes()
	return s, nil
}

// checkListen checks a listen address (what names it in errors) and its
// token: a host that is not loopback needs a token (ErrTokenRequired), and a
// token must be valid (ErrTokenInvalid). It reports whether host is loopback.
func checkListen(what, listen, token string) (loopback bool, err error) {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false, fmt.Errorf("%w %q: %w", ErrListen, listen, err)
	}
	loopback = isLoopback(host)
	if !loopback && token == "" {
		return false, fmt.Errorf("%w (%s %s)", ErrTokenRequired, what, listen)
	}
	if token != "" && !validToken(token) {
		return false, ErrTokenInvalid
	}
	return loopback, nil
}

// isLoopback reports whether a listen host is loopback only. An empty host
// (all interfaces) is not.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func validToken(t string) bool {
	if len(t) < 16 || len(t) > 4096 {
		return false
	}
	for i := 0; i < len(t); i++ {
		if t[i] <= ' ' || t[i] > '~' {
			return false
		}
	}
	return true
}

// Handler returns the HTTP handler with authentication, limits and metrics.
func (s *Server) Handler() http.Handler { return s.handler }

// ListenAndServe listens on Options.Listen and serves until ctx ends.
func (s *Server) ListenAndServe(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.opts.Listen)
	if err != nil {
		return fmt.Errorf("till listen: %w", err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx ends, then shuts down gracefully: it stops
// accepting, waits up to ShutdownTimeout for requests in flight (a sale being
// committed finishes and is answered), and closes the rest. It returns nil
// after a shutdown caused by ctx, or the error that stopped serving.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	return serve(ctx, ln, s.handler, s.log)
}

// serve is Serve for any handler: the till API's and the metrics listener's.
func serve(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      75 * time.Second, // online-first may wait up to 30 s for KSeF
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		// Requests get their own context so that a shutdown lets a sale in
		// flight commit instead of cancelling it halfway.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("till serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		srv.Close()
	}
	<-errc // Serve has returned ErrServerClosed
	if err != nil {
		return fmt.Errorf("till shutdown: %w", err)
	}
	return nil
}

// statusWriter records the status code for metrics.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// wrap adds authentication and metrics around the mux.
func (s *Server) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		route := "unmatched"
		if _, pattern := s.mux.Handler(r); pattern != "" {
			route = pattern
		}
		defer func() {
			code := sw.code
			if code == 0 {
				code = http.StatusOK
			}
			d := time.Since(start)
			s.reqs.With(route, strconv.Itoa(code)).Inc()
			s.latency.With(route).ObserveDuration(d)
			// Never headers or bodies: they carry the token and buyers' data.
			s.log.DebugContext(r.Context(), "till request", "method", r.Method, "route", route, "status", code, "duration", d)
		}()
		if s.opts.Token == "" && !loopbackHost(r.Host) {
			// Without a token only the machine itself may call, and a page in
			// a browser on the till reaches 127.0.0.1 under its own host name
			// once that name resolves there (DNS rebinding): refuse any name
			// but loopback.
			writeProblem(sw, hostNotAllowed(r.Host, "call http://127.0.0.1:PORT"))
			return
		}
		if p := r.URL.Path; r.Method != http.MethodConnect && p != cleanPath(p) {
			// ServeMux would answer a redirect with an HTML body.
			writeProblem(sw, newProblem(http.StatusNotFound, CodeRouteNotFound, fmt.Sprintf(
				"no such endpoint: %q (paths are taken as given: no \".\" or \"..\" segments, no doubled slashes)", p)))
			return
		}
		if s.needsAuth(r) && !s.authorized(r) {
			sw.Header().Set("WWW-Authenticate", `Bearer realm="posagent"`)
			writeProblem(sw, newProblem(http.StatusUnauthorized, CodeUnauthorized, "a valid Authorization: Bearer token is required"))
			return
		}
		next.ServeHTTP(sw, r)
	})
}

// loopbackHost reports whether a request's Host (name or address, with or
// without a port) names this machine in a way no DNS answer can move:
// localhost or a loopback IP literal, IPv6 in brackets.
func loopbackHost(host string) bool {
	if host == "" {
		return true // HTTP/1.0 without Host: no browser sends that
	}
	if h, port, err := net.SplitHostPort(host); err == nil {
		if strings.Trim(port, "0123456789") != "" {
			return false
		}
		host = h
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	} else if strings.Contains(host, ":") {
		return false // an IPv6 literal without brackets, or a bad port
	}
	return isLoopback(host)
}

// hostNotAllowed is the 403 of a tokenless listener to a request whose Host
// is not loopback (loopbackHost); call says what to call instead.
func hostNotAllowed(host, call string) *Problem {
	return newProblem(http.StatusForbidden, CodeHostNotAllowed, fmt.Sprintf(
		"the Host header %q names neither localhost nor a loopback address; %s, or configure a token", host, call))
}

// cleanPath is the path ServeMux serves p under (path.Clean, keeping a
// trailing slash); ServeMux redirects any other form to it.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		np += "/"
	}
	return np
}

func (s *Server) needsAuth(r *http.Request) bool {
	if s.opts.Token == "" {
		return false
	}
	return strings.HasPrefix(r.URL.Path, "/v1/") || !s.loopback
}

func (s *Server) authorized(r *http.Request) bool { return bearerIs(r, s.opts.Token) }

// readBody reads a JSON request body within the limit.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *Problem) {
	if !isJSON(r.Header.Get("Content-Type")) {
		return nil, newProblem(http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "the request body must be application/json")
	}
	orig := r.Body
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			// Read what the client is still sending, within a bound, so the
			// connection closes after the answer instead of being reset under
			// it: a client busy writing its body then reads the 413, not a
			// broken pipe.
			_, _ = io.CopyN(io.Discard, orig, maxDrain)
			return nil, newProblem(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, fmt.Sprintf("the request body exceeds %d bytes", mbe.Limit))
		}
		return nil, newProblem(http.StatusBadRequest, CodeMalformedJSON, "reading the request body failed")
	}
	return body, nil
}

func isJSON(ct string) bool {
	mt, params, ok := strings.Cut(ct, ";")
	if !strings.EqualFold(strings.TrimSpace(mt), "application/json") {
		return false
	}
	if !ok {
		return true
	}
	k, v, _ := strings.Cut(strings.TrimSpace(params), "=")
	return strings.EqualFold(strings.TrimSpace(k), "charset") && strings.EqualFold(strings.Trim(strings.TrimSpace(v), `"`), "utf-8")
}

// idempotencyKey returns the request's Idempotency-Key or a problem.
func idempotencyKey(r *http.Request) (string, *Problem) {
	vals := r.Header.Values("Idempotency-Key")
	if len(vals) == 0 {
		return "", newProblem(http.StatusBadRequest, CodeKeyMissing, "the Idempotency-Key header is required")
	}
	if len(vals) > 1 {
		return "", newProblem(http.StatusBadRequest, CodeKeyInvalid, "more than one Idempotency-Key header")
	}
	k := vals[0]
	if k == "" || len(k) > MaxKeyLen {
		return "", newProblem(http.StatusBadRequest, CodeKeyInvalid, fmt.Sprintf("the Idempotency-Key must be 1-%d characters, got %d", MaxKeyLen, len(k)))
	}
	for i := 0; i < len(k); i++ {
		if k[i] < '!' || k[i] > '~' {
			return "", newProblem(http.StatusBadRequest, CodeKeyInvalid, "the Idempotency-Key must be printable ASCII without spaces")
		}
	}
	return k, nil
}
