package outbox

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Get returns the invoice with its XML, snapshot and UPO, from the live file or the
// archive.
func (s *Store) Get(ctx context.Context, id string) (*Invoice, error) {
	key, err := parseID(id)
	if err != nil {
		return nil, err
	}
	return s.getKey(ctx, key)
}

func (s *Store) getKey(ctx context.Context, key []byte) (*Invoice, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var inv *Invoice
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		inv, _, err = s.lookup(tx, key, true)
		return err
	})
	return inv, err
}

// GetForPrint returns the invoice with its snapshot but without its XML and
// UPO: what a receipt is made from. It spares the sale's way to the printer
// inflating and hashing XML nobody reads there. An archived invoice (a late
// reprint) comes whole.
func (s *Store) GetForPrint(ctx context.Context, id string) (*Invoice, error) {
	key, err := parseID(id)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var inv *Invoice
	err = s.view(func(tx *bolt.Tx) error {
		var err error
		inv, err = getInvoice(tx, key, false)
		if errors.Is(err, ErrNotFound) {
			inv, _, err = s.lookup(tx, key, true)
			return err
		}
		if err != nil {
			return err
		}
		inv.Doc, err = getDoc(tx, key)
		s.touched(tx, recordCost+len(inv.Doc))
		return err
	})
	return inv, err
}

// ByNumber returns the invoice with that number. After a technical correction it
// is the correcting record (whose TechnicalCorrectionOf names the rejected one).
func (s *Store) ByNumber(ctx context.Context, number string) (*Invoice, error) {
	return s.byIndex(ctx, bNumbers, number)
}

// BySaleID returns the invoice issued for the till's sale id.
func (s *Store) BySaleID(ctx context.Context, saleID string) (*Invoice, error) {
	return s.byIndex(ctx, bSales, saleID)
}

func (s *Store) byIndex(ctx context.Context, bucket []byte, k string) (*Invoice, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var inv *Invoice
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucket).Get([]byte(k))
		if len(v) < 8 {
			return fmt.Errorf("%w: %s %q", ErrNotFound, bucket, k)
		}
		var err error
		inv, _, err = s.lookup(tx, v[:8], true)
		return err
	})
	return inv, err
}

// Filter selects invoices for List. Zero fields match everything.
type Filter struct {
	Upload UploadState // only this upload state
	Print  PrintState  // only this print state (PrintNone matches all)
	After  string      // only ids after this one (paging)
	Limit  int         // at most this many; 0 means 100
}

// List returns invoices of the live file in id order. XML, Doc and UPO are left
// nil; use Get for them.
func (s *Store) List(ctx context.Context, f Filter) ([]Invoice, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	var start []byte
	if f.After != "" {
		k, err := parseID(f.After)
		if err != nil {
			return nil, err
		}
		start = k
	}
	var out []Invoice
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bIndex).Cursor()
		k, v := c.First()
		if start != nil {
			if k, v = c.Seek(start); k != nil && bytes.Equal(k, start) {
				k, v = c.Next()
			}
		}
		for ; k != nil && len(out) < f.Limit; k, v = c.Next() {
			e := decodeIndex(v)
			if f.Upload != "" && e.upload != f.Upload || f.Print != PrintNone && e.print != f.Print {
				continue
			}
			inv, err := getInvoice(tx, k, false)
			if err != nil {
				return err
			}
			s.touched(tx, recordCost)
			out = append(out, *inv)
		}
		return nil
	})
	return out, err
}

// PendingUploads returns up to limit queued invoices (with XML), earliest deadline
// first (no deadline last), then by id, whatever their NotBefore.
func (s *Store) PendingUploads(ctx context.Context, limit int) ([]Invoice, error) {
	return s.queued(ctx, limit, true, func(indexEntry) bool { return true })
}

// DueUploads is PendingUploads restricted to invoices whose persisted NotBefore
// (e.g. a 429 Retry-After) is not after now.
func (s *Store) DueUploads(ctx context.Context, now time.Time, limit int) ([]Invoice, error) {
	n := now.UnixNano()
	return s.queued(ctx, limit, true, func(e indexEntry) bool { return e.notBefore <= n })
}

// Due is the part of a queued record that planning its upload needs. Its
// JSON names are those of Invoice, so it decodes from a stored record without
// the rest (events, links) ever being allocated.
type Due struct {
	ID                    string    `json:"id"`
	Number                string    `json:"number"`
	Hash                  Hash      `json:"hash"`
	Mode                  string    `json:"mode"`
	P1                    string    `json:"p1"`
	IssuedAt              time.Time `json:"issued_at"`
	TechnicalCorrectionOf string    `json:"tech_correction_of,omitempty"`
	HashOfCorrected       Hash      `json:"hash_of_corrected,omitzero"`
}

