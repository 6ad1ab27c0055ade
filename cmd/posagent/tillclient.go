package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/posagent/posagent/config"
)

// tillClient talks to the running agent through its till API.
type tillClient struct {
	base  string // http://host:port
	token string
	// tokenErr is why the configured till token could not be read; it is
	// named only when the agent answers 401, as a loopback agent without a
	// token needs none.
	tokenErr error
	http     *http.Client
}

func (m *Main) tillClient(cfg *config.Config) *tillClient {
	host, port, err := net.SplitHostPort(cfg.Till.Listen)
	if err != nil {
		host, port = "127.0.0.1", "8080"
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	tc := &tillClient{base: "http://" + net.JoinHostPort(host, port), http: m.httpClient()}
	tok, err := cfg.Secret(config.SecretTillToken)
	switch {
	case err == nil:
		tc.token = tok
	case !errors.Is(err, config.ErrNoSecret):
		tc.tokenErr = err
	}
	return tc
}

// problem is an application/problem+json answer.
type problem struct {
	Status int    `json:"status"`
	Code   string `json:"code"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
}

// tillError is a non-2xx answer of the till API.
type tillError struct {
	Status  int
	Problem problem
	// Err is why the request carried no token, for a 401.
	Err error
}

func (e *tillError) Error() string {
	msg := fmt.Sprintf("till API: HTTP %d", e.Status)
	if e.Problem.Detail != "" {
		msg = fmt.Sprintf("till API: %d %s: %s", e.Status, e.Problem.Code, e.Problem.Detail)
	}
	if e.Err != nil {
		msg += " (the till token could not be read: " + e.Err.Error() + ")"
	}
	return msg
}

func (e *tillError) Unwrap() error { return e.Err }

// do sends a request and decodes a JSON answer into out (when not nil). A
// connection failure wraps errNotRunning.
func (c *tillClient) do(ctx context.Context, method, path string, hdr map[string]string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("till API %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return fmt.Errorf("till API %s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json, text/plain;q=0.5")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w (%s): %w", errNotRunning, c.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("till API %s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		te := &tillError{Status: resp.StatusCode}
		if resp.StatusCode == http.StatusUnauthorized {
			te.Err = c.tokenErr
		}
		if strings.Contains(resp.Header.Get("Content-Type"), "json") {
			_ = json.Unmarshal(data, &te.Problem)
		}
		return te
	}
	if out == nil {
		return nil
	}
	switch raw := out.(type) {
	case *json.RawMessage:
		*raw = append((*raw)[:0], data...)
		return nil
	case *[]byte:
		*raw = data
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("till API %s %s: %w", method, path, err)
	}
	return nil
}

// raw GETs path and returns the answer's bytes as they came (an invoice's
// XML or UPO).
func (c *tillClient) raw(ctx context.Context, path string) ([]byte, error) {
	var b []byte
	err := c.do(ctx, http.MethodGet, path, nil, nil, &b)
	return b, err
}

// notRunning reports whether err means nobody answered.
func notRunning(err error) bool { return errors.Is(err, errNotRunning) }
