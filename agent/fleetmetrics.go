package agent

import (
	"github.com/posagent/posagent/internal/metrics"
	"github.com/posagent/posagent/outbox"
	"github.com/posagent/posagent/printer"
)

// printerStates are the label values of posagent_printer_state.
var printerStates = []string{"ready", "paper_out", "paper_near_end", "cover_open", "offline", "error", "disconnected", "unknown"}

// printerStateGauge registers posagent_printer_state with a series for every
// state from the first scrape: a missing series reads as "no data", not 0.
func printerStateGauge(r *metrics.Registry) *metrics.GaugeVec {
	g := r.GaugeVec("posagent_printer_state", "1 for each printer condition that holds now, else 0: ready (can print), "+
		"paper_out, paper_near_end, cover_open, offline, error, disconnected (port not open), unknown (no status reply yet).", "state")
	for _, s := range printerStates {
		g.With(s).Set(0)
	}
	return g
}

// observeStore sets the store and deadline gauges from the monitor's Stats.
func (m *agentMetrics) observeStore(st *outbox.Stats) {
	m.overdue.Set(float64(len(st.Overdue)))
	if st.EarliestDeadline.IsZero() {
		m.deadlineAt.Set(0)
	} else {
		m.deadlineAt.SetTime(st.EarliestDeadline)
	}
	m.storeBytes.Set(float64(st.Used))
	m.storeCap.Set(float64(st.Limit))
}

// observePrinter sets posagent_printer_state from what the worker knows. A
// status from before a disconnection is stale and counts for nothing.
func (m *agentMetrics) observePrinter(ps printer.State) {
	s := ps.Status
	known := ps.Connected && ps.Known
	errored := s.ErrorOccurred || s.MechanicalError || s.CutterError || s.Unrecoverable || s.AutoRecoverable
	on := map[string]bool{
		"paper_out":      known && s.PaperOut,
		"paper_near_end": known && s.PaperNearEnd,
		"cover_open":     known && s.CoverOpen,
		"offline":        known && s.Offline,
		"error":          known && errored,
		"disconnected":   !ps.Connected,
		"unknown":        ps.Connected && !ps.Known,
	}
	on["ready"] = known && !s.PaperOut && !s.CoverOpen && !s.Offline && !errored
	for _, state := range printerStates {
		m.printer.With(state).Set(oneIf(on[state]))
	}
}