// ListDue is DueUploads reduced to Due summaries, in the same order: a backlog
// of 10 000 is planned in about 2 MB, without its XML (read each with XML when
// it is sent) or its records.
func (s *Store) ListDue(ctx context.Context, now time.Time, limit int) ([]Due, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, &RequestError{Field: "limit", Reason: "must be positive"}
	}
	n := now.UnixNano()
	var out []Due
	err := s.view(func(tx *bolt.Tx) error {
		keys, err := s.dueKeys(tx, limit, func(e indexEntry) bool { return e.notBefore <= n })
		if err != nil {
			return err
		}
		out = make([]Due, len(keys))
		b := tx.Bucket(bInvoices)
		for i, k := range keys {
			v := b.Get(k)
			if v == nil {
				return fmt.Errorf("%w: index row %s without a record", ErrCorrupt, keyID(k))
			}
			if err := json.Unmarshal(v, &out[i]); err != nil {
				return fmt.Errorf("%w: invoice %s: %w", ErrCorrupt, keyID(k), err)
			}
			s.touched(tx, len(v))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// XML returns a copy of the stored XML of an invoice in the live file or the
// archive: the bytes hashed at issue, to be uploaded unchanged.
func (s *Store) XML(ctx context.Context, id string) ([]byte, error) {
	key, err := parseID(id)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []byte
	err = s.view(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bInvoices).Get(key); v != nil {
			var rec struct {
				Hash Hash `json:"hash"`
			}
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("%w: invoice %s: %w", ErrCorrupt, id, err)
			}
			var err error
			out, err = getXML(tx, key, rec.Hash)
			s.touched(tx, len(v)+len(out))
			return err
		}
		inv, _, err := s.lookup(tx, key, true)
		if err != nil {
			return err
		}
		out = inv.XML
		return nil
	})
	if err == nil && len(out) == 0 {
		err = fmt.Errorf("%w: invoice %s has no XML", ErrCorrupt, id)
	}
	return out, err
}

func (s *Store) queued(ctx context.Context, limit int, blobs bool, ok func(indexEntry) bool) ([]Invoice, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, &RequestError{Field: "limit", Reason: "must be positive"}
	}
	var out []Invoice
	err := s.view(func(tx *bolt.Tx) error {
		keys, err := s.dueKeys(tx, limit, ok)
		if err != nil {
			return err
		}
		for _, k := range keys {
			inv, err := getInvoice(tx, k, blobs)
			if err != nil {
				return err
			}
			s.touched(tx, recordCost+blobSize(inv))
			out = append(out, *inv)
		}
		return nil
	})
	return out, err
}

// dueKeys returns up to limit keys of queued invoices that ok accepts:
// prioritized ones first (Prioritize), then earliest deadline first (none
// last), then by id.
func (s *Store) dueKeys(tx *bolt.Tx, limit int, ok func(indexEntry) bool) ([][]byte, error) {
	type cand struct {
		key      []byte
		rank     uint64 // Prioritize's order; MaxUint64 for none
		deadline int64
	}
	ranks := priorities(tx)
	var cs []cand
	err := tx.Bucket(bIndex).ForEach(func(k, v []byte) error {
		s.touched(tx, len(k)+len(v))
		e := decodeIndex(v)
		if e.upload == UploadQueued && ok(e) {
			d := e.deadline
			if d == 0 {
				d = math.MaxInt64
			}
			r, marked := ranks[string(k)]
			if !marked {
				r = math.MaxUint64
			}
			cs = append(cs, cand{bytes.Clone(k), r, d})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(cs, func(a, b cand) int { // keys come in id order
		return cmp.Or(cmp.Compare(a.rank, b.rank), cmp.Compare(a.deadline, b.deadline))
	})
	keys := make([][]byte, min(limit, len(cs)))
	for i := range keys {
		keys[i] = cs[i].key
	}
	return keys, nil
}

// PrintJob returns one print job.
func (s *Store) PrintJob(ctx context.Context, jobID string) (*PrintJob, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var j *PrintJob
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		j, err = getJob(tx, jobID)
		return err
	})
	return j, err
}

// PrintJobs returns up to limit pending print jobs, oldest first; a limit of
// 0 returns every one (what a dispatcher feeds the printer, with no cap).
func (s *Store) PrintJobs(ctx context.Context, limit int) ([]PrintJob, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if limit < 0 {
		return nil, &RequestError{Field: "limit", Reason: "must not be negative"}
	}
	if limit == 0 {
		limit = math.MaxInt
	}
	var out []PrintJob
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bPrintJobs).Cursor()
		for k, v := c.First(); k != nil && len(out) < limit; k, v = c.Next() {
			s.touched(tx, len(k)+len(v))
			var j PrintJob
			if err := json.Unmarshal(v, &j); err != nil {
				return fmt.Errorf("%w: print job %s: %w", ErrCorrupt, keyID(k), err)
			}
			if j.State == PrintPending {
				out = append(out, j)
			}
		}
		return nil
	})
	return out, err
}

