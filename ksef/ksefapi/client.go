package ksefapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/posagent/posagent/ksef"
)

// AvailabilityBase returns the Latarnia (availability feed) base URL known from
// the official C# client for env; "" for DEMO, which has none.
func AvailabilityBase(env ksef.Environment) string {
	switch env {
	case ksef.EnvTest:
		return "https://api-latarnia-test.ksef.mf.gov.pl"
	case ksef.EnvProd:
		return "https://api-latarnia.ksef.mf.gov.pl"
	}
	return ""
}

// ContextType is the kind of login context identifier.
type ContextType string

// Context identifier types accepted by the client.
const (
	ContextNip        ContextType = "Nip"
	ContextInternalID ContextType = "InternalId"
	ContextNipVatUe   ContextType = "NipVatUe"
)

// ContextIdentifier is the context the client logs into (usually the seller NIP).
type ContextIdentifier struct {
	Type  ContextType
	Value string
}

// Defaults used by New for zero Config fields.
const (
	DefaultHTTPTimeout  = 60 * time.Second
	DefaultPollInterval = 500 * time.Millisecond
	DefaultPollMax      = 5 * time.Second
	DefaultPollTimeout  = 3 * time.Minute
	DefaultRefreshSkew  = 2 * time.Minute
	DefaultKeyCacheTTL  = 6 * time.Hour
	DefaultBatchPart    = 100_000_000 // bytes before encryption, the KSeF limit
)

// Config configures a Client. Zero values take the documented defaults.
type Config struct {
	Environment     ksef.Environment  // used when BaseURL is empty
	BaseURL         string            // overrides Environment, e.g. a simulator's "https://127.0.0.1:8443/v2"
	AvailabilityURL string            // Latarnia base URL; if empty, AvailabilityBase(Environment)
	HTTPClient      *http.Client      // if nil, a client with DefaultHTTPTimeout; one without Timeout gets it set on a copy
	Context         ContextIdentifier // required
	Auth            Credentials       // required: TokenAuth or XAdESAuth
	Now             func() time.Time  // if nil, time.Now
	Logger          *slog.Logger      // if nil, logs are discarded
	PollInterval    time.Duration     // first status-poll delay; doubles up to PollMax
	PollMax         time.Duration     // cap of the poll delay
	PollTimeout     time.Duration     // give up polling an operation after this long
	RefreshSkew     time.Duration     // refresh the access token this long before it expires
	KeyCacheTTL     time.Duration     // re-fetch MF public keys after this long
	// OnLogin, if set, is called after every login attempt (Authenticate,
	// whether called directly or by the token source) with the method
	// ("token" or "xades") and the outcome. It must be quick and must not
	// call the client.
	OnLogin func(method string, err error)
}

// Client talks to the KSeF API v2. It is safe for concurrent use.
type Client struct {
	base     *url.URL
	availURL string
	hc       *http.Client
	ctxID    ContextIdentifier
	authMu   sync.Mutex // guards auth
	auth     Credentials
	onLogin  func(method string, err error)
	now      func() time.Time
	log      *slog.Logger
	poll     backoff
	pollTO   time.Duration
	skew     time.Duration
	keys     keyCache
	loginMu  sync.Mutex // serializes refresh and re-login in accessToken
	tokensMu sync.Mutex // guards tokens
	tokens   tokenState
	clock    skewMeter
}

