// Package faults is posagent's fault matrix: each test runs the real binary
// (posagent run) against the KSeF simulator and a printer, injects one
// failure, and checks the outcome the product promises — on the KSeF side
// 5xx HTML pages, timeouts, dropped connections, 429 with Retry-After,
// rotated keys and expired tokens and sessions, and an outage with sales
// made during it and KSeF's return (TestRecoveryAfterOutage; the same rig
// times the recovery in BenchmarkRecovery); on the printer side paper
// out, cover open, unplug/replug and garbage bytes; a full store; and a
// terminal clock that disagrees with the server's Date.
//
// docs/RELIABILITY.md lists every case with its expected outcome, and the
// cases proved by other packages' tests (the 440 duplicate, disk errors).
//
// # Caveats
//
// The package holds tests only. The printer is printer.Virtual behind a
// TCP listener (printer.port = "tcp://…"), so the agent meets the faults
// through its real TCP port, status queries and retries. The tests are
// skipped under -short.
package faults
