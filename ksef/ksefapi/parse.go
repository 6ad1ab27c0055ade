package ksefapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// problem is the union of the problem+json shapes (BadRequestProblemDetails,
// UnauthorizedProblemDetails, ForbiddenProblemDetails, GoneProblemDetails,
// TooManyRequestsProblemDetails) and of the two legacy bodies
// (ExceptionResponse, TooManyRequestsResponse). Every field is optional here.
type problem struct {
	Title      string `json:"title"`
	Detail     string `json:"detail"`
	TraceID    string `json:"traceId"`
	ReasonCode string `json:"reasonCode"`
	Errors     []struct {
		Code        int      `json:"code"`
		Description string   `json:"description"`
		Details     []string `json:"details"`
	} `json:"errors"`
	Exception *struct {
		ExceptionDetailList []struct {
			ExceptionCode        int      `json:"exceptionCode"`
			ExceptionDescription string   `json:"exceptionDescription"`
			Details              []string `json:"details"`
		} `json:"exceptionDetailList"`
		ReferenceNumber string `json:"referenceNumber"`
		ServiceCode     string `json:"serviceCode"`
	} `json:"exception"`
	// Status is an int in problem+json and an object in TooManyRequestsResponse.
	Status json.RawMessage `json:"status"`
}

// ParseError builds the APIError for a non-2xx response from its status,
// headers and body. It never fails: an unreadable body (an HTML error page from a
// proxy, say) gives an APIError whose Err says so and whose Description is the
// HTTP status text.
func ParseError(op string, status int, h http.Header, body []byte, now time.Time) *APIError {
	e := &APIError{Op: op, Status: status, RetryAfter: parseRetryAfter(h.Get("Retry-After"), now)}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		e.Description = http.StatusText(status)
		if len(trimmed) > 0 {
			e.Err = fmt.Errorf("non-JSON error body (%s, %d bytes)", mediaType(h), len(body))
		}
		return e
	}
	var p problem
	if err := json.Unmarshal(trimmed, &p); err != nil {
		e.Description = http.StatusText(status)
		e.Err = fmt.Errorf("unparsable error body: %w", err)
		return e
	}
	e.TraceID = p.TraceID
	for _, x := range p.Errors {
		e.Codes = append(e.Codes, x.Code)
		if e.Description == "" {
			e.Description = x.Description
		}
		e.Details = append(e.Details, x.Details...)
	}
	if p.Exception != nil {
		for _, x := range p.Exception.ExceptionDetailList {
			e.Codes = append(e.Codes, x.ExceptionCode)
			if e.Description == "" {
				e.Description = x.ExceptionDescription
			}
			e.Details = append(e.Details, x.Details...)
		}
		if p.Exception.ReferenceNumber != "" {
			e.setExt("referenceNumber", p.Exception.ReferenceNumber)
		}
		if p.Exception.ServiceCode != "" && e.TraceID == "" {
			e.TraceID = p.Exception.ServiceCode
		}
	}
	if len(p.Status) > 0 && p.Status[0] == '{' {
		var st struct {
			Code        int      `json:"code"`
			Description string   `json:"description"`
			Details     []string `json:"details"`
		}
		if json.Unmarshal(p.Status, &st) == nil {
			if e.Description == "" {
				e.Description = st.Description
			}
			e.Details = append(e.Details, st.Details...)
		}
	}
	if e.Description == "" {
		e.Description = p.Title
	}
	if p.Detail != "" {
		if e.Description == "" {
			e.Description = p.Detail
		} else if len(p.Errors) == 0 {
			e.Details = append(e.Details, p.Detail)
		}
	}
	if p.ReasonCode != "" {
		e.setExt("reasonCode", p.ReasonCode)
	}
	if e.Description == "" {
		e.Description = http.StatusText(status)
	}
	return e
}

func (e *APIError) setExt(k, v string) {
	if e.Extensions == nil {
		e.Extensions = map[string]string{}
	}
	e.Extensions[k] = v
}

func mediaType(h http.Header) string {
	ct := h.Get("Content-Type")
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	if ct == "" {
		return "no content type"
	}
	return strings.TrimSpace(ct)
}
