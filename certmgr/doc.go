// Package certmgr keeps a terminal's KSeF certificates alive: it enrolls
// them, renews them before they expire and asks KSeF whether they are still
// good.
//
// # Concepts
//
// [Manager.Enroll] follows ksef-api.md §2: GET /certificates/limits (nothing
// is requested when [ksefapi.CertificateLimits.Allows] says no: a
// *[LimitError]), GET /certificates/enrollments/data, a CSR made by the
// certstore with those attributes verbatim (its key sealed in the store as
// the pending key), POST /certificates/enrollments, polling, POST
// /certificates/retrieve and certstore.ImportCertificate. The reference of
// the request is written to the usage's certstore.Record before polling, so
// an enrollment a crash interrupted is finished by the next call instead of
// spending another of the subject's requests; one KSeF refused or cancelled,
// or no longer knows (it keeps an enrollment 30 days), is replaced by a new
// request. KSeF enrolls only after a certificate (XAdES) login: with a token
// client Enroll fails with [ErrNeedsXAdES].
//
// [Manager.Check] asks KSeF (POST /certificates/query) about every installed
// certificate and records the state: Active, Blocked (suspended), Revoked,
// Expired, or unknown for one KSeF did not issue. A revoked or blocked
// certificate is logged as an ALARM and reported through Options.OnStatus,
// where the agent turns it into its metrics and status: a revoked Offline
// certificate makes every KOD II it signs worthless.
//
// With Options.AutoRenew, [Manager.Tick] (and [Manager.Run], every
// CheckInterval) renews a certificate RenewBefore (30 days) before it
// expires, at most once per RetryInterval (a day) per usage, within the KSeF
// limits. The old certificate is not revoked: invoices already handed over
// carry KOD II links signed with it.
//
// # Caveats
//
//   - A revoked certificate is not replaced automatically: revocation may
//     mean a stolen terminal. The operator runs `posagent cert enroll`.
//   - Renewal replaces the installed certificate; OnInstalled tells the
//     caller to switch its signer or XAdES credentials.
//   - Decisions use Options.Now (tests inject it); the ticker of Run is real
//     time.
package certmgr
