package printer_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/posagent/posagent/printer"
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
			b := printer.Backoff{Min: 100 * time.Millisecond, Max: time.Second, Rand: func() float64 { return tt.rnd }}
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
	b := printer.Backoff{Clock: clock, Rand: func() float64 { return 0.5 }}
	if err := b.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(clock.delays) != 1 || clock.delays[0] != printer.DefaultBackoffMin {
		t.Errorf("delays = %v, want [%v]", clock.delays, printer.DefaultBackoffMin)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	never := printer.Backoff{Clock: clockFunc(func(time.Duration) <-chan time.Time { return nil })}
	if err := never.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait(cancelled) = %v, want context.Canceled", err)
	}
}

func TestErrorsRetryable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"paper out", &printer.StatusError{}, true},
		{"unrecoverable", func() error { e := &printer.StatusError{}; e.Unrecoverable = true; return e }(), false},
		{"timeout", &printer.TimeoutError{Op: "status"}, true},
		{"disconnected", &printer.DisconnectedError{Op: "write", Err: errors.New("EIO")}, true},
		{"options", &printer.OptionError{Field: "Baud"}, false},
		{"plain", errors.New("x"), false},
		{"cancelled", printer.ErrCancelled, false},
	}
	for _, tt := range tests {
		if got := printer.Retryable(tt.err); got != tt.want {
			t.Errorf("Retryable(%s) = %v, want %v", tt.name, got, tt.want)
		}
	}
}
