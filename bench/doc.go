// Package bench holds the measurements behind docs/BENCHMARKS.md: the latency
// from a sale to the first byte at the printer (in-process and through the
// till API), bytes on the wire per receipt (with peer/, a node script that
// builds the same receipt with @point-of-sale/receipt-printer-encoder), the
// backlog drain against the KSeF simulator, and the store's size after
// simulated months of sales.
//
// Everything lives in _test.go files and is run by scripts/bench.sh (make
// bench); nothing in posagent imports this package.
//
// # Caveats
//
// The numbers depend on the machine, above all on fsync latency: the issue
// transaction is committed with fsync before the sale is acknowledged, so a
// slow disk shows up directly in the latency percentiles.
package bench
