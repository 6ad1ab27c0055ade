// Package outboxtest holds test helpers for code that uses the outbox: a store
// that checks its invariants when the test ends, and a build callback that makes
// small, number-bearing XML documents.
package outboxtest
