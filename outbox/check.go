package outbox

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// Check verifies the invariants of the store and returns the first violations
// joined, each wrapping ErrCorrupt:
//   - every series period's sequences, live and archived, are exactly 1..counter
//     (contiguous, no duplicates; a technical correction reuses its original's);
//   - every record has its XML, and its Hash is the SHA-256 of it;
//   - index rows, numbers, sale ids and print jobs agree with the records;
//   - blocked corrections are indexed under an original that is not accepted;
//   - pending corrections are indexed, with their original and slip job.
//
// It reads everything, so it is meant for tests, doctor and after recovery.
func (s *Store) Check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var errs []error
	bad := func(format string, args ...any) {
		if len(errs) < 20 {
			errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...))
		}
	}
	arch, err := s.archived(bad)
	if err != nil {
		return err
	}
	err = s.view(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bMeta).Get(kSchema); len(v) != 8 || binary.BigEndian.Uint64(v) != SchemaVersion {
			bad("schema version %x", v)
		}
		live := map[string]*Invoice{}
		damaged := map[string]bool{} // blobs that do not decode, reported once
		err := tx.Bucket(bInvoices).ForEach(func(k, _ []byte) error {
			inv, err := getInvoice(tx, k, true)
			if errors.Is(err, ErrCorrupt) {
				if len(errs) < 20 {
					errs = append(errs, err)
				}
				damaged[keyID(k)] = true
				inv, err = getInvoice(tx, k, false) // check the rest of the record
			}
			if err != nil {
				return err
			}
			s.touched(tx, recordCost+blobSize(inv))
			live[inv.ID] = inv
			return nil
		})
		if err != nil {
			return err
		}
		all := map[string]*Invoice{}
		_, lerr := os.Stat(s.archive)
		legacy := lerr == nil // its records are not indexed until moved
		for id, inv := range arch {
			all[id] = inv
			key, _ := parseID(id)
			if live[id] == nil && !legacy && tx.Bucket(bArchived).Get(key) == nil {
				bad("archived invoice %s is not in the archive index", id)
			}
		}
		for id, inv := range live {
			all[id] = inv // a record in both (crash during Archive) counts once
		}

		seqs := map[string][]uint64{}
		for _, inv := range all {
			if inv.TechnicalCorrectionOf == "" {
				ck := string(counterKey(inv.Terminal, inv.Period))
				seqs[ck] = append(seqs[ck], inv.Seq)
			}
		}
		counters := tx.Bucket(bCounters)
		err = counters.ForEach(func(k, v []byte) error {
			last := binary.BigEndian.Uint64(v)
			got := seqs[string(k)]
			slices.Sort(got)
			for i, q := range got {
				if q != uint64(i+1) {
					bad("series %q: sequence %d at position %d (gap or duplicate)", k, q, i+1)
					break
				}
			}
			if uint64(len(got)) != last {
				bad("series %q: counter %d but %d invoices", k, last, len(got))
			}
			delete(seqs, string(k))
			return nil
		})
		if err != nil {
			return err
		}
		for k := range seqs {
			bad("series %q has invoices but no counter", k)
		}

		jobs := map[string]*PrintJob{}
		err = tx.Bucket(bPrintJobs).ForEach(func(k, v []byte) error {
			j := new(PrintJob)
			if err := json.Unmarshal(v, j); err != nil {
				bad("print job %s: %v", keyID(k), err)
				return nil
			}
			jobs[j.ID] = j
			if live[j.InvoiceID] == nil {
				bad("print job %s: invoice %s is not in the live file", j.ID, j.InvoiceID)
			}
			return nil
		})
		if err != nil {
			return err
		}

		for id, inv := range live {
			key, _ := parseID(id)
			if !damaged[id] && (len(inv.XML) == 0 || inv.Hash != HashOf(inv.XML)) {
				bad("invoice %s: hash does not match its XML (%d bytes)", id, len(inv.XML))
			}
			if e := decodeIndex(tx.Bucket(bIndex).Get(key)); e != entryOf(inv) {
				bad("invoice %s: index row %+v, record %+v", id, e, entryOf(inv))
			}
			if _, ok := uploadCodes[inv.Upload]; !ok {
				bad("invoice %s: unknown upload state %q", id, inv.Upload)
			}
			if inv.Upload == UploadAccepted && inv.KSeFNumber == "" {
				bad("invoice %s: accepted without a KSeF number", id)
			}
			if v := tx.Bucket(bNumbers).Get([]byte(inv.Number)); v == nil || all[keyID(v)] == nil || all[keyID(v)].Number != inv.Number {
				bad("invoice %s: number %q not indexed", id, inv.Number)
			}
			if inv.SaleID != "" {
				if v := tx.Bucket(bSales).Get([]byte(inv.SaleID)); len(v) != 40 || keyID(v[:8]) != id || !bytes.Equal(v[8:], inv.Fingerprint[:]) {
					bad("invoice %s: sale id %q not indexed", id, inv.SaleID)
				}
			} else if inv.TechnicalCorrectionOf == "" {
				bad("invoice %s: no sale id", id)
			}
			if inv.TechnicalCorrectionOf == "" {
				if j := jobs[inv.PrintJobID]; j == nil || j.InvoiceID != id || j.Duplicate || j.State != inv.Print && !settledByDuplicate(inv, j, jobs) {
					bad("invoice %s: print state %s does not match job %q", id, inv.Print, inv.PrintJobID)
				}
			} else if inv.PrintJobID != "" || inv.Print != PrintNone {
				bad("invoice %s: technical correction with a print job", id)
			}
			for _, r := range inv.Reprints {
				if j := jobs[r.JobID]; j == nil || j.InvoiceID != id || !j.Duplicate {
					bad("invoice %s: reprint job %s missing", id, r.JobID)
				}
			}
			for _, r := range inv.Slips {
				if j := jobs[r.JobID]; j == nil || j.InvoiceID != id || j.Slip == "" {
					bad("invoice %s: correction slip job %s missing", id, r.JobID)
				}
			}
			if inv.Upload == UploadBlocked {
				okey, err := parseID(inv.CorrectionOf)
				if err != nil || tx.Bucket(bBlocked).Get(append(okey, key...)) == nil {
					bad("invoice %s: blocked but not indexed under %q", id, inv.CorrectionOf)
				} else if o := all[inv.CorrectionOf]; o == nil || o.Upload == UploadAccepted {
					bad("invoice %s: blocked on %s which is accepted or missing", id, inv.CorrectionOf)
				}
			}
		}
		checkPending(tx, live, jobs, bad)
		for _, j := range jobs {
			inv := live[j.InvoiceID]
			isJob := func(r Reprint) bool { return r.JobID == j.ID }
			if inv != nil && inv.PrintJobID != j.ID && !slices.ContainsFunc(inv.Reprints, isJob) && !slices.ContainsFunc(inv.Slips, isJob) {
				bad("print job %s not recorded on invoice %s", j.ID, j.InvoiceID)
			}
		}
		_ = tx.Bucket(bIndex).ForEach(func(k, _ []byte) error {
			if live[keyID(k)] == nil {
				bad("index row %s without a record", keyID(k))
			}
			return nil
		})
		_ = tx.Bucket(bBlocked).ForEach(func(k, _ []byte) error {
			if len(k) != 16 || live[keyID(k[8:])] == nil || live[keyID(k[8:])].Upload != UploadBlocked {
				bad("blocked row %x does not name a blocked correction", k)
			}
			return nil
		})
		for _, b := range [][]byte{bNumbers, bSales} {
			_ = tx.Bucket(b).ForEach(func(k, v []byte) error {
				if len(v) < 8 || all[keyID(v[:8])] == nil {
					bad("%s %q points to a missing invoice", b, k)
				}
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return err
	}
	return errors.Join(errs...)
}

// settledByDuplicate reports whether inv shows printed because a duplicate
// printed after its original job j was parked uncertain.
func settledByDuplicate(inv *Invoice, j *PrintJob, jobs map[string]*PrintJob) bool {
	return j.State == PrintUncertain && inv.Print == PrintPrinted && slices.ContainsFunc(inv.Reprints, func(r Reprint) bool {
		d := jobs[r.JobID]
		return d != nil && d.State == PrintPrinted
	})
}
