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
		inv.SessionRef, inv.InvoiceRef = sessionRef, ""
		inv.log(now, fmt.Sprintf("sending, attempt %d, session %s", inv.Attempts, sessionRef), "")
		return nil
	})
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
		if err := putInvoice(tx, corr); err != nil {
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
	return tx.Bucket(bUPO).Put(key, bytes.Clone(upo))
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
		if err := fn(tx, inv, s.now()); err != nil {
			return err
		}
		return putInvoice(tx, inv)
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
		if !j.State.CanMove(to) {
			return &TransitionError{ID: jobID, Machine: "print", From: j.State.String(), To: to.String()}
		}
		now := s.now()
		if to != PrintPending {
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
		if inv.PrintJobID == j.ID {
			inv.Print = to
		}
		what := map[PrintState]string{PrintPrinted: "printed", PrintFailed: "print failed", PrintPending: "print retry"}[to]
		inv.log(now, what+" (job "+j.ID+")", code)
		return putInvoice(tx, inv)
	})
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
