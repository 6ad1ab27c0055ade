package outbox

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// archiveBatch bounds the records moved per round, so no transaction grows large.
const archiveBatch = 256

// Archive files. Accepted invoices past the retention go to one bbolt file
// per year of their issue date, ArchivePath + "-2026" and so on: a terminal
// runs for years, and on 32-bit ARM a file of more than 1–2 GB cannot be
// mapped. The live file's archived bucket maps each archived id to its year,
// so a lookup opens exactly one file. Each file is opened only for the call
// that needs it, so its mmap does not take address space.
//
// A single archive file written before rotation (ArchivePath itself) is
// migrated into the year files by Open and by Archive (migrateLegacy).

// archiveYearPath is the archive file of a year.
func (s *Store) archiveYearPath(year int) string { return fmt.Sprintf("%s-%04d", s.archive, year) }

// archiveYears lists the years that have an archive file, in order.
func (s *Store) archiveYears() ([]int, error) {
	matches, err := filepath.Glob(globEscape(s.archive) + "-[0-9][0-9][0-9][0-9]")
	if err != nil {
		return nil, fmt.Errorf("outbox: list archive files: %w", err)
	}
	var years []int
	for _, m := range matches {
		y, err := strconv.Atoi(m[len(m)-4:])
		if err == nil {
			years = append(years, y)
		}
	}
	slices.Sort(years)
	return years, nil
}

