package faults_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posagent/posagent/internal/soak"
	"github.com/posagent/posagent/ksef/ksefsim"
)

// outage is a rig whose KSeF is down (every /v2 request dropped) until
// back is called; it counts the logins the agent attempts meanwhile.
type outage struct {
	*rig
	logins atomic.Int64 // POST /v2/auth/challenge, dropped ones included
}

// newOutage starts the real binary with KSeF's real rate limits and
// batch_threshold 100 (the configuration default), KSeF already down.
func newOutage(t testing.TB) *outage {
	o := &outage{}
	count := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && r.URL.Path == "/v2/auth/challenge" {
				o.logins.Add(1)
			}
			h.ServeHTTP(w, r)
		})
	}
	o.rig = newRig(t, rigOptions{rateLimits: true, wrap: count, noStart: true, site: soak.SiteOptions{BatchThreshold: 100}})
	must(t, o.sim.InjectFault(ksefsim.Fault{Kind: ksefsim.FaultDrop, Count: ksefsim.Forever, PathPrefix: "/v2"}))
	o.start()
	return o
}

// back brings KSeF back and returns the moment.
func (o *outage) back() time.Time {
	o.sim.ClearFaults()
	return time.Now()
}

// accepted is how many invoices the till API shows accepted, at most limit.
func (o *outage) accepted(limit int) int {
	resp, err := o.site.Do("GET", fmt.Sprintf("/v1/invoices?state=accepted&limit=%d", limit), "", nil)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var page struct{ Invoices []json.RawMessage }
	b, _ := io.ReadAll(resp.Body)
	if json.Unmarshal(b, &page) != nil {
		return 0
	}
	return len(page.Invoices)
}

// TestRecoveryAfterOutage (issue 19, through the real binary with its
// default retry settings: 1 s doubling to 5 min): fifteen sales made while
// KSeF is down cost a handful of failed rounds, not one each, and once KSeF
// is back the backlog drains in seconds, not after the backoff.
func TestRecoveryAfterOutage(t *testing.T) {
	t.Parallel()
	o := newOutage(t)
	o.sell(15)
	time.Sleep(8 * time.Second) // the backoff grows while KSeF stays down
	if n := o.logins.Load(); n >= 15 {
		t.Errorf("%d login attempts during the outage: one per sale, not one per round", n)
	}
	t.Logf("%d login attempts in the outage", o.logins.Load())
	o.back()
	// Before issue 19 the first call came 299 s later; the drain's bound is
	// far below that and far above what the probe needs.
	o.drained(15, time.Minute)
	// Whichever came first after KSeF's return, the link probe or the
	// backoff's round (agent's TestRecoveryAfterOutage proves the probe
	// alone, with a backoff longer than the wait).
	t.Logf("probe saw KSeF return: %v", strings.Contains(string(o.site.Logs()), "KSeF answers again"))
}

// BenchmarkRecovery measures, through the real binary against the
// simulator with KSeF's rate limits, the time from KSeF's return after an
// outage to the first invoice the till API shows accepted and to an empty
// backlog, for 15 and for 1 000 invoices issued during the outage (each
// iteration a fresh agent and store). docs/BENCHMARKS.md has the method and
// the numbers.
//
//	go test -run '^$' -bench BenchmarkRecovery -benchtime 3x ./internal/faults
func BenchmarkRecovery(b *testing.B) {
	for _, n := range []int{15, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			var first, empty []time.Duration
			for range b.N {
				b.StopTimer()
				o := newOutage(b)
				o.sell(n)
				time.Sleep(8 * time.Second)
				b.StartTimer()
				back := o.back()
				for o.accepted(1) == 0 {
					time.Sleep(20 * time.Millisecond)
				}
				first = append(first, time.Since(back))
				for {
					if left, err := o.site.Backlog(); err == nil && left == 0 {
						break
					}
					time.Sleep(20 * time.Millisecond)
				}
				empty = append(empty, time.Since(back))
				b.StopTimer()
				o.stop()
			}
			slices.Sort(first)
			slices.Sort(empty)
			b.ReportMetric(first[len(first)/2].Seconds(), "s-first-accepted-p50")
			b.ReportMetric(first[len(first)-1].Seconds(), "s-first-accepted-max")
			b.ReportMetric(empty[len(empty)/2].Seconds(), "s-backlog-empty-p50")
			b.ReportMetric(empty[len(empty)-1].Seconds(), "s-backlog-empty-max")
		})
	}
}
