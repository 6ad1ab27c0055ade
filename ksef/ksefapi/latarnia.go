package ksefapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// AvailabilityStatus is the Latarnia (lighthouse) verdict on KSeF.
type AvailabilityStatus string

// Statuses of the availability feed.
const (
	Available    AvailabilityStatus = "AVAILABLE"
	Maintenance  AvailabilityStatus = "MAINTENANCE"
	Failure      AvailabilityStatus = "FAILURE"
	TotalFailure AvailabilityStatus = "TOTAL_FAILURE"
)

// Availability is GET {feed}/status.
type Availability struct {
	Status   AvailabilityStatus    `json:"status"`
	Messages []AvailabilityMessage `json:"messages"`
}

// AvailabilityMessage is one announcement of the feed. The feed is not
// documented, so identifiers and times are kept as text: a changed number
// format must not make the whole status unreadable.
type AvailabilityMessage struct {
	ID        FlexString `json:"id"`
	EventID   FlexString `json:"eventId"`
	Category  string     `json:"category"` // FAILURE, TOTAL_FAILURE, MAINTENANCE
	Type      string     `json:"type"`     // FAILURE_START, FAILURE_END, MAINTENANCE_ANNOUNCEMENT
	Title     string     `json:"title"`
	Text      string     `json:"text"`
	Start     string     `json:"start"`
	End       string     `json:"end"`
	Version   FlexString `json:"version"`
	Published string     `json:"published"`
}

// FlexString decodes a JSON string, number or null as text.
type FlexString string

// UnmarshalJSON accepts a string, a number or null.
func (f *FlexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*f = ""
		return nil
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = FlexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("want string or number: %w", err)
	}
	*f = FlexString(n)
	return nil
}

// ParseAvailability decodes a Latarnia status body and rejects unknown statuses.
func ParseAvailability(body []byte) (*Availability, error) {
	var a Availability
	if err := jsonUnmarshalStrict(body, &a); err != nil {
		return nil, fmt.Errorf("ksefapi: availability: %w", err)
	}
	switch a.Status {
	case Available, Maintenance, Failure, TotalFailure:
	default:
		return nil, fmt.Errorf("ksefapi: availability: unknown status %q", a.Status)
	}
	return &a, nil
}

// Availability asks the Latarnia feed whether KSeF is up. The feed is optional:
// with no URL configured it returns ErrNoAvailabilityURL, and callers should
// treat any error as "unknown".
func (c *Client) Availability(ctx context.Context) (*Availability, error) {
	if c.availURL == "" {
		return nil, ErrNoAvailabilityURL
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(c.availURL, "/")+"/status", nil)
	if err != nil {
		return nil, fmt.Errorf("ksefapi: availability: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	_, body, err := c.send(req, "availability", 0)
	if err != nil {
		return nil, err
	}
	return ParseAvailability(body)
}
