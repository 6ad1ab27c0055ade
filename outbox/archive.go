package outbox

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
)

// archiveBatch bounds the records moved per round, so no transaction grows large.
const archiveBatch = 256

// withArchive runs fn on the archive file, opened only for the call so that its
// mmap does not sit in the address space (the limit on 32-bit ARM). Without create
// a missing archive is not an error: fn is not called.
func (s *Store) withArchive(create bool, fn func(*bolt.DB) error) error {
	s.archMu.Lock()
	defer s.archMu.Unlock()
	if !create {
		if _, err := os.Stat(s.archive); errors.Is(err, fs.ErrNotExist) {
			return nil
		}
	}
	db, err := bolt.Open(s.archive, 0o600, &bolt.Options{Timeout: DefaultTimeout})
	if err != nil {
		return fmt.Errorf("outbox: open archive: %w", mapFull(err))
	}
	err = prepareArchive(db)
	if err == nil {
		err = fn(db)
	}
	if cerr := db.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("outbox: close archive: %w", cerr)
	}
	return mapFull(err)
}

// prepareArchive creates the buckets of an archive file and brings its schema
// to SchemaVersion (an archive of version 1 has its values re-encoded).
func prepareArchive(db *bolt.DB) error {
	var from uint64
	err := db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bMeta); b != nil {
			if v := b.Get(kSchema); len(v) == 8 {
				from = binary.BigEndian.Uint64(v)
			}
		}
		return nil
	})
	switch {
	case err != nil:
		return err
	case from > SchemaVersion:
		return fmt.Errorf("%w: archive %s has schema %d, this program knows up to %d", ErrSchemaTooNew, db.Path(), from, SchemaVersion)
	case from == SchemaVersion:
		return nil
	}
	return db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bMeta, bInvoices, bXML, bDoc, bUPO, bIndex, bPrintJobs} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		if from == 1 {
			if err := encodeAll(tx); err != nil {
				return fmt.Errorf("archive %s: migrate 1 -> 2: %w", db.Path(), err)
			}
		}
		return tx.Bucket(bMeta).Put(kSchema, u64(SchemaVersion))
	})
}

// Archive moves accepted invoices whose acceptance is older than Options.Retention
// (and whose print jobs are all printed) to the archive file, and returns how many
// moved. The archive still answers Get, ByNumber and BySaleID for audits; numbers,
// sale ids and counters stay in the live file so numbering and idempotency hold.
//
// Each batch is committed to the archive before it is deleted here, so a crash
// leaves a record in both files, never in neither; the next Archive completes it.
// The live file does not shrink: run Compact afterwards to reclaim the space.
func (s *Store) Archive(ctx context.Context) (int, error) {
	if s.keep == 0 {
		return 0, nil
	}
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		cutoff := s.now().Add(-s.keep)
		var recs []*Invoice
		var jobs [][]*PrintJob
		err := s.view(func(tx *bolt.Tx) error {
			c := tx.Bucket(bIndex).Cursor()
			for k, v := c.First(); k != nil && len(recs) < archiveBatch; k, v = c.Next() {
				if decodeIndex(v).upload != UploadAccepted {
					continue
				}
				inv, err := getInvoice(tx, k, true)
				if err != nil {
					return err
				}
				s.touched(tx, recordCost+blobSize(inv))
				if !inv.AcceptedAt.Before(cutoff) {
					continue
				}
				js, done, err := invoiceJobs(tx, inv)
				if err != nil {
					return err
				}
				if done {
					recs, jobs = append(recs, inv), append(jobs, js)
				}
			}
			return nil
		})
		if err != nil || len(recs) == 0 {
			return total, err
		}
		err = s.withArchive(true, func(db *bolt.DB) error {
			return db.Update(func(tx *bolt.Tx) error {
				for i, inv := range recs {
					if err := putInvoice(tx, inv); err != nil {
						return err
					}
					key, _ := parseID(inv.ID)
					if err := putBlobs(tx, key, inv.XML, inv.Doc); err != nil {
						return err
					}
					if len(inv.UPO) > 0 {
						if err := tx.Bucket(bUPO).Put(key, encodeBlob(inv.UPO)); err != nil {
							return err
						}
					}
					for _, j := range jobs[i] {
						if err := putJob(tx, j); err != nil {
							return err
						}
					}
				}
				return nil
			})
		})
		if err != nil {
			return total, err
		}
		err = s.update(ctx, func(tx *bolt.Tx) error {
			for i, inv := range recs {
				key, _ := parseID(inv.ID)
				for _, b := range [][]byte{bInvoices, bXML, bDoc, bUPO, bIndex} {
					if err := tx.Bucket(b).Delete(key); err != nil {
						return err
					}
				}
				for _, j := range jobs[i] {
					jk, _ := parseID(j.ID)
					if err := tx.Bucket(bPrintJobs).Delete(jk); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		total += len(recs)
		s.log.Info("outbox: archived accepted invoices", "count", len(recs), "older_than", cutoff.Format(time.RFC3339))
	}
}

// invoiceJobs returns the print jobs of inv and whether all of them are printed.
func invoiceJobs(tx *bolt.Tx, inv *Invoice) ([]*PrintJob, bool, error) {
	ids := make([]string, 0, 1+len(inv.Reprints))
	if inv.PrintJobID != "" {
		ids = append(ids, inv.PrintJobID)
	}
	for _, r := range inv.Reprints {
		ids = append(ids, r.JobID)
	}
	var out []*PrintJob
	for _, id := range ids {
		j, err := getJob(tx, id)
		if err != nil {
			return nil, false, err
		}
		if j.State != PrintPrinted {
			return nil, false, nil
		}
		out = append(out, j)
	}
	return out, true, nil
}

// archived returns the records of the archive, checking their hashes (for Check).
func (s *Store) archived() (map[string]*Invoice, error) {
	out := map[string]*Invoice{}
	err := s.withArchive(false, func(db *bolt.DB) error {
		return db.View(func(tx *bolt.Tx) error {
			return tx.Bucket(bInvoices).ForEach(func(k, _ []byte) error {
				inv, err := getInvoice(tx, k, true)
				if err != nil {
					return err
				}
				if inv.Hash != HashOf(inv.XML) {
					return fmt.Errorf("%w: archived invoice %s: hash does not match its XML", ErrCorrupt, inv.ID)
				}
				out[inv.ID] = inv
				return nil
			})
		})
	})
	return out, err
}
