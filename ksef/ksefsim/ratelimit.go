package ksefsim

import (
	"fmt"
	"math"
	"net/http"
	"time"
)

// Rate-limit groups (ksef-api.md §6, OpenAPI 429 tables).
const (
	groupAuth          = "auth"
	groupOnlineOpen    = "onlineSessionOpen"
	groupInvoiceSend   = "invoiceSend"
	groupOnlineClose   = "onlineSessionClose"
	groupBatch         = "batchSession"
	groupInvoiceStatus = "invoiceStatus"
	groupSessionMisc   = "sessionMisc"
	groupOther         = "other" // certificates, limits, permissions: their x-rate-limits in open-api.json
)

// limit is one threshold: at most N requests per window.
type limit struct {
	n      int
	window time.Duration
	name   string // as the docs phrase it
}

// limitTable holds the official per-(context, IP) thresholds; all apply at once.
var limitTable = map[string][]limit{
	groupAuth:          {{60, time.Second, "sekundę"}},
	groupOnlineOpen:    {{10, time.Second, "sekundę"}, {30, time.Minute, "minutę"}, {120, time.Hour, "godzinę"}},
	groupInvoiceSend:   {{10, time.Second, "sekundę"}, {30, time.Minute, "minutę"}, {180, time.Hour, "godzinę"}},
	groupOnlineClose:   {{10, time.Second, "sekundę"}, {30, time.Minute, "minutę"}, {120, time.Hour, "godzinę"}},
	groupBatch:         {{10, time.Second, "sekundę"}, {20, time.Minute, "minutę"}, {60, time.Hour, "godzinę"}},
	groupInvoiceStatus: {{30, time.Second, "sekundę"}, {120, time.Minute, "minutę"}, {1200, time.Hour, "godzinę"}},
	groupSessionMisc:   {{10, time.Second, "sekundę"}, {120, time.Minute, "minutę"}, {1200, time.Hour, "godzinę"}},
	groupOther:         {{10, time.Second, "sekundę"}, {30, time.Minute, "minutę"}, {120, time.Hour, "godzinę"}},
}

type rateLimitError struct {
	apiError
	retryAfter int // seconds
}

func (e *rateLimitError) Unwrap() error { return &e.apiError }

// rateLimit records a request of group for (nip, ip) at now, or refuses it
// when any sliding window is full. Refused requests are not counted. Called
// with s.mu held.
func (s *Server) rateLimit(group, nip, ip string, now time.Time) error {
	lims := limitTable[group]
	if len(lims) == 0 {
		return nil
	}
	key := group + "|" + nip + "|" + ip
	hist := s.limits[key]
	longest := time.Duration(float64(lims[len(lims)-1].window) / s.scale)
	// Drop entries older than the longest window.
	i := 0
	for i < len(hist) && now.Sub(hist[i]) >= longest {
		i++
	}
	hist = hist[i:]
	var wait time.Duration
	var hit *limit
	for j := range lims {
		l := &lims[j]
		win := time.Duration(float64(l.window) / s.scale)
		if win <= 0 {
			win = time.Nanosecond
		}
		// Count entries inside the window: they are sorted, so search back.
		inWin := 0
		for k := len(hist) - 1; k >= 0 && now.Sub(hist[k]) < win; k-- {
			inWin++
		}
		if inWin >= l.n {
			// The request fits again when the oldest counted entry leaves.
			oldest := hist[len(hist)-l.n]
			if w := oldest.Add(win).Sub(now); w > wait {
				wait, hit = w, l
			}
		}
	}
	if hit != nil {
		s.limits[key] = hist
		secs := int(math.Ceil(wait.Seconds()))
		if secs < 1 {
			secs = 1
		}
		detail := fmt.Sprintf("Przekroczono limit %d żądań na %s. Spróbuj ponownie po %d sekundach.", hit.n, hit.name, secs)
		return &rateLimitError{
			apiError:   apiError{status: http.StatusTooManyRequests, code: 429, desc: "Too Many Requests", details: []string{detail}},
			retryAfter: secs,
		}
	}
	s.limits[key] = append(hist, now)
	return nil
}
