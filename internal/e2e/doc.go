// Package e2e holds posagent's end-to-end tests: the real till HTTP API,
// the real agent core and outbox (bbolt on disk), the real KSeF API client
// talking to the KSeF simulator over loopback HTTP, a generated Offline
// certificate, and the real print worker writing to a pseudo-terminal through
// go.bug.st/serial, with a fake printer on the master side.
//
// The package has no exported API; everything lives in _test files.
//
// # Concepts
//
// A harness (harness_linux_test.go) builds the parts the way cmd/posagent
// wires them, without importing package main: store, KSeF client, print
// worker, agent, the till server on 127.0.0.1:0 over the production adapter
// (till/tillagent). It can stop everything
// and start it again on the same store file, as a restart of the service
// would.
//
// Between the client and the simulator sits a small HTTP gate that logs every
// request and can inject what the simulator's own faults do not cover: a 429
// with Retry-After, and a request that KSeF processes but whose answer is lost.
//
// The fake printer records every byte, answers DLE EOT 1-4 and GS r 1, and can
// report paper out or an open cover. QR codes are decoded from the recorded
// byte stream with an independent decoder (escpos.Render + escpostest).
//
// TestFleetPrometheus (fleet_linux_test.go) uses no harness: it builds the
// binary, runs `posagent run` processes with their simulators on fixed
// rehearsal dates (--date) and a real Prometheus configured from
// deploy/prometheus, and checks the shipped alert rules and dashboard
// queries against them. It runs only with POSAGENT_E2E_PROMETHEUS=1
// (scripts/test.sh stage prom).
//
// # Caveats
//
// The tests need a pty, so they are Linux-only. They run against real time
// with short agent intervals; each subtest finishes in a few seconds.
package e2e
