package ksefapi

import (
	"context"
	"net/http"
)

// Ping asks KSeF whether it answers, with the cheapest call it has: GET
// /security/public-key-certificates, which needs no login and is limited
// only per second (60/s in the OpenAPI's x-rate-limits), so a probe every
// few seconds while the link is down costs nothing against the limits the
// uploads need. Any 2xx is an answer; the body is not parsed, and the key
// cache is left alone. Errors are *APIError, as for every call.
func (c *Client) Ping(ctx context.Context) error {
	_, _, err := c.doRaw(ctx, call{op: "ping", method: http.MethodGet, path: "/security/public-key-certificates"})
	return err
}
