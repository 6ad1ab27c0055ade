package outbox

import (
	"bytes"
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The upload lifecycle. Each call is one committed transaction; an illegal move
// returns a *TransitionError and changes nothing.

// MarkSending moves a queued invoice to sending and records the KSeF session
// reference. It counts an attempt.
func (s *Store) MarkSending(ctx context.Context, id, sessionRef string) error {
	return s.transition(ctx, id, func(tx *bolt.Tx, inv *Invoice, now time.Time) error {
		if err := moveUpload(inv, UploadSending, ""); err != nil {
			return err
		}
		inv.Attempts++
		inv.SessionRef, inv.InvoiceRef, inv.Batch = sessionRef, "", ""
		inv.LastSendAt = now.UTC()
		inv.log(now, fmt.Sprintf("sending, attempt %d, session %s", inv.Attempts, sessionRef), "")
		return nil
	})
}

// MarkSendingBatch moves the queued invoices among ids to sending for the
// batch named batch (the caller's label, e.g. "B0000000042"), in one committed
// transaction: a backlog of 10 000 costs one fsync, not 10 000. Each moved
// record counts an attempt and records LastSendAt and Batch; its SessionRef
// is cleared until SetSessionRef. Ids no longer queued (taken meanwhile) are
// skipped; moved lists those moved, in the order given. An invalid or unknown
// id fails the whole call and changes nothing.
//
// Until it commits, a transaction holds about 4–6 KiB of heap per record
// (BenchmarkMarkSendingBatch) and its commit maps every page it rewrites:
// 10 000 ids at once cost some 40 MiB of heap and most of the file for a
// moment. A caller with a memory budget cuts large batches into calls of a
// few hundred ids.
func (s *Store) MarkSendingBatch(ctx context.Context, ids []string, batch string) (moved []string, err error) {
	if batch == "" {
		return nil, &RequestError{Field: "batch", Reason: "empty"}
	}
	keys, err := parseIDs(ids)
	if err != nil {
		return nil, err
	}
	err = s.update(ctx, func(tx *bolt.Tx) error {
		moved = moved[:0]
		now := s.now()
		for i, key := range keys {
			inv, err := getInvoice(tx, key, false)
			if err != nil {
				return err
			}
			s.touched(tx, recordCost)
			if inv.Upload != UploadQueued {
				continue
			}
			inv.Upload = UploadSending
			inv.Attempts++
			inv.SessionRef, inv.InvoiceRef, inv.Batch = "", "", batch
			inv.LastSendAt = now.UTC()
			inv.log(now, fmt.Sprintf("sending, attempt %d, batch %s", inv.Attempts, batch), "")
			if err := s.put(tx, inv); err != nil {
				return err
			}
			moved = append(moved, ids[i])
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return moved, nil
}

// SetSessionRef records the KSeF session a batch was sent in on the invoices
// of ids that are still sending in that batch, in one transaction, so that
// after a crash their outcome is asked of KSeF (the session's invoice list)
// instead of resending them. It returns how many records it changed.
func (s *Store) SetSessionRef(ctx context.Context, ids []string, batch, sessionRef string) (int, error) {
	if batch == "" {
		return 0, &RequestError{Field: "batch", Reason: "empty"}
	}
	if sessionRef == "" {
		return 0, &RequestError{Field: "sessionRef", Reason: "empty"}
	}
	keys, err := parseIDs(ids)
	if err != nil {
		return 0, err
	}
	n := 0
	err = s.update(ctx, func(tx *bolt.Tx) error {
		n = 0
		now := s.now()
		for _, key := range keys {
			inv, err := getInvoice(tx, key, false)
			if err != nil {
				return err
			}
			s.touched(tx, recordCost)
			if inv.Upload != UploadSending || inv.Batch != batch || inv.SessionRef == sessionRef {
				continue
			}
			inv.SessionRef = sessionRef
			inv.log(now, "batch "+batch+" is session "+sessionRef, "")
			if err := s.put(tx, inv); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

func parseIDs(ids []string) ([][]byte, error) {
	keys := make([][]byte, len(ids))
	for i, id := range ids {
		k, err := parseID(id)
		if err != nil {
			return nil, err
		}
		keys[i] = k
	}
	return keys, nil
}

// DeadlineExtension asks for the upload deadline of one invoice to move later.
type DeadlineExtension struct {
	ID       string
	Deadline time.Time
}

// ExtendDeadline moves the upload deadline of an invoice not yet accepted to a
// later time, e.g. when an announced KSeF failure or unavailability extends it
// (DESIGN §5), and logs why. The deadline never moves earlier: an earlier or
// zero deadline, an empty reason or a record without a deadline (total
// failure) is a *RequestError, an accepted record a *TransitionError; either
// changes nothing. The same deadline again is a no-op.
func (s *Store) ExtendDeadline(ctx context.Context, id string, deadline time.Time, reason string) error {
	if err := checkExtension(deadline, reason); err != nil {
		return err
	}
	return s.transition(ctx, id, func(tx *bolt.Tx, inv *Invoice, now time.Time) error {
		switch {
		case inv.Upload == UploadAccepted:
			return &TransitionError{ID: inv.ID, Machine: "deadline", From: string(inv.Upload), To: "extended", Reason: "the invoice is already in KSeF"}
		case inv.Deadline.IsZero():
			return &RequestError{Field: "deadline", Reason: "invoice " + inv.ID + " has no upload deadline to extend"}
		case deadline.Before(inv.Deadline):
			return &RequestError{Field: "deadline", Reason: fmt.Sprintf("%s is before the stored %s: a deadline only moves later",
				deadline.UTC().Format(time.RFC3339), inv.Deadline.Format(time.RFC3339))}
		}
		extend(inv, deadline, reason, now)
		return nil
	})
}

// ExtendDeadlines is ExtendDeadline for many invoices in one transaction (one
// fsync), for when an announcement moves a whole backlog. As the caller
// computed the deadlines from an earlier read, records accepted meanwhile, or
// whose deadline is already at or after the new one, are skipped rather than
// refused; nothing ever moves earlier. An invalid request or an unknown id
// fails the whole call and changes nothing. It returns how many moved.
func (s *Store) ExtendDeadlines(ctx context.Context, ext []DeadlineExtension, reason string) (int, error) {
	keys := make([][]byte, len(ext))
	for i, e := range ext {
		if err := checkExtension(e.Deadline, reason); err != nil {
			return 0, err
		}
		k, err := parseID(e.ID)
		if err != nil {
			return 0, err
		}
		keys[i] = k
	}
	n := 0
	err := s.update(ctx, func(tx *bolt.Tx) error {
		n = 0
		now := s.now()
		for i, key := range keys {
			inv, err := getInvoice(tx, key, false)
			if err != nil {
				return err
			}
			if inv.Upload == UploadAccepted || inv.Deadline.IsZero() || !ext[i].Deadline.After(inv.Deadline) {
				continue
			}
			extend(inv, ext[i].Deadline, reason, now)
			if err := s.put(tx, inv); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

func checkExtension(deadline time.Time, reason string) error {
	if deadline.IsZero() {
		return &RequestError{Field: "deadline", Reason: "zero"}
	}
	if reason == "" {
		return &RequestError{Field: "reason", Reason: "empty"}
	}
	return nil
}

func extend(inv *Invoice, deadline time.Time, reason string, now time.Time) {
	if deadline.Equal(inv.Deadline) {
		return
	}
	inv.Deadline = deadline.UTC()
	inv.log(now, "deadline extended to "+inv.Deadline.Format(time.RFC3339)+": "+reason, "")
}

// SetInvoiceRef records the KSeF invoice reference number of an invoice being sent.
func (s *Store) SetInvoiceRef(ctx context.Context, id, invoiceRef string) error {
	if invoiceRef == "" {
		return &RequestError{Field: "invoiceRef", Reason: "empty"}
	}
	return s.transition(ctx, id, func(tx *bolt.Tx, inv *Invoice, now time.Time) error {
		if inv.Upload != UploadSending {
			return &TransitionError{ID: inv.ID, Machine: "upload", From: string(inv.Upload), To: string(UploadSending), Reason: "references are recorded while sending"}
		}
		inv.InvoiceRef = invoiceRef
		inv.log(now, "invoice reference "+invoiceRef, "")
		return nil
	})
}

// MarkAccepted moves an invoice being sent to accepted with its KSeF number, and
// releases, in id order, the corrections blocked on it (or on the invoice it
// technically corrects).
func (s *Store) MarkAccepted(ctx context.Context, id string, a Acceptance) error {
	if a.KSeFNumber == "" {
		return &RequestError{Field: "Acceptance.KSeFNumber", Reason: "empty"}
	}
	return s.transition(ctx, id, func(tx *bolt.Tx, inv *Invoice, now time.Time) error {
		if err := moveUpload(inv, UploadAccepted, ""); err != nil {
			return err
		}
		inv.KSeFNumber, inv.AcceptedAt, inv.NotBefore = a.KSeFNumber, now.UTC(), time.Time{}
		if !a.AcquiredAt.IsZero() {
			inv.AcquiredAt = a.AcquiredAt.UTC()
		}
		inv.log(now, "accepted as "+a.KSeFNumber, "")
		if a.UPO != nil {
			if err := putUPO(tx, inv, a.UPO, now); err != nil {
				return err
			}
		}
		if err := s.release(tx, inv.ID, now); err != nil {
			return err
		}
		if inv.TechnicalCorrectionOf != "" {
			return s.release(tx, inv.TechnicalCorrectionOf, now)
		}
		return nil
	})
}

// release queues, in id order, every correction blocked on the invoice orig.
func (s *Store) release(tx *bolt.Tx, orig string, now time.Time) error {
	okey, err := parseID(orig)
	if err != nil {
		return err
	}
	b := tx.Bucket(bBlocked)
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(okey); k != nil && bytes.HasPrefix(k, okey); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		corr, err := getInvoice(tx, k[8:], false)
		if err != nil {
			return err
		}
		if corr.Upload != UploadBlocked {
			return fmt.Errorf("%w: correction %s indexed as blocked but %s", ErrCorrupt, corr.ID, corr.Upload)
		}
		corr.Upload = UploadQueued
		corr.log(now, "released: "+orig+" accepted; upload queued", "")
		if err := s.put(tx, corr); err != nil {
			return err
		}
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// MarkRejected moves an invoice being sent to rejected with KSeF's status code and
// details. It then waits for a TechnicalCorrection.
func (s *Store) MarkRejected(ctx context.Context, id, code, details string) error {
	if code == "" {
		return &RequestError{Field: "code", Reason: "empty"}
	}
	return s.transition(ctx, id, func(tx *bolt.Tx, inv *Invoice, now time.Time) error {
		if err := moveUpload(inv, UploadRejected, ""); err != nil {
			return err
		}
		inv.RejectCode, inv.RejectInfo = code, details
		inv.log(now, "rejected: "+details, code)
		return nil
	})
}

// Retry moves an invoice being sent back to queued, not to be sent before
// notBefore (e.g. now + Retry-After); code records why.
func (s *Store) Retry(ctx context.Context, id string, notBefore time.Time, code string) error {
	return s.transition(ctx, id, func(tx *bolt.Tx, inv *Invoice, now time.Time) error {
		if err := moveUpload(inv, UploadQueued, ""); err != nil {
			return err
		}
		inv.NotBefore = time.Time{}
		what := "retry"
		if !notBefore.IsZero() {
			inv.NotBefore = notBefore.UTC()
			what += " not before " + inv.NotBefore.Format(time.RFC3339)
		}
		inv.log(now, what, code)
		return nil
	})
}

// AttachUPO stores the UPO of an accepted invoice that arrived after MarkAccepted.
func (s *Store) AttachUPO(ctx context.Context, id string, upo []byte) error {
	if len(upo) == 0 {
		return &RequestError{Field: "upo", Reason: "empty"}
	}
	return s.transition(ctx, id, func(tx *bolt.Tx, inv *Invoice, now time.Time) error {
		if inv.Upload != UploadAccepted {
			return &TransitionError{ID: inv.ID, Machine: "upload", From: string(inv.Upload), To: "upo", Reason: "a UPO belongs to an accepted invoice"}
		}
		return putUPO(tx, inv, upo, now)
	})
}

func putUPO(tx *bolt.Tx, inv *Invoice, upo []byte, now time.Time) error {
	key, err := parseID(inv.ID)
	if err != nil {
		return err
	}
	inv.log(now, fmt.Sprintf("UPO stored (%d bytes)", len(upo)), "")
	return blobBucket(tx, bUPO).Put(key, encodeBlob(upo))
}

func moveUpload(inv *Invoice, to UploadState, reason string) error {
	if !inv.Upload.CanMove(to) {
		return &TransitionError{ID: inv.ID, Machine: "upload", From: string(inv.Upload), To: string(to), Reason: reason}
	}
	inv.Upload = to
	return nil
}

func (s *Store) transition(ctx context.Context, id string, fn func(*bolt.Tx, *Invoice, time.Time) error) error {
	key, err := parseID(id)
	if err != nil {
		return err
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		inv, err := getInvoice(tx, key, false)
		if err != nil {
			return err
		}
		s.touched(tx, recordCost)
		if err := fn(tx, inv, s.now()); err != nil {
			return err
		}
		return s.put(tx, inv)
	})
}

// The print lifecycle: pending -> printed | failed, failed -> pending.

// MarkPrinted records that a print job came out of the printer.
func (s *Store) MarkPrinted(ctx context.Context, jobID string) error {
	return s.movePrint(ctx, jobID, PrintPrinted, "")
}

// MarkPrintFailed records that a print job failed (code: e.g. "paper_out").
func (s *Store) MarkPrintFailed(ctx context.Context, jobID, code string) error {
	return s.movePrint(ctx, jobID, PrintFailed, code)
}

// RetryPrint puts a failed print job back to pending.
func (s *Store) RetryPrint(ctx context.Context, jobID string) error {
	return s.movePrint(ctx, jobID, PrintPending, "")
}

func (s *Store) movePrint(ctx context.Context, jobID string, to PrintState, code string) error {
	if _, err := parseID(jobID); err != nil {
		return err
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		j, err := getJob(tx, jobID)
		if err != nil {
			return err
		}
		return s.moveJob(tx, j, to, code, "", s.now())
	})
}

// moveJob moves print job j to state to, stores it and mirrors the move on
// its invoice: the invoice's Print follows its original job, and a printed
// duplicate settles an invoice whose original is uncertain (the buyer has a
// receipt, marked DUPLIKAT). note, if set, replaces the event's text.
func (s *Store) moveJob(tx *bolt.Tx, j *PrintJob, to PrintState, code, note string, now time.Time) error {
	if !j.State.CanMove(to) {
		return &TransitionError{ID: j.ID, Machine: "print", From: j.State.String(), To: to.String()}
	}
	if to == PrintPrinted || to == PrintFailed {
		j.Attempts++
	}
	j.State, j.UpdatedAt, j.Code = to, now.UTC(), code
	if err := putJob(tx, j); err != nil {
		return err
	}
	ikey, err := parseID(j.InvoiceID)
	if err != nil {
		return err
	}
	inv, err := getInvoice(tx, ikey, false)
	if err != nil {
		return err
	}
	s.touched(tx, recordCost)
	if note == "" {
		note = map[PrintState]string{PrintPrinted: "printed", PrintFailed: "print failed", PrintPending: "print retry", PrintUncertain: "print uncertain"}[to]
		if j.Slip != "" {
			note = "correction slip " + note
		}
	}
	inv.log(now, note+" (job "+j.ID+")", code)
	switch {
	case inv.PrintJobID == j.ID:
		inv.Print = to
	case to == PrintPrinted && inv.Print == PrintUncertain && j.Slip == "": // a slip is no copy of the invoice
		inv.Print = PrintPrinted
		inv.log(now, "uncertain receipt settled by the duplicate of job "+j.ID, "")
	}
	return s.put(tx, inv)
}

// Reprint asks for a duplicate print of an invoice in the live file; the request
// and its job are recorded on the invoice.
func (s *Store) Reprint(ctx context.Context, id string) (*PrintJob, error) {
	var job *PrintJob
	err := s.transition(ctx, id, func(tx *bolt.Tx, inv *Invoice, now time.Time) error {
		if err := s.addPrintJob(tx, inv, true, now); err != nil {
			return err
		}
		var err error
		job, err = getJob(tx, inv.Reprints[len(inv.Reprints)-1].JobID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return job, nil
}