// New validates cfg and returns a Client. It performs no I/O.
func New(cfg Config) (*Client, error) {
	base := cfg.BaseURL
	if base == "" {
		base = cfg.Environment.APIBase()
	}
	if base == "" {
		return nil, fmt.Errorf("%w: BaseURL or a known Environment is required", ErrInvalidConfig)
	}
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("%w: BaseURL %q is not an http(s) URL", ErrInvalidConfig, base)
	}
	if err := validateContext(cfg.Context); err != nil {
		return nil, err
	}
	if err := validateCredentials(cfg.Auth); err != nil {
		return nil, err
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: DefaultHTTPTimeout}
	} else if hc.Timeout == 0 {
		cp := *hc
		cp.Timeout = DefaultHTTPTimeout
		hc = &cp
	}
	c := &Client{
		base:     u,
		availURL: cfg.AvailabilityURL,
		hc:       hc,
		ctxID:    cfg.Context,
		auth:     cfg.Auth,
		onLogin:  cfg.OnLogin,
		now:      cfg.Now,
		log:      cfg.Logger,
		poll:     backoff{min: cfg.PollInterval, max: cfg.PollMax},
		pollTO:   cfg.PollTimeout,
		skew:     cfg.RefreshSkew,
	}
	if c.availURL == "" {
		c.availURL = AvailabilityBase(cfg.Environment)
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.poll.min <= 0 {
		c.poll.min = DefaultPollInterval
	}
	if c.poll.max <= 0 {
		c.poll.max = DefaultPollMax
	}
	if c.poll.max < c.poll.min {
		c.poll.max = c.poll.min
	}
	if c.pollTO <= 0 {
		c.pollTO = DefaultPollTimeout
	}
	if c.skew <= 0 {
		c.skew = DefaultRefreshSkew
	}
	c.keys.ttl = cfg.KeyCacheTTL
	if c.keys.ttl <= 0 {
		c.keys.ttl = DefaultKeyCacheTTL
	}
	return c, nil
}

// SetCredentials replaces the credentials of later logins, such as a renewed
// Authentication certificate. Tokens already held stay valid until they
// expire.
func (c *Client) SetCredentials(auth Credentials) error {
	if err := validateCredentials(auth); err != nil {
		return err
	}
	c.authMu.Lock()
	c.auth = auth
	c.authMu.Unlock()
	return nil
}

// AuthMethod returns "token" or "xades": how the client logs in.
func (c *Client) AuthMethod() string { return c.credentials().method() }

func (c *Client) credentials() Credentials {
	c.authMu.Lock()
	defer c.authMu.Unlock()
	return c.auth
}

func validateCredentials(auth Credentials) error {
	if auth == nil {
		return fmt.Errorf("%w: Auth is required", ErrInvalidConfig)
	}
	return auth.validate()
}

func validateContext(id ContextIdentifier) error {
	switch id.Type {
	case ContextNip, ContextInternalID, ContextNipVatUe:
	default:
		return fmt.Errorf("%w: context type %q (want Nip, InternalId or NipVatUe)", ErrInvalidConfig, id.Type)
	}
	if id.Value == "" {
		return fmt.Errorf("%w: context value is empty", ErrInvalidConfig)
	}
	return nil
}

// bearer says which token a request carries.
type bearer int

const (
	noBearer bearer = iota
	accessBearer
)

// call describes one API request.
type call struct {
	op       string
	method   string
	path     string // relative to the base, starting with "/"
	query    url.Values
	header   http.Header
	body     any    // marshalled as JSON when non-nil
	raw      []byte // sent as is with rawType when non-nil
	rawType  string
	auth     bearer
	token    string // explicit bearer (authentication or refresh token); overrides auth
	accept   string
	wantCode int // 0 means any 2xx
}

// do sends c and decodes a JSON 2xx body into out (if non-nil). It returns the
// response headers.
func (cl *Client) do(ctx context.Context, c call, out any) (http.Header, error) {
	h, body, err := cl.doRaw(ctx, c)
	if err != nil {
		return h, err
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			return h, &APIError{Op: c.op, Status: http.StatusOK, Description: "malformed response body", Err: err}
		}
	}
	return h, nil
}

// maxBody bounds any response body read into memory (UPOs and status lists are small).
const maxBody = 16 << 20

