package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Defaults for zero Min and Max.
const (
	DefaultMin = 500 * time.Millisecond
	DefaultMax = 30 * time.Second
)

// Clock is the time source of a Backoff; tests inject a fake.
type Clock interface {
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Backoff computes retry delays: Min doubled per consecutive failure, capped
// at Max, with 0.5–1.5× jitter (never above Max). Zero fields take defaults.
// A Backoff is not safe for concurrent use.
type Backoff struct {
	Min, Max time.Duration
	Clock    Clock          // nil means the real clock
	Rand     func() float64 // jitter source in [0,1); nil means math/rand/v2

	n int // consecutive failures
}

// Next returns the delay before the next attempt and counts a failure.
func (b *Backoff) Next() time.Duration {
	lo, hi := b.Min, b.Max
	if lo <= 0 {
		lo = DefaultMin
	}
	if hi <= 0 {
		hi = DefaultMax
	}
	d := lo
	for i := 0; i < b.n && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	if b.n < 63 {
		b.n++
	}
	r := rand.Float64
	if b.Rand != nil {
		r = b.Rand
	}
	return min(time.Duration(float64(d)*(0.5+r())), hi)
}

// Failures returns the number of failures since the last Reset.
func (b *Backoff) Failures() int { return b.n }

// Reset starts over after a success.
func (b *Backoff) Reset() { b.n = 0 }

// After counts a failure and returns a channel that fires after the next
// delay, for callers that wait on other channels too.
func (b *Backoff) After() <-chan time.Time {
	c := b.Clock
	if c == nil {
		c = realClock{}
	}
	return c.After(b.Next())
}

// Wait sleeps for the next delay or until ctx is done, returning ctx.Err() then.
func (b *Backoff) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-b.After():
		return nil
	}
}
