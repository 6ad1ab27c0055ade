package agent

import (
	"testing"

	"github.com/posagent/posagent/escpos"
	"github.com/posagent/posagent/internal/metrics"
	"github.com/posagent/posagent/printer"
)

// posagent_printer_state has a series for every state from the start, and
// each condition maps to its own; a status from before a disconnection counts
// for nothing.
func TestObservePrinter(t *testing.T) {
	tests := []struct {
		name string
		ps   printer.State
		on   []string
	}{
		{"Ready", printer.State{Connected: true, Known: true}, []string{"ready"}},
		{"NearEndStillPrints", printer.State{Connected: true, Known: true, Status: escpos.Status{PaperNearEnd: true}}, []string{"ready", "paper_near_end"}},
		{"PaperOut", printer.State{Connected: true, Known: true, Status: escpos.Status{PaperOut: true, Offline: true}}, []string{"paper_out", "offline"}},
		{"CoverOpen", printer.State{Connected: true, Known: true, Status: escpos.Status{CoverOpen: true}}, []string{"cover_open"}},
		{"CutterError", printer.State{Connected: true, Known: true, Status: escpos.Status{CutterError: true}}, []string{"error"}},
		{"NoReplyYet", printer.State{Connected: true}, []string{"unknown"}},
		{"UnpluggedWithStaleStatus", printer.State{Known: true, Status: escpos.Status{PaperOut: true}}, []string{"disconnected"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMetrics(metrics.NewRegistry())
			for _, s := range printerStates {
				if got := m.printer.With(s).Value(); got != 0 {
					t.Errorf("before any status: %s = %v, want 0", s, got)
				}
			}
			m.observePrinter(tt.ps)
			for _, s := range printerStates {
				want := 0.0
				for _, o := range tt.on {
					if o == s {
						want = 1
					}
				}
				if got := m.printer.With(s).Value(); got != want {
					t.Errorf("%s = %v, want %v", s, got, want)
				}
			}
		})
	}
}
