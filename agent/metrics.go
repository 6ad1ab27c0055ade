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
	authMethod    *metrics.GaugeVec
	authFailures  *metrics.Counter
	certExpiry    *metrics.GaugeVec
	certRevoked   *metrics.GaugeVec
	penalty       *metrics.Gauge

	// For fleet alerting (deploy/prometheus): labels are fixed sets, never
	// invoice numbers or NIPs, so a terminal's series count stays constant.
	overdue    *metrics.Gauge
	deadlineAt *metrics.Gauge
	storeBytes *metrics.Gauge
	storeCap   *metrics.Gauge
	printer    *metrics.GaugeVec
	linkUp     *metrics.Gauge

	// The store's counts of receipts, refreshed with the backlog.
	printPending *metrics.Gauge
	uncertain    *metrics.Gauge
}

// oneIf is the value of a 0/1 gauge.
func oneIf(b bool) float64 {
	if b {
		return 1
	}
	return 0
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
		authMethod: r.GaugeVec("posagent_ksef_auth_method", "How the agent logs in to KSeF: 1 for the configured method (token or xades).", "method"),
		authFailures: r.Counter("posagent_ksef_auth_failures_total",
			"Failed KSeF logins since start (refused token or certificate, or no answer)."),
		certExpiry: r.GaugeVec("posagent_certificate_expiry_timestamp_seconds",
			"When each installed KSeF certificate expires, Unix seconds.", "usage"),
		certRevoked: r.GaugeVec("posagent_certificate_revoked",
			"1 when KSeF reports the installed certificate revoked or suspended (blocked).", "usage"),
		penalty: r.Gauge("posagent_penalty_exposure_pln",
			"Upper bound in PLN of the fines (art. 106ni) for invoices past an upload deadline missed on or after 2027-01-01."),

		overdue:    r.Gauge("posagent_invoices_overdue", "Invoices past their upload deadline and not in KSeF (still uploaded, never dropped)."),
		deadlineAt: r.Gauge("posagent_earliest_deadline_timestamp_seconds", "Upload deadline of the earliest invoice not in KSeF, Unix seconds; 0 when none."),
		storeBytes: r.Gauge("posagent_store_bytes", "Bytes the store file uses."),
		storeCap:   r.Gauge("posagent_store_cap_bytes", "The store's cap (store.cap_mb) in bytes; sales are refused beyond it."),
		printer:    printerStateGauge(r),
		linkUp:     r.Gauge("posagent_ksef_link_up", "1 when the last KSeF call (or link probe) got an answer, 0 when the link is down or not yet known."),

		printPending: r.Gauge("posagent_print_pending", "Receipts not yet printed, as the store counts them: print jobs pending or failed (waiting for the printer), not the worker's queue."),
		uncertain: r.Gauge("posagent_receipts_uncertain",
			"Receipts a restart left uncertain (may or may not have printed; not printed again); reprint them as DUPLIKAT."),
	}
}
