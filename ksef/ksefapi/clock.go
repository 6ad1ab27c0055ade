package ksefapi

import (
	"net/http"
	"sync"
	"time"
)

// skewMeter keeps the last offset of the client's clock from KSeF's, read
// from the Date header of every answer.
type skewMeter struct {
	mu   sync.Mutex // guards skew and ok
	skew time.Duration
	ok   bool
}

// observe measures the skew from one answer sent at sent and received at
// recv. Date has whole seconds, truncated: the server's time was in
// [date, date+1s), so its middle is compared with the middle of the round
// trip. The error is at most half a second plus half the round trip.
func (m *skewMeter) observe(date string, sent, recv time.Time) {
	d, err := http.ParseTime(date)
	if err != nil {
		return
	}
	mid := sent.Add(recv.Sub(sent) / 2)
	m.mu.Lock()
	m.skew, m.ok = mid.Sub(d.Add(500*time.Millisecond)), true
	m.mu.Unlock()
}

// ClockSkew returns how far the client's clock (Config.Now, the host's unless
// a rehearsal runs on a simulated date, and then so does the simulator's Date)
// runs ahead of KSeF's, negative when behind, measured on the last answer
// that carried a Date header; ok is false before the first one.
func (cl *Client) ClockSkew() (skew time.Duration, ok bool) {
	cl.clock.mu.Lock()
	defer cl.clock.mu.Unlock()
	return cl.clock.skew, cl.clock.ok
}
