package metrics_test

import (
	"os"

	"github.com/posagent/posagent/internal/metrics"
)

func ExampleRegistry() {
	r := metrics.NewRegistry()
	jobs := r.CounterVec("posagent_print_jobs_total", "Print jobs by result.", "result")
	jobs.With("ok").Inc()
	jobs.With("failed").Inc()
	jobs.With("ok").Inc()
	r.GaugeFunc("posagent_backlog_invoices", "Invoices not yet accepted by KSeF.", func() float64 { return 12 })
	r.WriteTo(os.Stdout)
	// Output:
	// # HELP posagent_backlog_invoices Invoices not yet accepted by KSeF.
	// # TYPE posagent_backlog_invoices gauge
	// posagent_backlog_invoices 12
	// # HELP posagent_print_jobs_total Print jobs by result.
	// # TYPE posagent_print_jobs_total counter
	// posagent_print_jobs_total{result="failed"} 1
	// posagent_print_jobs_total{result="ok"} 2
}
