package outbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Pending corrections. Both buckets are created on first use, so older
// files need no migration.
var (
	bPending      = []byte("pendcorr")  // id(8) -> JSON PendingCorrection
	bPendingSales = []byte("pendsales") // sale id -> id(8) + fingerprint(32)
)

// PendingCorrection is a till's request for a correction of an invoice that
// has no KSeF number yet. A correcting invoice of an invoice sent to KSeF is
// issued only once the original has its KSeF number (tryby-offline.md), so
// the request is kept here, under the till's idempotency key, until the
// agent issues it (Issue with the same SaleID and Fingerprint consumes it).
// A slip saying the correction is pending is printed meanwhile: a print
// job of the original, listed in its Slips.
type PendingCorrection struct {
	ID          string    `json:"id"` // in request order
	OriginalID  string    `json:"original"`
	SaleID      string    `json:"sale_id"`
	Fingerprint Hash      `json:"fingerprint"`
	RequestedAt time.Time `json:"requested_at"`
	Doc         []byte    `json:"doc"` // the agent's request, opaque here
	SlipJobID   string    `json:"slip_job"`
}

// CorrectionRequest asks the store to keep a correction until its original
// is accepted.
type CorrectionRequest struct {
	SaleID      string // the till's idempotency key (1-200 bytes)
	Fingerprint Hash   // hash of the till's request body
	OriginalID  string
	Now         time.Time
	Doc         []byte // the agent's request, returned as is
}

// RequestCorrection stores a pending correction of OriginalID and a print
// job for its slip, in one committed transaction. A replay of the same sale
// id and fingerprint returns the stored request and replayed = true; another
// fingerprint fails with ErrIdempotencyConflict. It fails with ErrIssueNow
// when the correction may be issued at once instead: the original (or the
// technical correction of it) is accepted, or the sale id was already
// issued as an invoice (whose replay Issue returns).
func (s *Store) RequestCorrection(ctx context.Context, req CorrectionRequest) (pc *PendingCorrection, replayed bool, err error) {
	switch {
	case req.SaleID == "":
		return nil, false, &RequestError{Field: "SaleID", Reason: "empty"}
	case len(req.SaleID) > MaxSaleIDLen:
		return nil, false, &RequestError{Field: "SaleID", Reason: fmt.Sprintf("%d bytes, limit %d", len(req.SaleID), MaxSaleIDLen)}
	case req.Now.IsZero():
		return nil, false, &RequestError{Field: "Now", Reason: "zero time"}
	}
	okey, err := parseID(req.OriginalID)
	if err != nil {
		return nil, false, err
	}
	err = s.update(ctx, func(tx *bolt.Tx) error {
		if v := tx.Bucket(bSales).Get([]byte(req.SaleID)); v != nil {
			if len(v) == 40 && !bytes.Equal(v[8:], req.Fingerprint[:]) {
				return fmt.Errorf("%w: sale id %q", ErrIdempotencyConflict, req.SaleID)
			}
			return fmt.Errorf("%w: sale id %q is issued", ErrIssueNow, req.SaleID)
		}
		stored, err := pendingBySale(tx, req.SaleID)
		if err != nil {
			return err
		}
		if stored != nil {
			if stored.Fingerprint != req.Fingerprint {
				return fmt.Errorf("%w: sale id %q", ErrIdempotencyConflict, req.SaleID)
			}
			pc, replayed = stored, true
			return nil
		}
		if room := s.room(tx); room.Full() {
			return fmt.Errorf("%w: %d bytes in use", ErrStoreFull, room.Used)
		}
		orig, err := getInvoice(tx, okey, false)
		if err != nil {
			return fmt.Errorf("correction of %s: %w", req.OriginalID, err) // archived originals are accepted
		}
		if orig.Upload == UploadAccepted || s.correctedAccepted(tx, orig) {
			return fmt.Errorf("%w: %s is accepted", ErrIssueNow, orig.ID)
		}
		b, err := tx.CreateBucketIfNotExists(bPending)
		if err != nil {
			return err
		}
		sales, err := tx.CreateBucketIfNotExists(bPendingSales)
		if err != nil {
			return err
		}
		n, err := b.NextSequence()
		if err != nil {
			return err
		}
		rec := &PendingCorrection{ID: formatID(n), OriginalID: orig.ID, SaleID: req.SaleID, Fingerprint: req.Fingerprint,
			RequestedAt: req.Now.UTC(), Doc: bytes.Clone(req.Doc)}
		job, err := s.addSlipJob(tx, orig, rec.ID, req.Now)
		if err != nil {
			return err
		}
		rec.SlipJobID = job
		orig.log(req.Now, "correction requested ("+rec.ID+"): issued once this invoice has its KSeF number", "")
		if err := s.put(tx, orig); err != nil {
			return err
		}
		v, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		if err := b.Put(u64(n), v); err != nil {
			return err
		}
		if err := sales.Put([]byte(req.SaleID), append(u64(n), req.Fingerprint[:]...)); err != nil {
			return err
		}
		pc = rec
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return pc, replayed, nil
}

// PendingCorrections returns the pending corrections of the invoice
// original, or of every invoice when original is "", in request order.
func (s *Store) PendingCorrections(ctx context.Context, original string) ([]PendingCorrection, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []PendingCorrection
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bPending)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var pc PendingCorrection
			if err := json.Unmarshal(v, &pc); err != nil {
				return fmt.Errorf("%w: pending correction %s: %w", ErrCorrupt, keyID(k), err)
			}
			if original == "" || pc.OriginalID == original {
				out = append(out, pc)
			}
			return nil
		})
	})
	return out, err
}

