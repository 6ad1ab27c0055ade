package ksefsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"time"
)

// FaultKind is what an injected fault does to a matching request.
type FaultKind string

// Fault kinds.
const (
	Fault500     FaultKind = "500"     // plain 500 Internal Server Error
	FaultHTML502 FaultKind = "html502" // an HTML 502 page, as a proxy sends
	Fault503     FaultKind = "503"     // 503 Service Unavailable with Retry-After: 1
	FaultDelay   FaultKind = "delay"   // wait Delay (or until the client gives up), then serve
	FaultDrop    FaultKind = "drop"    // hijack the connection and close it without a reply
	Fault429     FaultKind = "429"     // 429 Too Many Requests with Retry-After = Delay (≥1 s)
	// FaultLoseReply serves the request, then closes the connection without
	// the reply: KSeF did the work, the client saw only a broken connection.
	FaultLoseReply FaultKind = "lostreply"
)

// Forever is a Fault.Count that never runs out; ClearFaults removes it.
const Forever = -1

// Fault describes an injected failure. It applies to the next Count requests
// whose path starts with PathPrefix (empty: any path except /admin).
type Fault struct {
	Kind       FaultKind     `json:"kind"`
	Count      int           `json:"count"`
	PathPrefix string        `json:"pathPrefix,omitempty"`
	Delay      time.Duration `json:"delay,omitempty"` // FaultDelay: the wait; Fault429: the Retry-After
}

// InjectFault queues f; faults are matched in the order they were injected.
func (s *Server) InjectFault(f Fault) error {
	switch f.Kind {
	case Fault500, FaultHTML502, Fault503, FaultDrop, Fault429, FaultLoseReply:
	case FaultDelay:
		if f.Delay <= 0 {
			return fmt.Errorf("%w: delay fault needs a positive Delay", ErrFault)
		}
	default:
		return fmt.Errorf("%w: unknown kind %q", ErrFault, f.Kind)
	}
	if f.Count == 0 || f.Count < Forever {
		return fmt.Errorf("%w: count %d (want ≥1 or Forever)", ErrFault, f.Count)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
	return nil
}

// ClearFaults removes every queued fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// takeFault consumes one use of the first fault matching path.
func (s *Server) takeFault(path string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if !strings.HasPrefix(path, f.PathPrefix) {
			continue
		}
		got := *f
		if f.Count != Forever {
			f.Count--
			if f.Count == 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
		}
		return &got
	}
	return nil
}

func (s *Server) faultMiddleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/admin/") {
			next.ServeHTTP(w, r)
			return
		}
		f := s.takeFault(r.URL.Path)
		if f == nil {
			next.ServeHTTP(w, r)
			return
		}
		switch f.Kind {
		case Fault500:
			http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		case FaultHTML502:
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n")
		case Fault503:
			w.Header().Set("Retry-After", "1")
			http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
		case FaultDrop:
			hangUp(w)
		case FaultLoseReply:
			next.ServeHTTP(&lostReply{h: http.Header{}}, r)
			hangUp(w)
		case Fault429:
			secs := max(1, int(math.Ceil(f.Delay.Seconds())))
			detail := fmt.Sprintf("Przekroczono limit żądań. Spróbuj ponownie po %d sekundach.", secs)
			resp := s.errorResponse(r, &rateLimitError{
				apiError:   apiError{status: http.StatusTooManyRequests, code: 429, desc: "Too Many Requests", details: []string{detail}},
				retryAfter: secs,
			})
			writeResponse(w, resp)
		case FaultDelay:
			// Read the body first: Go's server notices a client that gave up
			// only once the body is consumed, and a delayed request must not
			// be processed after its client left.
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPartSize+1<<20))
			if err != nil {
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			t := time.NewTimer(f.Delay)
			defer t.Stop()
			select {
			case <-t.C:
				next.ServeHTTP(w, r)
			case <-r.Context().Done():
			}
		}
	})
}

// hangUp closes the connection of w without a reply.
func hangUp(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler) // HTTP/2: abort the stream instead
	}
	conn, _, err := hj.Hijack()
	if err == nil {
		conn.Close()
	}
}

// lostReply is a ResponseWriter whose reply never leaves the server.
type lostReply struct{ h http.Header }

func (l *lostReply) Header() http.Header         { return l.h }
func (l *lostReply) Write(b []byte) (int, error) { return len(b), nil }
func (l *lostReply) WriteHeader(int)             {}

// ExpireSessions makes every open session's validUntil pass now: further
// sends fail with 21180.
func (s *Server) ExpireSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for _, ss := range s.st.Sessions {
		if !ss.Closed {
			ss.ValidUntil = now.Add(-time.Second)
		}
	}
}

// ExpireTokens expires every access token (requests get 401); with
// refreshToo the refresh and authentication tokens expire as well, so the
// client must authenticate again.
func (s *Server) ExpireTokens(refreshToo bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	past := s.now().Add(-time.Second)
	for _, g := range s.st.Grants {
		if g.Kind == authAccess || refreshToo {
			g.ValidUntil = past
		}
	}
}

// Availability statuses of the Latarnia feed.
const (
	StatusAvailable    = "AVAILABLE"
	StatusMaintenance  = "MAINTENANCE"
	StatusFailure      = "FAILURE"
	StatusTotalFailure = "TOTAL_FAILURE"
)

