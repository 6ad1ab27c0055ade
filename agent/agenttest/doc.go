// Package agenttest provides test helpers for posagent's core: a
// function-field fake of the agent for the tests of its doors, and the real
// agent wired to real parts for tests that need the whole path.
//
// # Concepts
//
// Agent is the fake. Set only the functions a test needs; a method whose
// function is nil returns an error wrapping ErrNotSet, so a missing stub
// fails readably. Tests of the till HTTP API and the CLI verbs use it.
//
// Stack is the real thing: the agent over a bbolt outbox in t.TempDir (fsync
// on), the KSeF simulator on loopback (ksefsimtest) behind the real
// ksefapi client, the real print worker on a printer.Virtual, and a
// generated Offline certificate; the client logs in with XAdES and a
// generated Authentication certificate (the simulator ends token logins on
// 2027-01-01, on its clock). Its agent hands a B2B buyer the invoice as any
// other (B2BHandover), so tests of other rules print it; the B2B tests set
// their policy. An Env holds what outlives a restart (the
// simulator, the certificate, the store file, the clock); Env.Start runs one
// agent over it and Stack.Stop ends that run, so stop then start is a
// restart on the same store. NewStack is both for tests that never restart.
// Env.Down makes KSeF unreachable, the usual start of an outage test.
//
// Options change only what the callers really vary: WithOptions edits the
// agent's options (policy, profile, QR mode, grace, metrics, …) and
// NoScheduler leaves Agent.Run off so a test can play the scheduler itself;
// WithKSeF wraps the agent's KSeF client (to record a call, or move the
// clock at one).
//
// Clock, Printer, Relay, Logger and WaitFor are the small pieces the Stack
// is made of, for tests that wire the agent differently: to the ksefapitest
// fake (the agent's unit tests) or to a serial printer on a pty (the
// end-to-end tests).
//
// # Caveats
//
// Everything a Stack starts is stopped, and waited for, by t.Cleanup; Stop
// also runs outbox.Store.Check and fails the test on an inconsistent store.
// The simulator always runs without rate limits: these tests are about the
// agent, and ksef/ksefe2e covers the 429 path.
package agenttest
