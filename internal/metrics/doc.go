// Package metrics is a small Prometheus registry: counters, gauges (set or
// computed at scrape time) and fixed-bucket histograms, with labels, written in
// the text exposition format 0.0.4. It exists instead of client_golang to keep
// the ARM binary small.
//
// # Concepts
//
// A [Registry] holds metric families by name. Unlabelled metrics come from
// [Registry.Counter], [Registry.Gauge], [Registry.GaugeFunc] and
// [Registry.CounterFunc] and [Registry.Histogram]; labelled ones from the *Vec variants, whose With method
// returns (creating once) the child for a set of label values. [Registry.WriteTo]
// writes every family sorted by name with its HELP and TYPE lines, series sorted
// by label values, label values escaped; [Registry.ServeHTTP] serves the same text.
//
// All updates are lock-free atomics and safe for concurrent use. Counters count
// whole events (uint64); gauges and histogram sums are float64 stored as bits in
// an atomic.Uint64, which the Go runtime aligns to 8 bytes even on 32-bit ARM and
// 386 (the tests run under GOARCH=386 too).
//
// # Caveats
//
// Registration mistakes — an invalid or duplicate name, a wrong number of label
// values — are programming errors and panic with a "metrics: " message, at start
// up where they are found at once. A scrape reads each series without a global
// lock: a histogram's _count is computed from its buckets so the two always
// agree, while _sum may already include an observation the buckets do not.
package metrics
