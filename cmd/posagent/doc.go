// Command posagent issues Polish KSeF e-invoices at a till, prints them as receipts
// with the offline QR codes, and uploads them to KSeF when the link allows.
//
// main does wiring only: flags, configuration, the slog logger, the store, the
// printer port and the service program. Every verb lives in its own file:
//
//	run                     the service in the foreground (what systemd starts)
//	demo                    everything on one machine: simulator, virtual printer
//	install|uninstall       the systemd unit, /etc/posagent and /var/lib/posagent
//	start|stop|status       the installed service
//	doctor                  pass/warn/fail checks, each failure with its fix
//	cert import|list|csr    the KSeF certificates
//	printer list|test|status
//	invoices list|show|export|reprint
//	mode                    show or override the offline mode
//	ksefsim                 the KSeF simulator on loopback
//	version, help
//
// # Concepts
//
// Every verb that needs the configuration takes --config FILE (default
// /etc/posagent/posagent.toml). Paths of an installation (the configuration
// directory, the data directory, the unit file) are relative to an install root,
// "/" unless --root DIR or POSAGENT_ROOT says otherwise, so that tests and
// image builders can install into a directory.
//
// Output is a table for people and JSON with --json for scripts. Errors map to
// exit codes: 1 failure, 2 usage, 3 a check failed or the service is stopped,
// 4 not installed, 78 configuration error.
//
// The running service is reached through its till API: mode shows or sets the
// operator's override there (the override lives in the agent's memory, so a
// restart returns to automatic and a forgotten override cannot outlive an
// outage), status reads GET /v1/status, and invoices reprint posts there, or
// queues the duplicate in the store when the service is stopped.
//
// The service serves its metrics on the till API's /metrics and, when
// [metrics] listen is set, alone on that address (till.MetricsServer), where
// a fleet's Prometheus scrapes them with a token that cannot issue invoices.
// Whether that listener runs never decides whether sales run: a failure to
// listen is logged. Next to the agent's and the till API's series, the
// wiring adds posagent_build_info and posagent_clock_skew_seconds.
//
// # Caveats
//
// bbolt allows one process per file: invoices list, show and export open the
// store only while the service is stopped, and say so otherwise; doctor then
// reports the backlog as "in use by the running service". A path in a
// configuration that already lies inside the install root is taken as it is.
package main
