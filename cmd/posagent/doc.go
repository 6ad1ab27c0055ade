// Command posagent issues Polish KSeF e-invoices at a till, prints them as receipts
// with the offline QR codes, and uploads them to KSeF when the link allows.
//
// main does wiring only: flags, configuration, the slog logger, the store, the
// printer port and the service program. Every verb lives in its own file.
package main