func (cl *Client) doRaw(ctx context.Context, c call) (http.Header, []byte, error) {
	// c.path is already escaped (url.PathEscape on every variable segment), so
	// it is joined as text rather than assigned to URL.Path, which would escape it twice.
	u, err := url.Parse(cl.base.String() + c.path)
	if err != nil {
		return nil, nil, fmt.Errorf("ksefapi: %s: build URL: %w", c.op, err)
	}
	if len(c.query) > 0 {
		u.RawQuery = c.query.Encode()
	}
	var body []byte
	ctype := ""
	switch {
	case c.raw != nil:
		body, ctype = c.raw, c.rawType
	case c.body != nil:
		if body, err = json.Marshal(c.body); err != nil {
			return nil, nil, fmt.Errorf("ksefapi: %s: encode body: %w", c.op, err)
		}
		ctype = "application/json"
	}
	// An access token KSeF no longer accepts (revoked, or the session behind it
	// ended) is dropped and the call repeated once with a refreshed one.
	for attempt := 0; ; attempt++ {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, c.method, u.String(), rd)
		if err != nil {
			return nil, nil, fmt.Errorf("ksefapi: %s: build request: %w", c.op, err)
		}
		for k, vs := range c.header {
			req.Header[k] = vs
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		accept := c.accept
		if accept == "" {
			accept = "application/json"
		}
		req.Header.Set("Accept", accept)
		req.Header.Set("X-Error-Format", "problem-details")
		tok := c.token
		if tok == "" && c.auth == accessBearer {
			if tok, err = cl.accessToken(ctx); err != nil {
				return nil, nil, err
			}
		}
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		h, b, err := cl.send(req, c.op, c.wantCode)
		if attempt == 0 && c.token == "" && c.auth == accessBearer && errors.Is(err, ErrUnauthorized) {
			cl.dropAccess(tok)
			continue
		}
		return h, b, err
	}
}

// dropAccess forgets the access token tok (if still current) so the next call
// refreshes it.
func (cl *Client) dropAccess(tok string) {
	cl.tokensMu.Lock()
	if cl.tokens.access.Token == tok {
		cl.tokens.access = Token{}
	}
	cl.tokensMu.Unlock()
}

// send executes req and turns a non-2xx answer or a transport failure into an APIError.
func (cl *Client) send(req *http.Request, op string, wantCode int) (http.Header, []byte, error) {
	start := cl.now()
	resp, err := cl.hc.Do(req)
	if err == nil {
		cl.clock.observe(resp.Header.Get("Date"), start, cl.now())
	}
	if err != nil {
		if ctxErr := req.Context().Err(); ctxErr != nil && errors.Is(err, ctxErr) {
			err = ctxErr // a cancelled caller is not a network failure
		}
		return nil, nil, &APIError{Op: op, Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	cl.log.Debug("ksef call", "op", op, "method", req.Method, "status", resp.StatusCode, "took", cl.now().Sub(start))
	if w := resp.Header.Get("X-System-Warning"); w != "" {
		cl.log.Warn("ksef system warning", "op", op, "warning", w)
	}
	if err != nil {
		return resp.Header, nil, &APIError{Op: op, Status: resp.StatusCode, Err: fmt.Errorf("read body: %w", err)}
	}
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	if wantCode != 0 {
		ok = resp.StatusCode == wantCode
	}
	if !ok {
		return resp.Header, body, ParseError(op, resp.StatusCode, resp.Header, body, cl.now())
	}
	return resp.Header, body, nil
}

// backoff is the status-poll delay: doubling from min, capped at max.
type backoff struct{ min, max time.Duration }

func (b backoff) next(d time.Duration) time.Duration {
	if d <= 0 {
		return b.min
	}
	d *= 2
	if d > b.max {
		d = b.max
	}
	return d
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// pollUntil calls check until it reports done, with backoff, bounded by the
// poll timeout. A retryable failure (a 5xx, a dropped connection, a 429) is
// polled through; a 429 waits at least its Retry-After.
func (cl *Client) pollUntil(ctx context.Context, check func(context.Context) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, cl.pollTO)
	defer cancel()
	var d time.Duration
	for {
		done, err := check(ctx)
		if done {
			return nil
		}
		wait := cl.poll.next(d)
		d = wait
		if err != nil {
			if !Retryable(err) || ctx.Err() != nil {
				return err
			}
			var ae *APIError
			if errors.As(err, &ae) && ae.RetryAfter > wait {
				wait = ae.RetryAfter
			}
		}
		if err := sleep(ctx, wait); err != nil {
			return fmt.Errorf("ksefapi: poll: %w", err)
		}
	}
}
