// Package ksefe2e holds the end-to-end tests that make the KSeF client
// (package ksefapi) and the KSeF simulator (package ksefsim) meet. The two were
// written independently from the official documentation; these tests run the
// real client against the real simulator over HTTP and check the outcome
// against the documentation, not against either side's assumptions.
//
// The package has no non-test code.
//
// # Concepts
//
// Every test starts its own simulator (ksefsimtest.Start) on a loopback port
// and points a ksefapi.Client at it. Invoices are real FA(3) documents written
// by ksef.Invoice.XML; XAdES logins use certificates made by
// certstore.Generate; UPOs are checked against the official upo-v4-3.xsd with
// xmllint.
//
// Between the client and the simulator sits a recording http.RoundTripper.
// It keeps every exchange, so a test can assert what went over the wire (a
// 21470 followed by a key refetch, no bearer on pre-signed URLs), and it
// validates every request and response body of a /v2 operation against the
// schema the official OpenAPI document names for that operation, method,
// status and media type. A body that does not validate fails the test that
// produced it.
//
// Covered: token and XAdES logins (RSA, ECDSA, fingerprint subject) and their
// refusals; an online session of 20 invoices with a duplicate and a rejected
// one, KSeF numbers and UPOs; a 1 000-invoice batch in parts read back page by
// page, and a batch whose upload is cut off; key rotation; 429 with
// Retry-After; HTML 502, 500, 503; timeouts; dropped connections and lost
// answers; token, refresh-token and session expiry; concurrent callers;
// technical corrections; offline classification; restarts; secrets in logs;
// certificate enrollment (limits, data, CSR, enroll, poll, retrieve, query,
// revoke) and logins with the issued certificates; the end of token logins
// at 2027-01-01 00:00 Warsaw;
// and golden traces of the wire dance (testdata/*.golden, rewritten with
// -update).
//
// Both sides share one clock: real time shifted to a fixed working day, so
// that dates (P_1, KSeF numbers, offline classification) do not depend on when
// the tests run, while timeouts and Retry-After stay real.
//
// # Caveats
//
// The simulator is only as faithful as the documentation it was written from;
// where the two packages disagreed, the tests state the documented behaviour.
// Tests that need xmllint skip without it (and fail under CI=true).
package ksefe2e
