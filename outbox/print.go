package outbox

import (
	"context"
	"errors"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// errUnchanged rolls back a transaction that found nothing to write, so it
// costs no fsync.
var errUnchanged = errors.New("outbox: nothing to change")

// RecordPrint records the print worker's progress in one committed
// transaction (one fsync): the jobs in printed have left the port (pending
// or failed -> printed; a failed job goes through pending, the only path
// the lifecycle allows), and job started is about to be tried (its
// StartedAt is set to at, unless it has one from an earlier attempt). Either
// may be empty. A job already printed is left as it is; any other illegal
// move is a *TransitionError and changes nothing. A call with nothing to
// record commits nothing.
//
// The worker calls it between two jobs, so the printed mark of one receipt
// and the started mark of the next cost one fsync together.
func (s *Store) RecordPrint(ctx context.Context, printed []string, started string, at time.Time) error {
	// Not append(printed, started): that would write into the caller's array.
	for _, id := range slices.Concat(printed, []string{started}) {
		if id == "" {
			continue
		}
		if _, err := parseID(id); err != nil {
			return err
		}
	}
	if len(printed) == 0 && started != "" && s.startedAlready(ctx, started) {
		return nil // recorded at issue: no writer lock, no fsync
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		changed := false
		for _, id := range printed {
			j, err := getJob(tx, id)
			if err != nil {
				return err
			}
			if j.State == PrintPrinted {
				continue
			}
			if j.State == PrintFailed {
				if err := s.moveJob(tx, j, PrintPending, "", "", at); err != nil {
					return err
				}
			}
			if err := s.moveJob(tx, j, PrintPrinted, "", "", at); err != nil {
				return err
			}
			changed = true
		}
		if started != "" {
			j, err := getJob(tx, started)
			if err != nil {
				return err
			}
			if j.StartedAt.IsZero() {
				changed = true
			}
			if err := s.startJob(tx, started, at); err != nil {
				return err
			}
		}
		if !changed {
			return errUnchanged
		}
		return nil
	})
	if errors.Is(err, errUnchanged) {
		return nil
	}
	return err
}

// startJob sets the StartedAt of a pending or failed job, unless it has one.
func (s *Store) startJob(tx *bolt.Tx, id string, at time.Time) error {
	j, err := getJob(tx, id)
	if err != nil {
		return err
	}
	if j.State != PrintPending && j.State != PrintFailed {
		return &TransitionError{ID: j.ID, Machine: "print", From: j.State.String(), To: "started"}
	}
	if !j.StartedAt.IsZero() {
		return nil
	}
	j.StartedAt = at.UTC()
	return putJob(tx, j)
}

// startedAlready reports whether job id is pending or failed with its start
// recorded, by a read that does not wait for the writer.
func (s *Store) startedAlready(ctx context.Context, id string) bool {
	j, err := s.PrintJob(ctx, id)
	return err == nil && !j.StartedAt.IsZero() && (j.State == PrintPending || j.State == PrintFailed)
}

// SettlePrints applies a restart's decision to the print jobs it found
// unfinished (Recovered), in one transaction: the jobs in park become
// uncertain (never printed on their own; a Reprint prints a DUPLIKAT), and
// the jobs in repeat are marked Repeat, so their receipt says it is a
// repeated print with the time of the first attempt, and a failed one is
// made pending again. at dates the events.
func (s *Store) SettlePrints(ctx context.Context, park, repeat []string, at time.Time) error {
	if len(park)+len(repeat) == 0 {
		return nil
	}
	for _, id := range append(append([]string(nil), park...), repeat...) {
		if _, err := parseID(id); err != nil {
			return err
		}
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		for _, id := range park {
			j, err := getJob(tx, id)
			if err != nil {
				return err
			}
			note := "print uncertain after a restart: never tried, requested " + warsawTime(j.RequestedAt) + ", too old to print now"
			if j.Started() {
				note = "print uncertain after a restart: may have reached the paper, first tried " + warsawTime(j.FirstAttempt()) + ", too old to repeat"
			}
			if err := s.moveJob(tx, j, PrintUncertain, "", note, at); err != nil {
				return err
			}
		}
		for _, id := range repeat {
			j, err := getJob(tx, id)
			if err != nil {
				return err
			}
			if j.State != PrintPending && j.State != PrintFailed {
				return &TransitionError{ID: j.ID, Machine: "print", From: j.State.String(), To: "repeat"}
			}
			j.Repeat = true
			if j.State == PrintFailed {
				if err := s.moveJob(tx, j, PrintPending, "", "print repeated after a restart, marked as such", at); err != nil {
					return err
				}
				continue
			}
			j.UpdatedAt = at.UTC()
			if err := putJob(tx, j); err != nil {
				return err
			}
			if err := s.logOn(tx, j.InvoiceID, at, "print repeated after a restart, marked as such (job "+j.ID+")"); err != nil {
				return err
			}
		}
		return nil
	})
}

func warsawTime(t time.Time) string { return t.In(warsaw).Format("2006-01-02 15:04:05") }

// logOn appends an event to the invoice with id.
func (s *Store) logOn(tx *bolt.Tx, id string, at time.Time, what string) error {
	key, err := parseID(id)
	if err != nil {
		return err
	}
	inv, err := getInvoice(tx, key, false)
	if err != nil {
		return err
	}
	inv.log(at, what, "")
	return s.put(tx, inv)
}