// pendingBySale returns the pending correction stored under a sale id, or nil.
func pendingBySale(tx *bolt.Tx, saleID string) (*PendingCorrection, error) {
	sales := tx.Bucket(bPendingSales)
	if sales == nil {
		return nil, nil
	}
	v := sales.Get([]byte(saleID))
	if v == nil {
		return nil, nil
	}
	if len(v) != 40 {
		return nil, fmt.Errorf("%w: pending sale %q index is %d bytes", ErrCorrupt, saleID, len(v))
	}
	raw := tx.Bucket(bPending).Get(v[:8])
	if raw == nil {
		return nil, fmt.Errorf("%w: pending sale %q names a missing request", ErrCorrupt, saleID)
	}
	pc := new(PendingCorrection)
	if err := json.Unmarshal(raw, pc); err != nil {
		return nil, fmt.Errorf("%w: pending correction %s: %w", ErrCorrupt, keyID(v[:8]), err)
	}
	return pc, nil
}

// consumePending removes the pending correction stored under req's sale id,
// now that Issue issues it; ok is false when there is none. A fingerprint
// or original other than the request's is an idempotency conflict.
func consumePending(tx *bolt.Tx, req *IssueRequest) (ok bool, err error) {
	pc, err := pendingBySale(tx, req.SaleID)
	if err != nil || pc == nil {
		return false, err
	}
	if pc.Fingerprint != req.Fingerprint || pc.OriginalID != req.CorrectionOf {
		return false, fmt.Errorf("%w: sale id %q", ErrIdempotencyConflict, req.SaleID)
	}
	key, err := parseID(pc.ID)
	if err != nil {
		return false, err
	}
	if err := tx.Bucket(bPendingSales).Delete([]byte(req.SaleID)); err != nil {
		return false, err
	}
	return true, tx.Bucket(bPending).Delete(key)
}

// addSlipJob creates the pending print job of a correction slip and records
// it on inv (the caller stores inv).
func (s *Store) addSlipJob(tx *bolt.Tx, inv *Invoice, pending string, at time.Time) (string, error) {
	n, err := tx.Bucket(bPrintJobs).NextSequence()
	if err != nil {
		return "", err
	}
	j := &PrintJob{ID: formatID(n), InvoiceID: inv.ID, Slip: pending, State: PrintPending, RequestedAt: at.UTC(), UpdatedAt: at.UTC()}
	inv.Slips = append(inv.Slips, Reprint{JobID: j.ID, At: at.UTC()})
	inv.log(at, "correction slip "+pending+" queued (job "+j.ID+")", "")
	return j.ID, putJob(tx, j)
}

// checkPending is Check's part for pending corrections: each is indexed
// under its sale id, names an original in the live file, and its slip job
// prints it.
func checkPending(tx *bolt.Tx, live map[string]*Invoice, jobs map[string]*PrintJob, bad func(string, ...any)) {
	b := tx.Bucket(bPending)
	if b == nil {
		return
	}
	_ = b.ForEach(func(k, v []byte) error {
		var pc PendingCorrection
		if err := json.Unmarshal(v, &pc); err != nil {
			bad("pending correction %s: %v", keyID(k), err)
			return nil
		}
		if got, err := pendingBySale(tx, pc.SaleID); err != nil || got == nil || got.ID != pc.ID {
			bad("pending correction %s: sale id %q not indexed", pc.ID, pc.SaleID)
		}
		if tx.Bucket(bSales).Get([]byte(pc.SaleID)) != nil {
			bad("pending correction %s: sale id %q is also an issued invoice", pc.ID, pc.SaleID)
		}
		if live[pc.OriginalID] == nil {
			bad("pending correction %s: original %s is not in the live file", pc.ID, pc.OriginalID)
		}
		if j := jobs[pc.SlipJobID]; j == nil || j.Slip != pc.ID || j.InvoiceID != pc.OriginalID {
			bad("pending correction %s: slip job %q missing", pc.ID, pc.SlipJobID)
		}
		return nil
	})
	if sales := tx.Bucket(bPendingSales); sales != nil {
		_ = sales.ForEach(func(k, v []byte) error {
			if len(v) != 40 || b.Get(v[:8]) == nil {
				bad("pending sale %q points to a missing request", k)
			}
			return nil
		})
	}
}
