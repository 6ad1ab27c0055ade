// Package testutil holds helpers shared by the tests of every package: where the
// official data files live, how benchmarks report latency percentiles, and how a
// test that needs an external tool behaves when the tool is missing.
//
// Under CI=true a missing tool fails the test; elsewhere it skips with the reason.
// That keeps a developer's quick run useful while CI can never pass by skipping.
// The one exception is asked for by name: a stage that runs the tests under an
// emulator that cannot start child processes sets POSAGENT_TEST_NOEXEC=1 (see
// NoExecEnv), and the tests that run a tool skip there, leaving them to the
// native passes.
package testutil
