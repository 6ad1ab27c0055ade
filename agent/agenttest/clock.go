package agenttest

import (
	"sync"
	"time"
)

// Clock is a clock a test can move: real time shifted by Add, or, after Set,
// a fixed time that only Add moves. The zero Clock reads real time. Pass its
// Now to the agent and the store so both see the same day.
type Clock struct {
	mu    sync.Mutex // guards fixed, at, off
	fixed bool
	at    time.Time
	off   time.Duration
}

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock {
	c := &Clock{}
	c.Set(t)
	return c
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fixed {
		return c.at.Add(c.off)
	}
	return time.Now().Add(c.off)
}

// Add moves the clock by d (backwards when d is negative).
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// Set stops the clock at t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.fixed, c.at, c.off = true, t, 0
	c.mu.Unlock()
}
