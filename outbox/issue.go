package outbox

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// MaxSaleIDLen is the longest accepted sale id (idempotency key).
const MaxSaleIDLen = 200

// issueOverhead approximates the bytes a new record adds besides XML and snapshot.
const issueOverhead = 4 << 10

// Issue issues one invoice in a single bbolt transaction committed with fsync
// before it returns: the idempotency check, the next number of the series, the
// callback-built XML with its hash, the record, a print job and an upload job.
// Any error rolls everything back and the number is not consumed.
//
// A replay of a stored sale id with the same fingerprint (or AltFingerprint)
// returns the stored invoice unchanged and replayed = true; with another
// fingerprint it fails with ErrIdempotencyConflict. A correction
// (CorrectionOf) of an invoice not yet accepted is stored blocked and
// released when the original is accepted; an original kept outside KSeF
// (UploadOutside) is never accepted, so its correction is queued at once. A
// sale id that RequestCorrection keeps a pending correction under issues
// that correction and consumes it.
func (s *Store) Issue(ctx context.Context, req IssueRequest) (inv *Invoice, replayed bool, err error) {
	if err := validateRequest(&req); err != nil {
		return nil, false, err
	}
	err = s.update(ctx, func(tx *bolt.Tx) error {
		if v := tx.Bucket(bSales).Get([]byte(req.SaleID)); v != nil {
			if len(v) != 40 {
				return fmt.Errorf("%w: sale %q index is %d bytes", ErrCorrupt, req.SaleID, len(v))
			}
			if !bytes.Equal(v[8:], req.Fingerprint[:]) && (req.AltFingerprint == Hash{} || !bytes.Equal(v[8:], req.AltFingerprint[:])) {
				return fmt.Errorf("%w: sale id %q", ErrIdempotencyConflict, req.SaleID)
			}
			stored, _, err := s.lookup(tx, v[:8], true)
			if err != nil {
				return err
			}
			inv, replayed = stored, true
			return nil
		}
		// A correction the store kept pending is issued under its key.
		consumed, err := consumePending(tx, &req)
		if err != nil {
			return err
		}
		// New sales stop while every stored invoice not yet accepted can
		// still be sent and accepted with its UPO (DrainReserve each), plus
		// the Headroom one transition rewrites: the queue always drains.
		if room := s.room(tx); room.Full() && !consumed {
			return fmt.Errorf("%w: %d bytes in use, new sales may use %d of %d (%d invoices await upload)", ErrStoreFull, room.Used, room.SalesLimit-room.Reserve, s.maxSize, room.Pending)
		}

		upload := UploadQueued
		var orig *Invoice
		var origArchived bool
		if req.CorrectionOf != "" {
			okey, err := parseID(req.CorrectionOf)
			if err != nil {
				return &RequestError{Field: "CorrectionOf", Reason: err.Error()}
			}
			if orig, origArchived, err = s.lookup(tx, okey, false); err != nil {
				return fmt.Errorf("correction of %s: %w", req.CorrectionOf, err)
			}
			// An original kept outside KSeF (a total failure) is never
			// accepted: its correction names it with NrKSeFN=1 and is sent.
			if orig.Upload != UploadAccepted && orig.Upload != UploadOutside && !s.correctedAccepted(tx, orig) {
				upload = UploadBlocked
			}
		}

		ckey := counterKey(req.Series.Terminal, req.Series.Period(req.Now))
		var seq uint64 = 1
		if v := tx.Bucket(bCounters).Get(ckey); len(v) == 8 {
			seq = binary.BigEndian.Uint64(v) + 1
		}
		number, err := req.Series.Render(req.Now, seq)
		if err != nil {
			return err
		}
		if tx.Bucket(bNumbers).Get([]byte(number)) != nil {
			return fmt.Errorf("%w: %s (series %s, period %s)", ErrDuplicateNumber, number, req.Series.Terminal, req.Series.Period(req.Now))
		}
		built, err := req.Build(number)
		if err != nil {
			return fmt.Errorf("outbox: build invoice %s: %w", number, err)
		}
		if err := validateBuilt(built); err != nil {
			return err
		}
		if built.Outside {
			upload = UploadOutside // not sent, so it waits for nothing either
		}
		xmlAt, docAt := encodeBlob(built.XML), encodeDoc(built.Doc)
		room := s.room(tx)
		fits := room.Fits
		if consumed {
			fits = room.fitsOwed
		}
		if !fits(int64(len(xmlAt) + len(docAt))) {
			return fmt.Errorf("%w: invoice of %d bytes (%d compressed) does not fit (%d in use, new sales may use %d)", ErrStoreFull, len(built.XML)+len(built.Doc), len(xmlAt)+len(docAt), room.Used, room.SalesLimit-room.Reserve)
		}

		n, err := tx.Bucket(bInvoices).NextSequence()
		if err != nil {
			return err
		}
		key := u64(n)
		rec := newRecord(formatID(n), number, built, req.Now)
		rec.Terminal, rec.Period, rec.Seq = req.Series.Terminal, req.Series.Period(req.Now), seq
		rec.SaleID, rec.Fingerprint = req.SaleID, req.Fingerprint
		rec.Upload = upload
		if err := s.addPrintJob(tx, rec, false, req.Now); err != nil {
			return err
		}
		if built.PrintStarted {
			if err := s.startJob(tx, rec.PrintJobID, req.Now); err != nil {
				return err
			}
		}
		if orig != nil {
			rec.CorrectionOf = orig.ID
			if !origArchived { // an archived original is immutable; the link is kept one way
				orig.Corrections = append(orig.Corrections, rec.ID)
				orig.log(req.Now, "corrected by "+rec.ID+" ("+number+")", "")
				if err := s.put(tx, orig); err != nil {
					return err
				}
			}
		}
		switch upload {
		case UploadOutside:
			rec.log(req.Now, "issued outside KSeF (total failure): not queued for upload", "")
		case UploadBlocked:
			rec.log(req.Now, "upload blocked until "+orig.ID+" is accepted", "")
			okey, _ := parseID(orig.ID)
			if err := tx.Bucket(bBlocked).Put(append(okey, key...), nil); err != nil {
				return err
			}
		default:
			rec.log(req.Now, "upload queued", "")
		}
		if err := putStored(tx, key, xmlAt, docAt); err != nil {
			return err
		}
		if err := tx.Bucket(bCounters).Put(ckey, u64(seq)); err != nil {
			return err
		}
		if err := tx.Bucket(bNumbers).Put([]byte(number), key); err != nil {
			return err
		}
		if err := tx.Bucket(bSales).Put([]byte(req.SaleID), append(bytes.Clone(key), req.Fingerprint[:]...)); err != nil {
			return err
		}
		if built.Priority {
			if _, err := prioritize(tx, key); err != nil {
				return err
			}
			rec.log(req.Now, "upload prioritized", "")
		}
		if err := s.put(tx, rec); err != nil {
			return err
		}
		inv = rec
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return inv, replayed, nil
}

// TechnicalCorrection stores a regenerated version of a rejected invoice under the
// same number (KSeF technical correction): a new record linked both ways, whose
// HashOfCorrected is the hash of the rejected bytes, queued for upload. It gets no
// print job: the receipt already handed out stays valid and KSeF redirects its
// KOD I. Only one technical correction per invoice is allowed.
func (s *Store) TechnicalCorrection(ctx context.Context, id string, now time.Time, build BuildFunc) (*Invoice, error) {
	if build == nil {
		return nil, &RequestError{Field: "build", Reason: "nil"}
	}
	okey, err := parseID(id)
	if err != nil {
		return nil, err
	}
	var inv *Invoice
	err = s.update(ctx, func(tx *bolt.Tx) error {
		orig, err := getInvoice(tx, okey, false)
		if err != nil {
			return err
		}
		if orig.Upload != UploadRejected {
			return &TransitionError{ID: id, Machine: "upload", From: string(orig.Upload), To: "technical correction", Reason: "only a rejected invoice can be technically corrected"}
		}
		if orig.CorrectedBy != "" {
			return &TransitionError{ID: id, Machine: "upload", From: string(orig.Upload), To: "technical correction", Reason: "already corrected by " + orig.CorrectedBy}
		}
		built, err := build(orig.Number)
		if err != nil {
			return fmt.Errorf("outbox: build technical correction of %s: %w", orig.Number, err)
		}
		if err := validateBuilt(built); err != nil {
			return err
		}
		n, err := tx.Bucket(bInvoices).NextSequence()
		if err != nil {
			return err
		}
		key := u64(n)
		rec := newRecord(formatID(n), orig.Number, built, now)
		rec.Terminal, rec.Period, rec.Seq = orig.Terminal, orig.Period, orig.Seq
		rec.Upload = UploadQueued
		rec.TechnicalCorrectionOf, rec.HashOfCorrected = orig.ID, orig.Hash
		rec.CorrectionOf = orig.CorrectionOf
		rec.log(now, "technical correction of "+orig.ID+"; upload queued", "")
		orig.CorrectedBy = rec.ID
		orig.log(now, "technically corrected by "+rec.ID, "")
		if err := putBlobs(tx, key, built.XML, built.Doc); err != nil {
			return err
		}
		if err := tx.Bucket(bNumbers).Put([]byte(rec.Number), key); err != nil {
			return err
		}
		if err := s.put(tx, orig); err != nil {
			return err
		}
		if err := s.put(tx, rec); err != nil {
			return err
		}
		inv = rec
		return nil
	})
	if err != nil {
		return nil, err
	}
	return inv, nil
}

func newRecord(id, number string, b *Built, now time.Time) *Invoice {
	inv := &Invoice{
		ID: id, Number: number, IssuedAt: now.UTC(),
		XML: bytes.Clone(b.XML), Hash: HashOf(b.XML), KOD1: b.KOD1, KOD2: b.KOD2,
		Mode: b.Mode, BuyerClass: b.BuyerClass, Kind: b.Kind, P1: b.P1,
		Gross: b.Gross, VAT: b.VAT, GrossPLN: b.GrossPLN, VATPLN: b.VATPLN, Doc: bytes.Clone(b.Doc),
	}
	if !b.Deadline.IsZero() {
		inv.Deadline = b.Deadline.UTC()
	}
	inv.log(now, "issued "+number, "")
	return inv
}

// putBlobs stores the XML and snapshot of a record, compressed (codec.go).
func putBlobs(tx *bolt.Tx, key, xml, doc []byte) error {
	return putStored(tx, key, encodeBlob(xml), encodeDoc(doc))
}

// encodeDoc is encodeBlob for a snapshot, which may be absent.
func encodeDoc(doc []byte) []byte {
	if len(doc) == 0 {
		return nil
	}
	return encodeBlob(doc)
}

// putStored stores values already encoded; a nil doc stores none.
func putStored(tx *bolt.Tx, key, xml, doc []byte) error {
	if err := blobBucket(tx, bXML).Put(key, xml); err != nil {
		return err
	}
	if doc != nil {
		return blobBucket(tx, bDoc).Put(key, doc)
	}
	return nil
}

// blobFill is the fill of the blob buckets' pages. Their keys only grow
// (ids in issue order), so bbolt's default of half a page, meant for random
// inserts, would leave every compressed invoice of 1.5 KiB alone on a 4 KiB
// page: filled, two or three share one.
const blobFill = 0.95

// blobBucket returns a blob bucket (xml, doc, upo) of tx set to blobFill.
// FillPercent is not stored, so every transaction that writes sets it.
func blobBucket(tx *bolt.Tx, name []byte) *bolt.Bucket {
	b := tx.Bucket(name)
	b.FillPercent = blobFill
	return b
}

// addPrintJob creates a pending print job for inv and records it on inv (the
// caller stores inv).
func (s *Store) addPrintJob(tx *bolt.Tx, inv *Invoice, duplicate bool, at time.Time) error {
	n, err := tx.Bucket(bPrintJobs).NextSequence()
	if err != nil {
		return err
	}
	j := &PrintJob{ID: formatID(n), InvoiceID: inv.ID, Duplicate: duplicate, State: PrintPending, RequestedAt: at.UTC(), UpdatedAt: at.UTC()}
	if duplicate {
		inv.Reprints = append(inv.Reprints, Reprint{JobID: j.ID, At: at.UTC()})
		inv.log(at, "reprint requested (job "+j.ID+")", "")
	} else {
		inv.Print, inv.PrintJobID = PrintPending, j.ID
		inv.log(at, "print job "+j.ID+" queued", "")
	}
	return putJob(tx, j)
}

// correctedAccepted reports whether inv was technically corrected by an invoice
// that is accepted; a KOR of it may then be sent.
func (s *Store) correctedAccepted(tx *bolt.Tx, inv *Invoice) bool {
	if inv.CorrectedBy == "" {
		return false
	}
	k, err := parseID(inv.CorrectedBy)
	if err != nil {
		return false
	}
	c, _, err := s.lookup(tx, k, false)
	return err == nil && c.Upload == UploadAccepted
}

func validateRequest(r *IssueRequest) error {
	switch {
	case r.SaleID == "":
		return &RequestError{Field: "SaleID", Reason: "empty"}
	case len(r.SaleID) > MaxSaleIDLen:
		return &RequestError{Field: "SaleID", Reason: fmt.Sprintf("%d bytes, limit %d", len(r.SaleID), MaxSaleIDLen)}
	case r.Now.IsZero():
		return &RequestError{Field: "Now", Reason: "zero time"}
	case r.Build == nil:
		return &RequestError{Field: "Build", Reason: "nil"}
	}
	return r.Series.Validate()
}

func validateBuilt(b *Built) error {
	switch {
	case b == nil:
		return &RequestError{Field: "Built", Reason: "build returned nil"}
	case len(b.XML) == 0:
		return &RequestError{Field: "Built.XML", Reason: "empty"}
	case b.Mode == "":
		return &RequestError{Field: "Built.Mode", Reason: "empty"}
	case b.Kind == "":
		return &RequestError{Field: "Built.Kind", Reason: "empty"}
	}
	return nil
}
