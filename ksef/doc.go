// Package ksef is the invoice core of posagent: the FA(3) sale and invoice
// model with its deterministic XML writer, exact money arithmetic, NIP and
// KSeF-number checks, the offline QR links (KOD I and KOD II), and the Polish
// business-day calendar that drives upload deadlines.
//
// The package does no I/O: every function is a pure computation over its
// arguments, so the agent, the receipt layout and the tests can call it freely.
//
// # Concepts
//
// Money is an [Amount], an int64 of grosze; quantities are a [Quantity], an
// int64 of millionths. Both travel in JSON as decimal strings (a JSON number is
// also accepted, parsed from its text and never through float64). VAT is
// computed per rate group and rounded half-up to the grosz.
//
// A till sends a [Sale]; [Sale.Validate] returns [ValidationErrors] that name
// the JSON path of every problem. The agent wraps a valid sale into an
// [Invoice] (seller, number, generation time) and calls [Invoice.XML] once: the
// bytes it returns are stored, hashed with [InvoiceHash], printed as QR codes
// and uploaded unchanged.
//
// [KOD1] is the invoice verification link; [KOD2] is the certificate link
// signed by the KSeF Offline certificate through the [Signer] interface
// (RSASSA-PSS for RSA keys, IEEE P1363 r||s for ECDSA P-256 keys).
//
// Dates that matter to KSeF (P_1, deadlines) are civil dates in Europe/Warsaw,
// represented by [Date]. A [Calendar] knows the Polish public holidays and any
// configured additions or removals; [Calendar.Deadline] applies the rules of
// each [Mode].
//
// # Caveats
//
// The XML writer emits no XML declaration and no processing instructions; the
// bytes are UTF-8 without a BOM. Re-running it on the same invoice gives the
// same bytes, but the bytes stored at issue time are the only ones that match
// the printed KOD I: never regenerate them.
//
// Tax-law questions (UPR thresholds, which sales need an invoice at all) are
// left to the caller; the package checks the structure the FA(3) schema and
// the VAT arithmetic require.
package ksef
