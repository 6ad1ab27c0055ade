// Package soak proves posagent's durability promises on the whole program:
// it builds the posagent binary, runs it against a loopback KSeF simulator and
// a file printer, posts sales over the till API, kills the process with
// SIGKILL at random moments, restarts it, and checks the invariants.
//
// # Invariants
//
//   - every sale the till API acknowledged is present exactly once;
//   - invoice numbers have no gaps and no duplicates;
//   - the simulator holds each invoice exactly once;
//   - in the end every invoice is accepted.
//
// The paced soak (TestSoakKill9Paced, issue 16) prints on a serial printer
// on a pty (PTYPrinter), which the agent opens through go.bug.st/serial and
// writes at 9600 baud, and holds the printing promises over what reached
// the paper (ScanReceipts, CheckPrints): no invoice has a second receipt
// without a mark, every invoice was printed in full or is listed uncertain,
// every invoice the store calls printed has a whole receipt; and at every
// sample printer.pending of /v1/status equals the store's count.
//
// The harness is shared with internal/faults and bench: Site (a terminal's
// configuration, data directory and imported Offline certificate, and the
// processes' logs), Proc (a running `posagent run`, its resident memory),
// Prefill and IssueOne (an outage's backlog written through outbox as the
// agent writes it), TCPPrinter (printer.Virtual behind a TCP port), and
// ScanSecrets with KeyForms (the secret scan). CheckDemo checks a demo.json;
// build/arm/demo-arm.sh runs it after the demo under qemu-arm.
//
// # Caveats
//
// The package is test-only: nothing in posagent imports it. The soak test
// runs 100 cycles by default (CI); `make soak` passes -soak.cycles=1000.
// The paced soak runs 6 cycles by default (CI); `make soak-paced` runs
// 200. Both are skipped under -short; the paced one needs a pty and fails
// without one under CI=true.
package soak
