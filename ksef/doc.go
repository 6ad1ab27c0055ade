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
// and uploaded unchanged. [CheckSize] refuses bytes over KSeF's limit
// ([MaxInvoiceSize]) with a *[SizeError]. [Sale.Canonical] is the form an
// idempotency key is bound to: two bodies that decode to the same sale have
// the same form.
//
// [TokenAuthEnd] is the instant KSeF tokens stop authenticating
// (2027-01-01 00:00 Warsaw); only certificate (XAdES) logins remain.
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
// The issue date of a new invoice is the day it is issued and its sale date
// lies in [SaleDateRange] of it ([Sale.CheckDates], art. 106i ust. 6 and 7).
// [PenaltyFor] is the most art. 106ni allows for an invoice that missed its
// upload deadline: 100% of its VAT, or 18.7% of its gross where it shows no
// VAT, in PLN ([Sale.InPLN]), never negative, and nothing for a deadline
// before [PenaltyStart] (2027-01-01).
//
// # Sale JSON
//
// The till API decodes a [Sale] directly:
//
//	{"buyer":      {"kind":"consumer|nip|eu|foreign", "nip", "eu_code", "eu_vat", "country", "id",
//	                "name", "address":{"country","line1","line2"}, "vat_exempt"},
//	 "price_mode": "gross|net",
//	 "lines":      [{"name","unit","quantity","unit_price","vat_rate","gtu","discount"}],
//	 "payment":    {"form":"cash|card|voucher|cheque|credit|transfer|mobile", "paid", "date"},
//	 "currency":"PLN", "exchange_rate":"4.2512", "kind":"VAT|UPR",
//	 "issue_date":"2026-11-21", "sale_date", "place", "number", "exemption_basis", "split_payment"}
//
// VAT rates are "23", "8", "5", "0 KR", "0 WDT", "0 EX", "zw", "np I", "np II",
// "oo" and "marza" (a row under the seller's margin scheme: no rate or tax is
// shown, its value goes to P_13_11); GTU codes GTU_01..GTU_13. A "zw" line
// needs exemption_basis (P_19A). A UPR may not exceed 450 PLN, or 100 EUR
// when in euro, gross (art. 106e ust. 5 pkt 3 ustawy o VAT).
// issue_date may be left out: the issuer sets it. vat_exempt (kind nip only)
// marks a buyer using the VAT exemption; it changes how the invoice is handed
// over, not its XML.
// Validation errors name these paths, e.g. lines[2].vat_rate: unknown rate "24".
//
// # Caveats
//
// The XML writer emits no XML declaration and no processing instructions; the
// bytes are UTF-8 without a BOM. Re-running it on the same invoice gives the
// same bytes, but the bytes stored at issue time are the only ones that match
// the printed KOD I: never regenerate them.
//
// [KOD1] does not validate its arguments: pass the values of a validated
// invoice and a valid [Environment].
//
// Adnotacje: P_16 (cash accounting) and the margin procedure of PMarzy are
// the seller's standing annotations ([Seller]); there is no self-invoicing
// or new means of transport; P_18 follows the presence of "oo" lines and
// P_18A the sale's split_payment flag. Podmiot2 is always JST=2 and GV=2.
//
// [ParseKSeFNumber] accepts what the FA(3) type TNumerKSeF allows, the
// 36-character form included, and checks the CRC-8 on the 35-character form.
//
// Other tax-law questions (which sales need an invoice at all) are left to
// the caller; the package checks the structure the FA(3) schema and the VAT
// arithmetic require.
package ksef