// LatarniaMessage is one announcement of the availability feed.
type LatarniaMessage struct {
	ID        string  `json:"id"`
	EventID   int     `json:"eventId"`
	Category  string  `json:"category"` // FAILURE | TOTAL_FAILURE | MAINTENANCE
	Type      string  `json:"type"`     // FAILURE_START | FAILURE_END | MAINTENANCE_ANNOUNCEMENT
	Title     string  `json:"title"`
	Text      string  `json:"text"`
	Start     string  `json:"start"`
	End       *string `json:"end,omitempty"`
	Version   int     `json:"version"`
	Published string  `json:"published"`
}

type availability struct {
	Status   string
	Messages []LatarniaMessage
	events   int
}

// SetAvailability sets the feed's status. A status other than AVAILABLE
// publishes a start message with text; AVAILABLE publishes the end of the
// current event and clears the active messages.
func (s *Server) SetAvailability(status, text string) error {
	switch status {
	case StatusAvailable, StatusMaintenance, StatusFailure, StatusTotalFailure:
	default:
		return fmt.Errorf("%w: %q", ErrAvailability, status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := ts(s.now())
	if status == StatusAvailable {
		s.avail = availability{Status: status, events: s.avail.events}
		return nil
	}
	s.avail.events++
	typ := "FAILURE_START"
	if status == StatusMaintenance {
		typ = "MAINTENANCE_ANNOUNCEMENT"
	}
	if text == "" {
		text = "Symulowana niedostępność KSeF."
	}
	s.avail.Status = status
	s.avail.Messages = append(s.avail.Messages, LatarniaMessage{
		ID: uuidLike(), EventID: s.avail.events, Category: status, Type: typ,
		Title: "KSeF: " + status, Text: text, Start: now, Version: 1, Published: now,
	})
	return nil
}

func (s *Server) handleLatarniaStatus(c *call) (*response, error) {
	msgs := append([]LatarniaMessage{}, s.avail.Messages...)
	return jsonResp(http.StatusOK, wireLatarniaStatus{Status: s.avail.Status, Messages: msgs}), nil
}

func (s *Server) handleLatarniaMessages(c *call) (*response, error) {
	return jsonResp(http.StatusOK, append([]LatarniaMessage{}, s.avail.Messages...)), nil
}

// adminHandler serves the fault controls and inspection as JSON:
//
//	POST   /admin/faults            {"kind":"html502","count":2,"pathPrefix":"/v2/sessions","delay":"1s"}
//	DELETE /admin/faults
//	POST   /admin/rotate-keys
//	POST   /admin/expire-sessions
//	POST   /admin/expire-tokens     {"refresh":true}
//	POST   /admin/availability      {"status":"FAILURE","text":"..."}
//	GET    /admin/invoices
//	POST   /admin/certificates/{serial}/status  {"status":"Blocked"}
//	GET    /admin/ca                (PEM)
func (s *Server) adminHandler() http.Handler {
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, v any, err error) {
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
			return
		}
		if v == nil {
			v = map[string]string{"status": "ok"}
		}
		_ = json.NewEncoder(w).Encode(v)
	}
	decode := func(r *http.Request, v any) error {
		if err := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<16)).Decode(v); err != nil {
			return fmt.Errorf("ksefsim: admin body: %w", err)
		}
		return nil
	}
	mux.HandleFunc("POST /admin/faults", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Kind       FaultKind `json:"kind"`
			Count      int       `json:"count"`
			PathPrefix string    `json:"pathPrefix"`
			Delay      string    `json:"delay"`
		}
		if err := decode(r, &in); err != nil {
			reply(w, nil, err)
			return
		}
		f := Fault{Kind: in.Kind, Count: in.Count, PathPrefix: in.PathPrefix}
		if in.Delay != "" {
			d, err := time.ParseDuration(in.Delay)
			if err != nil {
				reply(w, nil, fmt.Errorf("%w: delay: %w", ErrFault, err))
				return
			}
			f.Delay = d
		}
		reply(w, nil, s.InjectFault(f))
	})
	mux.HandleFunc("DELETE /admin/faults", func(w http.ResponseWriter, r *http.Request) { s.ClearFaults(); reply(w, nil, nil) })
	mux.HandleFunc("POST /admin/rotate-keys", func(w http.ResponseWriter, r *http.Request) { reply(w, nil, s.RotateKeys()) })
	mux.HandleFunc("POST /admin/expire-sessions", func(w http.ResponseWriter, r *http.Request) { s.ExpireSessions(); reply(w, nil, nil) })
	mux.HandleFunc("POST /admin/expire-tokens", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Refresh bool `json:"refresh"`
		}
		if r.ContentLength != 0 {
			if err := decode(r, &in); err != nil {
				reply(w, nil, err)
				return
			}
		}
		s.ExpireTokens(in.Refresh)
		reply(w, nil, nil)
	})
	mux.HandleFunc("POST /admin/availability", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Status string `json:"status"`
			Text   string `json:"text"`
		}
		if err := decode(r, &in); err != nil {
			reply(w, nil, err)
			return
		}
		reply(w, nil, s.SetAvailability(in.Status, in.Text))
	})
	mux.HandleFunc("GET /admin/invoices", func(w http.ResponseWriter, r *http.Request) { reply(w, s.Invoices(), nil) })
	mux.HandleFunc("POST /admin/certificates/{serial}/status", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Status string `json:"status"`
		}
		if err := decode(r, &in); err != nil {
			reply(w, nil, err)
			return
		}
		reply(w, nil, s.SetCertificateStatus(r.PathValue("serial"), in.Status))
	})
	mux.HandleFunc("GET /admin/ca", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-pem-file")
		_, _ = w.Write(s.CACertificatePEM())
	})
	return mux
}