func globEscape(p string) string {
	r := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`)
	return r.Replace(p)
}

// archiveYear is the year whose file keeps inv: that of its issue date (P1),
// or of its issue time in Poland when P1 is not a date.
func archiveYear(inv *Invoice) int {
	if t, err := time.Parse(time.DateOnly, inv.P1); err == nil {
		return t.Year()
	}
	return inv.IssuedAt.In(warsaw).Year()
}

// withArchive runs fn on the archive file at path, opened only for the call.
// Without create a missing file is not an error: fn is not called.
func (s *Store) withArchive(path string, create bool, fn func(*bolt.DB) error) error {
	s.archMu.Lock()
	defer s.archMu.Unlock()
	if !create {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil
		}
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: DefaultTimeout})
	if err != nil {
		return fmt.Errorf("outbox: open archive %s: %w", filepath.Base(path), mapFull(err))
	}
	err = prepareArchive(db)
	if err == nil {
		err = fn(db)
	}
	if cerr := db.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("outbox: close archive %s: %w", filepath.Base(path), cerr)
	}
	return mapFull(err)
}

// prepareArchive creates the buckets of an archive file and brings its schema
// to SchemaVersion (an archive of version 1 has its values re-encoded).
func prepareArchive(db *bolt.DB) error {
	from, err := schemaOf(db)
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

func schemaOf(db *bolt.DB) (uint64, error) {
	var v uint64
	err := db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bMeta); b != nil {
			switch s := b.Get(kSchema); len(s) {
			case 8:
				v = binary.BigEndian.Uint64(s)
			case 0:
			default:
				return fmt.Errorf("%w: %s: schema version is %d bytes", ErrCorrupt, db.Path(), len(s))
			}
		}
		return nil
	})
	return v, err
}

// moved is one record on its way to an archive file, with its print jobs.
type moved struct {
	inv  *Invoice
	jobs []*PrintJob
}

// Archive moves accepted invoices whose acceptance is older than Options.Retention
// (and whose print jobs are all printed or uncertain) to the archive file of their issue year,
// and returns how many moved. The archive still answers Get, ByNumber and BySaleID
// for audits; numbers, sale ids and counters stay in the live file so numbering
// and idempotency hold.
//
// Each batch is committed to the archive files before it is deleted here and
// indexed, so a crash leaves a record in both files, never in neither; the next
// Archive copies it again (the same bytes under the same key) and completes it.
// The live file does not shrink: run Compact afterwards to reclaim the space.
func (s *Store) Archive(ctx context.Context) (int, error) {
	if err := s.migrateLegacy(ctx); err != nil {
		return 0, err
	}
	if s.keep == 0 {
		return 0, nil
	}
	total := 0
	var after []byte // records before it were looked at this run
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		cutoff := s.now().Add(-s.keep)
		var batch []moved
		err := s.view(func(tx *bolt.Tx) error {
			c := tx.Bucket(bIndex).Cursor()
			k, v := c.First()
			if after != nil {
				k, v = c.Seek(after)
			}
			for ; k != nil && len(batch) < archiveBatch; k, v = c.Next() {
				after = append(bytes.Clone(k), 0) // the next key up
				if decodeIndex(v).upload != UploadAccepted {
					continue
				}
				inv, err := getInvoice(tx, k, false) // blobs only for what moves
				if err != nil {
					return err
				}
				s.touched(tx, recordCost)
				if !inv.AcceptedAt.Before(cutoff) {
					continue
				}
				js, done, err := invoiceJobs(tx, inv)
				if err != nil {
					return err
				}
				if !done {
					continue
				}
				if inv, err = getInvoice(tx, k, true); err != nil {
					return err
				}
				s.touched(tx, blobSize(inv))
				batch = append(batch, moved{inv, js})
			}
			if k == nil {
				after = nil // swept to the end
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		if len(batch) > 0 {
			if err := s.moveToArchive(ctx, batch, nil); err != nil {
				return total, err
			}
			total += len(batch)
			s.log.Info("outbox: archived accepted invoices", "count", len(batch), "older_than", cutoff.Format(time.RFC3339))
		}
		if after == nil {
			return total, nil
		}
	}
}

// moveToArchive copies batch to the year files, then in one live transaction
// indexes each record under its year and deletes it here (with its blobs and
// print jobs). Each step is idempotent. done, when set, runs in that same
// live transaction.
func (s *Store) moveToArchive(ctx context.Context, batch []moved, done func(*bolt.Tx) error) error {
	byYear := map[int][]moved{}
	for _, m := range batch {
		y := archiveYear(m.inv)
		byYear[y] = append(byYear[y], m)
	}
	years := make([]int, 0, len(byYear))
	for y := range byYear {
		years = append(years, y)
	}
	slices.Sort(years)
	for _, y := range years {
		err := s.withArchive(s.archiveYearPath(y), true, func(db *bolt.DB) error {
			return db.Update(func(tx *bolt.Tx) error {
				for _, m := range byYear[y] {
					if err := copyRecord(tx, m); err != nil {
						return fmt.Errorf("archive %d: invoice %s: %w", y, m.inv.ID, err)
					}
				}
				return nil
			})
		})
		if err != nil {
			return err
		}
	}
	if err := s.hook("archive copied"); err != nil {
		return err
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		idx := tx.Bucket(bArchived)
		for _, m := range batch {
			key, err := parseID(m.inv.ID)
			if err != nil {
				return err
			}
			if err := idx.Put(key, binary.BigEndian.AppendUint16(nil, uint16(archiveYear(m.inv)))); err != nil {
				return err
			}
			for _, b := range [][]byte{bInvoices, bXML, bDoc, bUPO, bIndex} {
				if err := tx.Bucket(b).Delete(key); err != nil {
					return err
				}
			}
			for _, j := range m.jobs {
				jk, _ := parseID(j.ID)
				if err := tx.Bucket(bPrintJobs).Delete(jk); err != nil {
					return err
				}
			}
		}
		if done != nil {
			return done(tx)
		}
		return nil
	})
}

// copyRecord writes a record, its blobs and its print jobs into an archive
// file. An archive file only grows, mostly in id order, and its records never
// change: its pages are filled.
func copyRecord(tx *bolt.Tx, m moved) error {
	for _, b := range [][]byte{bInvoices, bIndex, bPrintJobs} {
		tx.Bucket(b).FillPercent = blobFill
	}
	if err := putInvoice(tx, m.inv); err != nil {
		return err
	}
	key, _ := parseID(m.inv.ID)
	if err := putBlobs(tx, key, m.inv.XML, m.inv.Doc); err != nil {
		return err
	}
	if len(m.inv.UPO) > 0 {
		if err := blobBucket(tx, bUPO).Put(key, encodeBlob(m.inv.UPO)); err != nil {
			return err
		}
	}
	for _, j := range m.jobs {
		if err := putJob(tx, j); err != nil {
			return err
		}
	}
	return nil
}

// hook lets tests stop an operation between its steps, as a crash would.
func (s *Store) hook(stage string) error {
	if s.crashAt == nil {
		return nil
	}
	return s.crashAt(stage)
}

// invoiceJobs returns the print jobs of inv and whether all of them are done:
// printed, or parked uncertain (an uncertain receipt nobody reprinted within
// the retention leaves the live file with its record).
func invoiceJobs(tx *bolt.Tx, inv *Invoice) ([]*PrintJob, bool, error) {
	ids := make([]string, 0, 1+len(inv.Reprints))
	if inv.PrintJobID != "" {
		ids = append(ids, inv.PrintJobID)
	}
	for _, r := range inv.Reprints {
		ids = append(ids, r.JobID)
	}
	for _, r := range inv.Slips {
		ids = append(ids, r.JobID)
	}
	var out []*PrintJob
	for _, id := range ids {
		j, err := getJob(tx, id)
		if err != nil {
			return nil, false, err
		}
		if j.State != PrintPrinted && j.State != PrintUncertain {
			return nil, false, nil
		}
		out = append(out, j)
	}
	return out, true, nil
}

// archivedIn finds an archived record through the index: it opens the one
// file the index names. found is false when the id was never archived (or,
// for a file written before rotation, is still in the legacy file).
func (s *Store) archivedIn(tx *bolt.Tx, key []byte, blobs bool) (inv *Invoice, found bool, err error) {
	v := tx.Bucket(bArchived).Get(key)
	if v == nil {
		return s.inLegacy(key)
	}
	if len(v) != 2 {
		return nil, false, fmt.Errorf("%w: archive index of %s is %d bytes", ErrCorrupt, keyID(key), len(v))
	}
	year := int(binary.BigEndian.Uint16(v))
	path := s.archiveYearPath(year)
	if _, err := os.Stat(path); err != nil {
		return nil, false, fmt.Errorf("%w: invoice %s is archived in %s: %w", ErrCorrupt, keyID(key), filepath.Base(path), err)
	}
	err = s.withArchive(path, false, func(db *bolt.DB) error {
		return db.View(func(atx *bolt.Tx) error {
			var err error
			inv, err = getInvoice(atx, key, blobs)
			return err
		})
	})
	if errors.Is(err, ErrNotFound) {
		err = fmt.Errorf("%w: invoice %s is indexed in %s but not there", ErrCorrupt, keyID(key), filepath.Base(path))
	}
	if err != nil {
		return nil, false, err
	}
	return inv, true, nil
}

// archived returns the records of every archive file, checked by decoding
// (for Check), and reports index rows that do not agree with the files.
func (s *Store) archived(bad func(string, ...any)) (map[string]*Invoice, error) {
	out := map[string]*Invoice{}
	years, err := s.archiveYears()
	if err != nil {
		return nil, err
	}
	where := map[string]int{}
	for _, y := range years {
		err := s.withArchive(s.archiveYearPath(y), false, func(db *bolt.DB) error {
			return db.View(func(tx *bolt.Tx) error {
				return tx.Bucket(bInvoices).ForEach(func(k, _ []byte) error {
					inv, err := getInvoice(tx, k, true)
					if err != nil {
						return err
					}
					if archiveYear(inv) != y {
						bad("archived invoice %s of %d is in the file of %d", inv.ID, archiveYear(inv), y)
					}
					out[inv.ID], where[inv.ID] = inv, y
					return nil
				})
			})
		})
		if err != nil {
			return nil, err
		}
	}
	err = s.readLegacy(func(recs []moved) error {
		for _, m := range recs {
			if _, ok := out[m.inv.ID]; !ok {
				out[m.inv.ID] = m.inv
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bArchived).ForEach(func(k, v []byte) error {
			y, ok := where[keyID(k)]
			switch {
			case !ok:
				bad("archive index names invoice %s, which no archive file holds", keyID(k))
			case len(v) != 2 || int(binary.BigEndian.Uint16(v)) != y:
				bad("archive index puts invoice %s in %x, its file is %d", keyID(k), v, y)
			}
			return nil
		})
	})
	return out, err
}

// The archive file written before rotation (Options.ArchivePath itself).

// openLegacy opens the legacy archive read-only, or returns nil when there is none.
func (s *Store) openLegacy() (*bolt.DB, bool, error) {
	if _, err := os.Stat(s.archive); errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	db, err := bolt.Open(s.archive, 0o600, &bolt.Options{Timeout: DefaultTimeout, ReadOnly: true})
	if err != nil {
		return nil, false, fmt.Errorf("outbox: open archive %s: %w", filepath.Base(s.archive), err)
	}
	v, err := schemaOf(db)
	if err == nil && v > SchemaVersion {
		err = fmt.Errorf("%w: archive %s has schema %d, this program knows up to %d", ErrSchemaTooNew, s.archive, v, SchemaVersion)
	}
	if err != nil {
		db.Close()
		return nil, false, err
	}
	return db, v < 2, nil
}

// legacyRecord reads a record of the legacy archive with its blobs, which a
// version-1 file (bare) stores without a codec byte.
func legacyRecord(tx *bolt.Tx, key []byte, bare bool) (*Invoice, error) {
	if !bare {
		return getInvoice(tx, key, true)
	}
	inv, err := getInvoice(tx, key, false)
	if err != nil {
		return nil, err
	}
	inv.XML = bytes.Clone(tx.Bucket(bXML).Get(key))
	inv.Doc = bytes.Clone(tx.Bucket(bDoc).Get(key))
	inv.UPO = bytes.Clone(tx.Bucket(bUPO).Get(key))
	if HashOf(inv.XML) != inv.Hash {
		return nil, fmt.Errorf("%w: XML of archived invoice %s (%d bytes) does not match its SHA-256 %s", ErrCorrupt, inv.ID, len(inv.XML), inv.Hash)
	}
	return inv, nil
}

// inLegacy looks a record up in the legacy archive, always with its blobs.
func (s *Store) inLegacy(key []byte) (*Invoice, bool, error) {
	s.legacyMu.Lock()
	defer s.legacyMu.Unlock()
	db, bare, err := s.openLegacy()
	if err != nil || db == nil {
		return nil, false, err
	}
	defer db.Close()
	var inv *Invoice
	err = db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bInvoices); b == nil || b.Get(key) == nil {
			return nil
		}
		var err error
		inv, err = legacyRecord(tx, key, bare)
		return err
	})
	return inv, inv != nil, err
}

// readLegacy hands fn the records of the legacy archive in id order, in
// batches read with the file open and handed over with it closed.
func (s *Store) readLegacy(fn func([]moved) error) error {
	var after []byte
	for {
		var batch []moved
		s.legacyMu.Lock()
		db, bare, err := s.openLegacy()
		if err == nil && db != nil {
			err = db.View(func(tx *bolt.Tx) error {
				b := tx.Bucket(bInvoices)
				if b == nil {
					return nil
				}
				c := b.Cursor()
				k, _ := c.First()
				if after != nil {
					k, _ = c.Seek(after)
				}
				for ; k != nil && len(batch) < archiveBatch; k, _ = c.Next() {
					inv, err := legacyRecord(tx, k, bare)
					if err != nil {
						return err
					}
					js, _, err := invoiceJobs(tx, inv)
					if err != nil {
						return err
					}
					batch = append(batch, moved{inv, js})
					after = append(bytes.Clone(k), 0)
				}
				return nil
			})
			if cerr := db.Close(); err == nil {
				err = cerr
			}
		}
		s.legacyMu.Unlock()
		if err != nil || len(batch) == 0 {
			return err
		}
		if err := fn(batch); err != nil {
			return err
		}
	}
}

// migrateLegacy moves the records of the archive file written before
// rotation into the year files, indexes them, and removes the old file. A
// crash at any point leaves the old file, and the next run copies again:
// every step writes the same bytes under the same keys.
func (s *Store) migrateLegacy(ctx context.Context) error {
	if _, err := os.Stat(s.archive); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	n := 0
	err := s.readLegacy(func(batch []moved) error {
		n += len(batch)
		return s.moveToArchive(ctx, batch, nil)
	})
	if err == nil {
		err = s.hook("legacy copied")
	}
	if err != nil {
		return fmt.Errorf("outbox: move %s into archive files by year: %w", filepath.Base(s.archive), err)
	}
	s.legacyMu.Lock()
	defer s.legacyMu.Unlock()
	if err := os.Remove(s.archive); err != nil {
		return fmt.Errorf("outbox: remove %s after moving it into archive files by year: %w", filepath.Base(s.archive), err)
	}
	s.log.Info("outbox: moved the single archive file into archive files by year", "invoices", n)
	return nil
}
