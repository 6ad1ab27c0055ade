package agent

import (
	"github.com/posagent/posagent/internal/metrics"
)

// agentMetrics are the agent's series in the caller's registry.
type agentMetrics struct {
	sales         *metrics.Counter
	printJobs     *metrics.Counter
	printFailures *metrics.Counter
	uploadSeconds *metrics.Histogram
	backlog       *metrics.Gauge
	deadline      *metrics.Gauge
	certDays      *metrics.Gauge
	ksefErrors    *metrics.CounterVec

	// The store's counts of receipts, refreshed with the backlog.
	printPending *metrics.Gauge
	uncertain    *metrics.Gauge
}

func newMetrics(r *metrics.Registry) *agentMetrics {
	return &agentMetrics{
		sales:         r.Counter("posagent_sales_total", "Sales issued as invoices since start."),
		printJobs:     r.Counter("posagent_print_jobs_total", "Print jobs printed since start."),
		printFailures: r.Counter("posagent_print_failures_total", "Print jobs that failed (and were retried) since start."),
		uploadSeconds: r.Histogram("posagent_upload_seconds", "Time from send to a final KSeF answer.",
			[]float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300}),
		backlog:    r.Gauge("posagent_backlog", "Invoices not yet accepted by KSeF (queued, sending, blocked)."),
		deadline:   r.Gauge("posagent_earliest_deadline_seconds", "Seconds to the earliest upload deadline; negative when overdue, 0 when none."),
		certDays:   r.Gauge("posagent_offline_cert_days_left", "Days until the KSeF Offline certificate expires."),
		ksefErrors: r.CounterVec("posagent_ksef_errors_total", "KSeF call failures by code (KSeF code, HTTP status or transport).", "code"),

		printPending: r.Gauge("posagent_print_pending", "Receipts not yet printed, as the store counts them: print jobs pending or failed (waiting for the printer), not the worker's queue."),
		uncertain: r.Gauge("posagent_receipts_uncertain",
			"Receipts a restart left uncertain (may or may not have printed; not printed again); reprint them as DUPLIKAT."),
	}
}
