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
// It also holds CheckDemo, which build/arm/demo-arm.sh uses to check the
// demo's report after running it under qemu-arm.
//
// # Caveats
//
// The package is test-only: nothing in posagent imports it. The soak test
// runs 100 cycles by default (CI); `make soak` passes -soak.cycles=1000.
// It is skipped under -short.
package soak
