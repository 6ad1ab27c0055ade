package outbox

import (
	"context"
	"encoding/binary"

	bolt "go.etcd.io/bbolt"
)

// bPriority holds the records to upload before the deadline order: id(8) ->
// rank(8), the order they were prioritized in. It is made on first use, so
// a store that never prioritized anything has none (no schema change).
var bPriority = []byte("priority")

// Prioritize puts a record first in the upload queue: whenever it is queued
// (also after a retry), DueUploads, PendingUploads and ListDue list it ahead
// of the earliest-deadline order, records prioritized earlier first. A
// persisted NotBefore (a 429's Retry-After) still holds. The mark is stored,
// so it survives a restart, and is dropped when KSeF accepts or rejects the
// record. Prioritizing a record twice keeps its first place; an accepted one
// (also archived) needs nothing and returns nil; a rejected one waits for a
// technical correction and fails with a *TransitionError; an unknown id
// fails with ErrNotFound.
func (s *Store) Prioritize(ctx context.Context, id string) error {
	key, err := parseID(id)
	if err != nil {
		return err
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		inv, archived, err := s.lookup(tx, key, false)
		switch {
		case err != nil:
			return err
		case archived || inv.Upload == UploadAccepted:
			return nil
		case inv.Upload == UploadRejected:
			return &TransitionError{ID: id, Machine: "upload", From: string(inv.Upload), To: "prioritized", Reason: "a rejected invoice waits for a technical correction"}
		}
		added, err := prioritize(tx, key)
		if err != nil || !added {
			return err
		}
		inv.log(s.now(), "upload prioritized", "")
		return s.put(tx, inv)
	})
}

// prioritize marks key, unless it is marked already.
func prioritize(tx *bolt.Tx, key []byte) (added bool, err error) {
	b, err := tx.CreateBucketIfNotExists(bPriority)
	if err != nil {
		return false, err
	}
	if b.Get(key) != nil {
		return false, nil
	}
	rank, err := b.NextSequence()
	if err != nil {
		return false, err
	}
	return true, b.Put(key, u64(rank))
}

// unprioritize drops the mark of a record that no longer waits for upload.
func unprioritize(tx *bolt.Tx, key []byte) error {
	if b := tx.Bucket(bPriority); b != nil {
		return b.Delete(key)
	}
	return nil
}

// priorities returns the rank of every marked record by key; nil if none.
func priorities(tx *bolt.Tx) map[string]uint64 {
	b := tx.Bucket(bPriority)
	if b == nil {
		return nil
	}
	out := map[string]uint64{}
	_ = b.ForEach(func(k, v []byte) error {
		if len(v) == 8 {
			out[string(k)] = binary.BigEndian.Uint64(v)
		}
		return nil
	})
	return out
}
