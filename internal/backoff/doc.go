// Package backoff provides the one retry-delay type that every retry loop in
// posagent uses: the print worker and the KSeF upload scheduler alike.
//
// Delays double from Min per consecutive failure, are capped at Max, and get
// 0.5–1.5× jitter so that many terminals behind one NAT do not retry in step.
// The clock is injectable, so tests never sleep.
package backoff