// Overdue is an invoice past its upload deadline, with what it may cost.
type Overdue struct {
	ID, Number string
	Deadline   time.Time
	Upload     UploadState
	Gross, VAT int64 // grosze
	// GrossPLN, VATPLN: the same in PLN for an invoice in another currency;
	// zero for a PLN invoice (Invoice.GrossPLN).
	GrossPLN, VATPLN int64
}

// Stats summarises the live file for the deadline monitor and the status page.
type Stats struct {
	Upload           map[UploadState]int // invoices per upload state
	Print            map[PrintState]int  // print jobs per state
	EarliestDeadline time.Time           // of invoices not accepted; zero if none
	Overdue          []Overdue           // not accepted, deadline before now, earliest first
	Used, Limit      int64               // bytes in use and the file cap
	// Uncertain counts the invoices whose receipt is uncertain: their
	// original job was parked by a restart and no duplicate has printed.
	Uncertain int
}

// Stats counts invoices and jobs by state and lists overdue invoices at now. A
// rejected invoice already technically corrected is left to its correction.
func (s *Store) Stats(ctx context.Context, now time.Time) (*Stats, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	st := &Stats{Upload: map[UploadState]int{}, Print: map[PrintState]int{}, Limit: s.maxSize}
	n := now.UnixNano()
	err := s.view(func(tx *bolt.Tx) error {
		st.Used = s.used(tx)
		var late [][]byte
		var earliest int64
		err := tx.Bucket(bIndex).ForEach(func(k, v []byte) error {
			s.touched(tx, len(k)+len(v))
			e := decodeIndex(v)
			st.Upload[e.upload]++
			if e.print == PrintUncertain {
				st.Uncertain++
			}
			if e.upload == UploadAccepted || e.deadline == 0 {
				return nil
			}
			if e.deadline < n {
				late = append(late, bytes.Clone(k))
			}
			if earliest == 0 || e.deadline < earliest {
				earliest = e.deadline
			}
			return nil
		})
		if err != nil {
			return err
		}
		if earliest != 0 {
			st.EarliestDeadline = time.Unix(0, earliest).UTC()
		}
		for _, k := range late {
			inv, err := getInvoice(tx, k, false)
			if err != nil {
				return err
			}
			if inv.CorrectedBy != "" {
				continue
			}
			st.Overdue = append(st.Overdue, Overdue{ID: inv.ID, Number: inv.Number, Deadline: inv.Deadline, Upload: inv.Upload,
				Gross: inv.Gross, VAT: inv.VAT, GrossPLN: inv.GrossPLN, VATPLN: inv.VATPLN})
		}
		slices.SortStableFunc(st.Overdue, func(a, b Overdue) int { return a.Deadline.Compare(b.Deadline) })
		return tx.Bucket(bPrintJobs).ForEach(func(k, v []byte) error {
			s.touched(tx, len(k)+len(v))
			var j PrintJob
			if err := json.Unmarshal(v, &j); err != nil {
				return fmt.Errorf("%w: print job %s: %w", ErrCorrupt, keyID(k), err)
			}
			st.Print[j.State]++
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// CountDue counts the invoices still to upload (queued, sending or blocked)
// whose deadline is in [from, to). It reads the index alone: a status page
// asks it every few seconds of a store that may hold tens of thousands.
func (s *Store) CountDue(ctx context.Context, from, to time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	lo, hi := from.UnixNano(), to.UnixNano()
	n := 0
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bIndex).ForEach(func(k, v []byte) error {
			s.touched(tx, len(k)+len(v))
			switch e := decodeIndex(v); e.upload {
			case UploadQueued, UploadSending, UploadBlocked:
				if e.deadline >= lo && e.deadline < hi {
					n++
				}
			}
			return nil
		})
	})
	return n, err
}

// lookup finds a record in the live file, then in the archive.
func (s *Store) lookup(tx *bolt.Tx, key []byte, blobs bool) (*Invoice, bool, error) {
	inv, err := getInvoice(tx, key, blobs)
	if !errors.Is(err, ErrNotFound) {
		if err == nil {
			s.touched(tx, recordCost+blobSize(inv))
		}
		return inv, false, err
	}
	ainv, found, aerr := s.archivedIn(tx, key, blobs)
	if aerr != nil {
		return nil, false, aerr
	}
	if !found {
		return nil, false, err
	}
	return ainv, true, nil
}
