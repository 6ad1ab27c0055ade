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
//	cert import|list|csr|enroll   the KSeF certificates (Offline, Authentication)
//	printer list|test|status
//	invoices list|show|export|reprint|journal
//	mode                    show or override the offline mode, or record an MF announcement
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
// outage; an announcement recorded with --reference is kept in the store's
// journal), status reads GET /v1/status, and invoices reprint posts there, or
// queues the duplicate in the store when the service is stopped.
//
// The service logs in to KSeF with its Authentication certificate (ksef.auth
// = "xades", the default); while none is installed a configured KSeF token
// stands in, with a warning (from 2027-01-01 KSeF refuses it and the agent
// raises an alarm). It checks its certificates' status in KSeF and, with
// certs.auto_renew, renews them (package certmgr).
//
// run, demo, doctor and ksefsim take --date to rehearse on another day
// (internal/simclock): the whole process runs on a clock that starts there.
// run refuses it unless KSeF and the availability feed are on loopback, so a
// rehearsal date never reaches a real KSeF.
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
// bbolt allows one process per file: while the service runs, invoices list,
// show, export and journal read through its till API instead of the store
// (show then has no event log), and doctor reports the backlog as "in use by
// the running service". A path in a configuration that already lies inside
// the install root is taken as it is.
package main
