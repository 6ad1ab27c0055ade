package backoff_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/posagent/posagent/internal/backoff"
)

func TestBackoffNext(t *testing.T) {
	tests := []struct {
		name string
		rnd  float64
		want []time.Duration
	}{
		{"no jitter", 0.5, []time.Duration{100, 200, 400, 800, 1000, 1000}},
		{"low jitter", 0, []time.Duration{50, 100, 200, 400, 500, 500}},
		{"high jitter is capped", 0.99, []time.Duration{149, 298, 596, 1000, 1000, 1000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := backoff.Backoff{Min: 100 * time.Millisecond, Max: time.Second, Rand: func() float64 { return tt.rnd }}
			for i, w := range tt.want {
				if got := b.Next().Truncate(time.Millisecond); got != w*time.Millisecond {
					t.Errorf("Next() #%d = %v, want %v", i, got, w*time.Millisecond)
				}
			}
			if b.Failures() != len(tt.want) {
				t.Errorf("Failures() = %d, want %d", b.Failures(), len(tt.want))
			}
			b.Reset()
			if got := b.Next().Truncate(time.Millisecond); got != time.Duration(float64(100*time.Millisecond)*(0.5+tt.rnd)).Truncate(time.Millisecond) {
				t.Errorf("Next() after Reset = %v", got)
			}
		})
	}
}

func TestBackoffWait(t *testing.T) {
	clock := &instantClock{}
	b := backoff.Backoff{Clock: clock, Rand: func() float64 { return 0.5 }}
	if err := b.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(clock.delays) != 1 || clock.delays[0] != backoff.DefaultMin {
		t.Errorf("delays = %v, want [%v]", clock.delays, backoff.DefaultMin)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	never := backoff.Backoff{Clock: clockFunc(func(time.Duration) <-chan time.Time { return nil })}
	if err := never.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait(cancelled) = %v, want context.Canceled", err)
	}
}

// instantClock fires at once and records the delays asked for.
type instantClock struct{ delays []time.Duration }

func (c *instantClock) After(d time.Duration) <-chan time.Time {
	c.delays = append(c.delays, d)
	ch := make(chan time.Time, 1)
	ch <- time.Time{}
	return ch
}

type clockFunc func(time.Duration) <-chan time.Time

func (f clockFunc) After(d time.Duration) <-chan time.Time { return f(d) }
