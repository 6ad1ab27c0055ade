// Package agent is posagent's core: it joins the invoice core (ksef), the
// store (outbox), the KSeF client (ksefapi), the receipt layout and the print
// worker into the product's main path, from a sale at the till to a KSeF
// number.
//
// # Concepts
//
// [Agent.Issue] validates a sale, classifies the buyer (consumer, b2b for a
// Polish NIP, eu, foreign), decides the mode and runs ONE outbox transaction:
// the number, the FA(3) XML bytes, their SHA-256, KOD I and KOD II (signed
// by the Offline certificate; no KOD II in total failure) and the deadline
// from the ksef calendar. The caller is answered only after the commit. The
// stored bytes are the ones printed (as KOD I) and uploaded, unchanged.
//
// Modes: an operator override ([Agent.SetMode]) wins; otherwise the
// availability feed decides (MAINTENANCE → offline, FAILURE → emergency,
// TOTAL_FAILURE → total_failure); otherwise the policy: offline-first issues
// offline24, online-first tries online unless the link is known to be down.
//
// Online-first: the record is stored with mode online, KOD I and a KOD II
// computed for the same hash, and the offline24 deadline. The agent sends it
// at once and waits up to OnlineBudget for a KSeF number. If it arrives the
// receipt carries KOD I labelled with the KSeF number and no KOD II; if not,
// the same record — same bytes, same hash, so the same links — is printed
// with KOD I labelled OFFLINE and KOD II, and from then on counts as
// offline24 ([View].Mode says so; the scheduler sends it with
// offlineMode=true). Nothing is rewritten: the mode handed over is derived
// from the record (accepted before the budget ended, or not). Within the
// budget only the attempt may send the record and nothing prints it, so an
// acceptance inside the budget always means the online version was printed.
//
// Domestic B2B: with B2BOfflineHandover off, an invoice for a Polish NIP
// buyer that is not accepted is stored and uploaded at once, but its print
// job waits ([View].PrintHeld) until KSeF accepts it, and then prints the
// online version.
//
// The upload scheduler ([Agent.Run] owns it) sends the earliest deadline
// first: an online session for a trickle, a batch session when the due
// backlog reaches BatchThreshold or after a 429. One batch session takes up
// to BatchMax invoices (10 000, the KSeF limit); it is planned from small
// outbox.Due summaries and the archive writer reads each invoice's XML from
// the store only when it needs it, so memory does not grow with the backlog. offlineMode=true goes with
// anything issued offline, any online-first sale that missed its budget and
// anything sent after its P_1 day (Europe/Warsaw). Failures become a
// persisted not-before on the record (429 Retry-After included) and a
// jittered, capped backoff; nothing is given up or dropped. Records left
// sending — after a crash, a timeout or a batch — are settled by asking KSeF
// (the invoice status by reference, or the session's invoices matched by
// hash) before any resend — a send whose outcome is unknown is given
// SendGrace to land — and a 440 duplicate counts as accepted only when the
// original KSeF names has our hash. 21155 opens a new session. A rejection
// (430, 450, …) marks the record rejected and raises an alarm; it waits for
// [Agent.TechnicalCorrection], which re-issues the SAME number with
// hashOfCorrectedInvoice and offlineMode=true in an interactive session.
//
// Corrections ([Agent.Correct]) are KOR invoices stored and printed at once;
// the outbox holds their upload until the original is accepted, then
// releases them in issue order.
//
// The print dispatcher (owned by Run) renders pending jobs from the stored
// snapshot (receipt.Doc) and submits them to the print worker, so Issue
// answers without waiting for the rendering: new sales at once, other jobs
// (left by a previous run, retried after a failure) one at a time as the
// worker finishes one, so they go out at the printer's pace, with no cap,
// behind new sales. Results come back through [Agent.PrintResult], which
// the caller wires to printer.Options.OnResult; [Agent.RecordPrint] is the
// worker's printer.Options.Journal, which stores each job's first attempt
// before its first byte and its printed mark as it leaves the port (a sale
// going to an idle printer is recorded started by its issue transaction). A
// failed print (paper out) never undoes a sale: the job is retried after
// recovery. Reprints are marked DUPLIKAT with the date; before acceptance
// they carry both offline codes, after acceptance KOD I labelled with the
// KSeF number and no KOD II.
//
// Before it prints anything after a restart, the dispatcher settles the
// jobs the previous run left: younger than Options.ReprintWindow (by the
// time of their first attempt, or their request if never tried) they print,
// and one that was tried is marked PONOWNY WYDRUK with that time; older
// ones are parked uncertain and never printed on their own ([View].PrintState
// "uncertain", Status.Printer.UncertainReceipts); Reprint prints a DUPLIKAT
// of one. A duplicate never tried and a receipt held for KSeF keep waiting.
//
// The deadline monitor keeps the backlog and deadline gauges, and logs a
// rate-limited alarm for overdue invoices with their penalty exposure.
//
// # Errors
//
// Requests that cannot be accepted wrap [ErrInvalidRequest]: a sale's
// problems are ksef.ValidationErrors (errors.As finds each
// *ksef.ValidationError with its JSON field path), other fields a
// *[RequestError]. Store outcomes map to [ErrIdempotencyConflict],
// [ErrStoreFull], [ErrNotFound] and [ErrIllegalState]; [ErrInvalidMode]
// comes from SetMode. Nothing is stored when an error is returned.
//
// # Caveats
//
//   - A deadline that depends on an announced period still running
//     (offline, emergency) is stored as if the period ended today — the
//     earliest it can be — and moved later in the store (ExtendDeadlines)
//     when a period is announced, extended or ended, and each day one stays
//     open: on SetMode, after each availability probe, and by the deadline
//     monitor. Between a Warsaw midnight and the next monitor tick (at most
//     10 s with Run) a stored deadline can be a day early; it is never late.
//   - The mode override and the announced periods survive a restart only
//     with Options.StateFile. After a restart the feed's status is unknown
//     until the first probe; a period the feed had opened stays open until
//     the feed reports AVAILABLE again.
//   - An online-first send that KSeF processes only after the budget is
//     recorded by KSeF as online although the receipt carried offline codes;
//     both codes still verify, as the bytes are the same.
//   - A total-failure invoice carries no QR codes: its receipt prints the
//     line receipt.NoCodesTotalFailure instead, and its View has no KOD I
//     until KSeF accepts it (a duplicate printed after that carries KOD I
//     labelled with the KSeF number). KOD I is still stored with the record.
//   - A correction's XML names the original's KSeF number only when the
//     original was accepted at correction time (else NrKSeFN=1): the bytes
//     are fixed at issue and never rewritten.
//   - The restart rule covers what a crash leaves. Within one run, a job
//     whose bytes partly went out before the port failed (an unplug in the
//     middle of a receipt) is resent whole by the worker, without a mark.
//   - A UPO that cannot be downloaded at acceptance is retried while the
//     process runs, not after a restart (its pre-signed link expires).
//   - A batch is marked sending under a local batch label before SendBatch,
//     and gets its KSeF session reference through BatchOptions.OnOpen the
//     moment KSeF opens the session, before any part is uploaded. A crash
//     before that point leaves records with a batch label and no reference:
//     KSeF may hold an open session for them, but SendBatch had not sent its
//     close, so it is never processed and they are queued again at once. A
//     crash after it is settled from the session as below.
//   - A batch that fails in the same run is settled by how far it got
//     (ksefapi.BatchError.MayProcess): a session whose close was never sent
//     or was refused is never processed by KSeF, so its records are queued
//     again at once, behind the round's backoff, and the session is left to
//     expire. A session whose close may have reached KSeF (timeout, dropped
//     connection, 5xx) or whose polling failed keeps its records sending:
//     each round reads its invoice list and, for a record not in it, asks
//     the session status once; a final session (processed, failed,
//     cancelled) makes its list the truth and a missing record is queued
//     again at once, while an open or processing one keeps the record until
//     SendGrace has passed since its send. Records whose grace ends during
//     one round may be resent a few at a time, online rather than in one
//     batch. The agent never repeats the close of an open session itself.
package agent
