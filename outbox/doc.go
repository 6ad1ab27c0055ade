// Package outbox is posagent's durable store on bbolt: invoice numbering, invoice
// records with their exact XML bytes, print and upload jobs, the invoice lifecycle,
// crash recovery and retention.
//
// # Delivery guarantees
//
// Issue runs one bbolt Update that is committed with fsync before it returns: the
// idempotency check on the till's sale id, the next number of the terminal's
// series, the XML built by the caller's callback with that number and hashed here,
// the record, a print job and an upload job. The agent acknowledges a sale only
// after Issue returns, so an acknowledged invoice is never lost, and an error
// rolls everything back so a number is never consumed without an invoice: the
// series stay gap-free and never repeat (KSeF refuses a repeated number for ten
// years). Nothing stored is ever dropped: when the file reaches its cap, new sales
// fail with ErrStoreFull while the existing queue keeps moving within the room kept
// for it (see Room capacity below).
//
// # Room capacity
//
// New sales stop while the whole queue can still drain. Issue refuses a sale once
// the pages in use would pass Room.SalesLimit: the file's capacity (MaxSize, less
// bbolt's 16 MiB growth step beyond 16 MiB) minus Options.Headroom (the
// copy-on-write pages of one transition) minus Options.DrainReserve for every
// invoice not yet accepted, the new one included. A DrainReserve covers what
// moving one invoice queued -> sending -> accepted adds: its UPO (the default
// allows 8 KiB; a 4 KiB UPO measured 6.2 KiB per invoice in all), event-log
// lines, references. Accepting releases the reserve, so sales resume as the queue
// drains. The one exception is a correction the till was already told is pending
// (RequestCorrection): it was acknowledged, so its issue may use the reserves
// (never the Headroom) rather than be refused in a store new sales filled. Transitions of many records must be cut into transactions that fit the
// Headroom when Room.NearFull (the agent marks batches in chunks).
//
// # Concepts
//
// An Invoice has two independent states. Upload: queued -> sending -> accepted |
// rejected | queued (retry, with a persisted NotBefore); a correction (KOR) of an
// invoice not yet accepted starts blocked and is queued, in id order, when its
// original is accepted; an invoice of a total failure (Built.Outside) starts
// outside and is only queued by the operator's opt-in (QueueOutside). The
// agent asks for a correction of an invoice without a KSeF number with
// RequestCorrection: a PendingCorrection kept under the till's key with a
// slip print job of the original, consumed when Issue issues that key. The
// journal (SaveAnnouncement, AddProbes, Announcements) keeps the announced
// KSeF outages the deadlines follow. A rejected invoice is resolved by a
// TechnicalCorrection, a new record with the same number linked via
// CorrectedBy / TechnicalCorrectionOf. Print: every PrintJob goes pending ->
// printed | failed, failed -> pending, and pending | failed -> uncertain when
// a restart parks it (SettlePrints, below); a Reprint adds a duplicate job
// recorded on the invoice. Any other move is a *TransitionError. Every change
// appends to the invoice's Event log.
//
// The upload queue (PendingUploads, DueUploads, ListDue) is in earliest-deadline
// order, except that records marked by Prioritize, or issued with
// Built.Priority, come first in the order they were marked: a buyer waits for
// them to be in KSeF. The mark is stored in its own bucket, made on first
// use, and dropped when the record is accepted or rejected.
//
// The print worker reports its progress through RecordPrint, one transaction
// between two jobs: the receipt that just left the port is printed, and the
// next job's StartedAt (its first attempt) is stored before its first byte.
// So after a crash a job without StartedAt never reached the paper, and at
// most one receipt that left the port lacks its printed mark. A restart
// settles what it finds with SettlePrints: a job is repeated (Repeat: its
// receipt says it is a repeated print, with the first attempt's time) or
// parked uncertain (pending | failed -> uncertain, never printed on its own).
// An invoice whose original job is uncertain shows uncertain until a
// duplicate of it prints; Stats.Uncertain counts them and List finds them.
//
// A deadline that depends on a period still running (a KSeF unavailability or
// failure) is stored as the earliest it can be; ExtendDeadline(s) moves it later
// as announcements come, never earlier and never after acceptance, so the
// deadline order of PendingUploads and the overdue list of Stats follow the
// store alone. MarkSending and MarkSendingBatch record LastSendAt, the start of
// the last send attempt; a batch also records its Batch label and, once KSeF
// has opened the session, its SessionRef (SetSessionRef), so an outcome left
// unknown by a crash is asked of KSeF, not guessed.
//
// Ids are decimal strings in issue order ("0000000042"). Records returned are
// copies; no slice points into bbolt's mmap.
//
// XML, snapshots and UPOs are stored compressed (DEFLATE level 1 behind a
// one-byte codec header, with the length and a CRC-32; a value that does not
// shrink is stored as it is): an FA(3) invoice of 3.3 KiB takes 1.5 KiB, and
// the blob buckets fill their pages (their keys only grow), so two or three
// share a 4 KiB page instead of one page each. The
// bytes read back are the bytes given; the XML is checked against the
// record's SHA-256 on every read, and a value that does not decode or match
// fails with ErrCorrupt naming the invoice. Schema version 2 introduced the
// header: Open rewrites a version-1 file's values in one transaction (a crash
// leaves it at version 1 for the next Open to redo), and an archive file is
// brought up the same way when it is opened.
//
// Accepted invoices older than Options.Retention move to archive files, one per
// year of issue (Archive; ArchivePath + "-2026"), each opened only while used so
// its mmap does not take address space, and none growing past what 32-bit ARM
// can map however many years the terminal runs. The live file indexes each
// archived id under its year, so Get, ByNumber and BySaleID still find an
// archived invoice by opening one file. A single archive file from before
// (schema 2 and earlier) is moved into the year files by Open, or by Archive if
// Open could not finish it; until then lookups still read it. Compact writes a
// compacted copy.
//
// # Caveats
//
// bbolt allows one writer; Issue's build callback runs under that lock, so it must
// be quick. A second Store on the same file (or another process) fails after
// Options.Timeout with ErrLocked. bbolt files never shrink: Archive frees pages for
// reuse, Compact returns them to the disk. The store does not talk to KSeF or the
// printer: it records what the agent did, and after a crash it lists the unsure
// cases (Recovered) instead of guessing.
//
// bbolt maps the whole file (read-only, shared; writes go through pwrite), and
// every page a read touches stays in the process's resident set until the
// kernel reclaims it; on a fault Linux also maps up to 15 neighbouring pages
// already cached (fault-around), MADV_RANDOM or not. A drain that reads each
// invoice once would make the whole file resident. The store counts what it
// reads (16 times over, for fault-around) and what its commits rewrite, and
// every 4 MiB drops its page-table entries for the mapping with
// madvise(MADV_DONTNEED) on Linux, always inside a read transaction so no
// remap can move the mapping meanwhile; Open ends with one. On a clean shared
// file mapping that loses nothing: the pages stay in the page cache and the
// next read refaults the same bytes. ReleaseMapped does it on demand. One
// large write transaction (MarkSendingBatch of 10 000 ids) still maps the
// pages it rewrites while it commits, until the release that follows.
package outbox
