package agent

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/posagent/posagent/ksef/ksefapi"
)

// LinkProber is an optional capability of the KSeF client: a cheap call
// that needs no login and tells whether KSeF answers. The upload scheduler
// uses it every LinkProbeInterval while the link is down, so uploads resume
// within seconds of its return whatever the backoff has grown to, and once
// a ProbeInterval when nothing else has called KSeF, so the link state (and
// posagent_ksef_link_up) stays current. Without it the scheduler waits out
// its backoff.
type LinkProber interface {
	Ping(ctx context.Context) error
}

var _ LinkProber = (*ksefapi.Client)(nil)

// DefaultLinkProbeInterval is how often the link is probed while it is down.
const DefaultLinkProbeInterval = 2 * time.Second

// linkProbeTimeout bounds one probe: on a link that drops packets, a probe
// must not hang for the client's whole HTTP timeout.
const linkProbeTimeout = 5 * time.Second

// pingLink probes the link, records the outcome and reports whether KSeF
// answered. It reports false without a prober.
func (a *Agent) pingLink(ctx context.Context) bool {
	p, ok := a.api.(LinkProber)
	if !ok {
		return false
	}
	pctx, cancel := context.WithTimeout(ctx, linkProbeTimeout)
	defer cancel()
	err := p.Ping(pctx)
	if ctx.Err() != nil {
		return false
	}
	a.noteLink(err)
	return err == nil
}

// canProbe reports whether the client offers a link probe.
func (a *Agent) canProbe() bool {
	_, ok := a.api.(LinkProber)
	return ok
}

// probeEvery is the next probe delay: LinkProbeInterval ±25 %, so a fleet
// whose link came back at once does not come back in step.
func (a *Agent) probeEvery() time.Duration {
	d := a.opts.LinkProbeInterval
	return d*3/4 + time.Duration(rand.Int64N(int64(d)/2+1))
}

// linkDown reports whether the last KSeF call found the link down.
func (a *Agent) linkDown() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.link == "down"
}

// probeIdleLink probes the link when no KSeF call has told its state for a
// ProbeInterval, so an idle agent's link state does not go stale.
func (a *Agent) probeIdleLink(ctx context.Context) {
	a.mu.Lock()
	stale := a.now().Sub(a.linkChecked) >= a.opts.ProbeInterval
	a.mu.Unlock()
	if stale {
		a.pingLink(ctx)
	}
}
