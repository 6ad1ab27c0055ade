package agent_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/agent/agenttest"
	"github.com/posagent/posagent/internal/metrics"
	"github.com/posagent/posagent/outbox"
	"github.com/posagent/posagent/printer"
)

// scrape returns the registry's samples by series (name with labels).
func scrape(reg *metrics.Registry) map[string]float64 {
	var sb strings.Builder
	reg.WriteTo(&sb)
	out := map[string]float64{}
	for _, line := range strings.Split(sb.String(), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

// The fleet gauges follow the store and the printer: an invoice KSeF cannot
// take is counted overdue once its deadline passes, with the deadline as a
// timestamp, and counts no more once accepted; the store's size and cap and
// the printer's condition are reported as they are.
func TestFleetMetrics(t *testing.T) {
	reg := metrics.NewRegistry()
	env := agenttest.NewEnv(t, nil)
	env.Clock.Set(friday)
	env.MaxSize = 32 << 20
	env.Down()
	s := env.Start(agenttest.WithOptions(func(o *agent.Options) { o.Metrics = reg }))
	v := s.Issue("fleet-1", consumerSale())
	inv := s.Get(v.ID)

	want := func(what string, wants map[string]float64) {
		t.Helper()
		var miss []string
		agenttest.WaitFor(t, what, 0, func() bool {
			got := scrape(reg)
			miss = miss[:0]
			for k, w := range wants {
				if g, ok := got[k]; !ok || g != w {
					miss = append(miss, fmt.Sprintf("%s = %v (present %v), want %v", k, g, ok, w))
				}
			}
			if len(miss) > 0 && testing.Verbose() {
				t.Log(miss)
			}
			return len(miss) == 0
		})
	}
	deadline := float64(inv.Deadline.UnixNano()) / 1e9 // end of a day: 23:59:59.999999999
	want("a queued invoice, not yet overdue", map[string]float64{
		"posagent_invoices_overdue":                    0,
		"posagent_earliest_deadline_timestamp_seconds": deadline,
		"posagent_store_cap_bytes":                     32 << 20,
		`posagent_printer_state{state="ready"}`:        1,
		`posagent_printer_state{state="paper_out"}`:    0,
	})
	if got := scrape(reg)["posagent_store_bytes"]; got <= 0 {
		t.Errorf("posagent_store_bytes = %v, want the file's size", got)
	}

	env.Clock.Set(inv.Deadline.Add(time.Minute))
	s.Virtual.SetFaults(printer.Faults{PaperOut: true})
	v2 := s.Issue("fleet-2", consumerSale()) // the worker asks the printer before it prints
	want("the deadline passed, paper out", map[string]float64{
		"posagent_invoices_overdue":                    1,
		"posagent_earliest_deadline_timestamp_seconds": deadline,
		`posagent_printer_state{state="ready"}`:        0,
		`posagent_printer_state{state="paper_out"}`:    1,
	})

	env.Sim.ClearFaults()
	agenttest.WaitFor(t, "acceptance", 0, func() bool {
		return s.Get(v.ID).Upload == outbox.UploadAccepted && s.Get(v2.ID).Upload == outbox.UploadAccepted
	})
	want("accepted", map[string]float64{
		"posagent_invoices_overdue":                    0,
		"posagent_earliest_deadline_timestamp_seconds": 0,
	})
}
