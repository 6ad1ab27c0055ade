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
// An override changes how sales are issued, not the legal period: the
// periods the deadlines follow are the feed's announcements and the
// operator's records of MF announcements with their reference
// ([Agent.Announce]), kept in the store's journal ([Agent.Journal]). An
// offline, emergency or total_failure override gives its mode only while
// such a period runs, and offline24 otherwise.
//
// Online-first: the record is stored with mode online, KOD I and a KOD II
// computed for the same hash, and the offline24 deadline. The agent sends it
// at once and waits up to OnlineBudget for a KSeF number. If it arrives the
// receipt carries KOD I labelled with the KSeF number and no KOD II; if not,
// the same record — same bytes, same hash, so the same links — is printed
// with KOD I labelled OFFLINE and KOD II, and from then on counts as
// offline24 ([View].Mode says so; the scheduler sends it with
// offlineMode=true). The attempt, like the scheduler, declares
// offlineMode=true when it sends on a later Warsaw day than P_1 (one helper,
// sendOffline, decides for both). Nothing is rewritten: the mode handed over
// is derived from the record (accepted before the budget ended, or not).
// Within the budget only the attempt may send the record and nothing prints
// it, so an acceptance inside the budget always means the online version was
// printed.
//
// Dates: a new invoice's P_1 is today in Europe/Warsaw on the injected
// clock; an issue_date other than today, or a sale_date outside
// ksef.SaleDateRange of it, is refused (ksef.Sale.CheckDates). A till
// replaying sales queued while the agent was down leaves issue_date out and
// sends the day of the sale as sale_date.
//
// Domestic B2B (b2b.go): a buyer with a Polish NIP, unless flagged
// VAT-exempt, may receive an invoice issued offline24 or offline only
// through KSeF (art. 106gb ust. 4, 106nda, 106nh); in emergency (art. 106nf)
// and total failure it is handed the invoice like anyone. Options.B2BOffline
// decides what it gets in the two restricted modes: B2BConfirmation (the
// default) prints a transaction confirmation ([View].Confirmation), no
// invoice title and no QR codes, and the invoice once KSeF accepts it, at
// once with PrintOnAcceptance or on reprint, with KOD I labelled with its
// KSeF number (the first such print is not a DUPLIKAT); B2BHold prints
// nothing until acceptance ([View].PrintHeld); B2BHandover prints the offline
// invoice. The policy in force is stored with the invoice at issue, and the
// mode that counts is the one it was handed over in (an online-first sale
// that missed its budget is offline24). Under confirmation and hold the
// invoice is prioritized in the upload queue in its issue transaction
// (outbox.Built.Priority).
//
// The upload scheduler ([Agent.Run] owns it) sends the earliest deadline
// first: an online session for a trickle, a batch session when the due
// backlog reaches BatchThreshold or after a 429. One batch session takes up
// to BatchMax invoices (10 000, the KSeF limit); it is planned from small
// outbox.Due summaries and the archive writer reads each invoice's XML from
// the store only when it needs it, so memory does not grow with the backlog.
// offlineMode=true goes with anything issued offline, any online-first sale
// that missed its budget and anything sent after its P_1 day (Europe/Warsaw).
// Failures become a persisted not-before on the record (429 Retry-After
// included) and a jittered, capped backoff; nothing is given up or dropped.
//
// Recovery after an outage: the backoff grows once per failed round, and a
// failed round's wait is held — the kick of each new sale does not start
// another round inside it. While the link is down a [LinkProber] (the
// client's unauthenticated Ping) asks every LinkProbeInterval whether KSeF
// answers; when it does, a round starts at once. A 429's Retry-After is
// honoured as given and never grows the backoff; a 429 in the middle of an
// interactive trickle sends the rest of the backlog, the refused invoice
// with it, in a batch session at once. An acceptance wakes the scheduler,
// so invoices sent before are settled in the next round. The link state
// (Status.Link, posagent_ksef_link_up) is "up" after any answer below 500
// and "down" after none or a 5xx; an idle agent probes it once a
// ProbeInterval.
//
// Records left sending — after a crash, a timeout or a batch — are settled by
// asking KSeF (the invoice status by reference, or the session's invoices
// matched by hash) before any resend — a send whose outcome is unknown is
// given SendGrace to land — and a 440 duplicate counts as accepted only when
// the original KSeF names has our hash. 21155 opens a new session. A
// rejection (430, 450, …) marks the record rejected and raises an alarm; it
// waits for [Agent.TechnicalCorrection], which re-issues the SAME number with
// hashOfCorrectedInvoice and offlineMode=true in an interactive session.
//
// Certificates: the agent knows its Offline certificate (the signer, which
// [Agent.SetSigner] replaces after a renewal) and what KSeF last said about
// it and about the Authentication certificate ([Agent.SetCertificate], fed by
// package certmgr's status checks). When the Offline certificate cannot sign
// a KOD II that verifies — expired, or revoked or suspended in KSeF — a sale
// that would be issued offline (offline24, offline, emergency) is refused
// with [ErrOfflineCertificateInvalid] and nothing is stored, so the till can
// hand over a receipt instead; the check runs inside the issue transaction,
// so a replayed key still gets the invoice issued before. Online sales are
// still issued, and one that misses its budget is held until KSeF accepts it
// rather than handed over with a worthless KOD II (a B2B buyer under
// B2BConfirmation gets its confirmation, which has no codes); total failure
// (no codes) and technical corrections are not affected. Status, the alarm
// log and the metrics (posagent_certificate_expiry_timestamp_seconds,
// posagent_certificate_revoked) show it. Source: ksef-api.md §1.2 and §2.
//
// Logins: Options.AuthMethod and [Agent.LoginResult] (wired to
// ksefapi.Config.OnLogin) drive posagent_ksef_auth_method,
// posagent_ksef_auth_failures_total and Status.Auth; with token logins from
// 2027-01-01 (ksef.TokenAuthEnd) the agent raises an alarm: KSeF refuses
// them, so sales continue offline and queue until certificate logins work.
//
// Corrections ([Agent.Correct]) of an invoice that has its KSeF number are
// KOR invoices stored, printed and sent at once, naming that number. A
// correction of an invoice without one is stored as a pending request
// (Issued.Pending): a slip says so, the original goes to the front of the
// upload queue, and the KOR is issued, printed and sent once KSeF accepts the
// original, several of one original in request order. In a total failure
// the correction is issued at once, outside KSeF, like its original.
//
// Total failure: invoices get no QR codes and no deadline, and are kept
// outside the upload queue (upload state outside): there is no obligation
// to send them. Options.UploadTotalFailure is the operator's opt-in to send
// them (offlineMode=true). While a total failure runs, failed attempts to
// reach KSeF are written to its journal entry.
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
// of one. Whatever their age, a duplicate never tried still prints (someone
// asked for it) and a receipt held for KSeF keeps waiting for it.
//
// The deadline monitor keeps the backlog and deadline gauges, and logs a
// rate-limited alarm for overdue invoices with their penalty exposure, the
// article (ksef.PenaltyArticle) and the rates that apply. Exposure is per
// invoice, in PLN, never negative, and only for deadlines missed from
// 2027-01-01 (ksef.PenaltyFor); Status and posagent_penalty_exposure_pln sum
// it. It also sets the gauges fleet alerting reads (deploy/prometheus):
// overdue invoices, the earliest deadline as a timestamp, the store's size
// and cap, and the printer's condition as the print worker last saw it (the
// worker asks the printer before each job, so a printer left idle keeps its
// last state). Their labels are fixed sets, so a terminal's series count is
// constant (docs/OPERATIONS.md lists every metric).
//
// # Errors
//
// Requests that cannot be accepted wrap [ErrInvalidRequest]: a sale's
// problems are ksef.ValidationErrors (errors.As finds each
// *ksef.ValidationError with its JSON field path), other fields a
// *[RequestError]. A sale whose FA(3) XML would be over KSeF's size limit
// wraps ErrInvalidRequest and a *ksef.SizeError (the size and the limit),
// found on the exact bytes inside the issue transaction, so no number is
// used. Store outcomes map to [ErrIdempotencyConflict],
// [ErrStoreFull], [ErrNotFound] and [ErrIllegalState]; [ErrInvalidMode]
// comes from SetMode; [ErrNoUPO] from InvoiceUPO. Nothing is stored when an
// error is returned.
//
// An idempotency key is bound to the sale as the till sent it, decoded, in
// its canonical form (ksef.Sale.Canonical): a re-serialized replay is a
// replay; a record issued before keys were bound that way still replays for
// the same raw body.
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
//   - The mode override survives a restart only with Options.StateFile; the
//     announced periods always do (the journal is in the store). After a
//     restart the feed's status is unknown until the first probe; a period
//     the feed had opened stays open until the feed reports another status.
//     An operator's record ends only when the operator leaves its mode.
//   - An online-first send that KSeF processes only after the budget is
//     recorded by KSeF as online although the receipt carried offline codes;
//     both codes still verify, as the bytes are the same.
//   - A total-failure invoice carries no QR codes: its receipt prints the
//     line receipt.NoCodesTotalFailure instead, and its View has no KOD I
//     until KSeF accepts it (a duplicate printed after that carries KOD I
//     labelled with the KSeF number). KOD I is still stored with the record.
//   - A correction's XML names the original's KSeF number; NrKSeFN=1 only
//     for an original kept outside KSeF (total failure). If the operator
//     later opts in to send that original, its earlier corrections still
//     say NrKSeFN=1: the bytes are fixed at issue and never rewritten.
//   - The restart rule covers what a crash leaves. Within one run, a job
//     whose bytes partly went out before the port failed (an unplug in the
//     middle of a receipt) is resent whole by the worker, without a mark.
//   - A UPO that cannot be downloaded at acceptance is retried while the
//     process runs, not after a restart (its pre-signed link expires).
//   - The print PrintOnAcceptance starts is queued after the acceptance is
//     stored: a crash in between loses that print, not the invoice, which
//     stays available through reprint.
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
