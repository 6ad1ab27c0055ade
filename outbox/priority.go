package outbox

import (
	"context"

	bolt "go.etcd.io/bbolt"
)

// bPriority holds the records that go out before the deadline order:
// id(8) -> nil. It is created on first use, so older files need no
// migration.
var bPriority = []byte("priority")

// Prioritize puts a record not yet accepted ahead of the earliest-deadline
// order of ListDue, DueUploads and PendingUploads: whenever it is queued it
// goes out first (e.g. an original whose corrections wait for its KSeF
// number). The mark is dropped when the record is accepted; prioritizing an
// accepted record, or one already marked, changes nothing.
func (s *Store) Prioritize(ctx context.Context, id string) error {
	key, err := parseID(id)
	if err != nil {
		return err
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		inv, err := getInvoice(tx, key, false)
		if err != nil {
			return err
		}
		if inv.Upload == UploadAccepted {
			return nil
		}
		b, err := tx.CreateBucketIfNotExists(bPriority)
		if err != nil {
			return err
		}
		if b.Get(key) != nil {
			return nil
		}
		inv.log(s.now(), "upload prioritized", "")
		if err := s.put(tx, inv); err != nil {
			return err
		}
		return b.Put(key, []byte{})
	})
}

// prioritized reports whether the record key is marked by Prioritize.
func prioritized(tx *bolt.Tx, key []byte) bool {
	b := tx.Bucket(bPriority)
	return b != nil && b.Get(key) != nil
}

// unprioritize drops the mark of an accepted record.
func unprioritize(tx *bolt.Tx, key []byte) error {
	if b := tx.Bucket(bPriority); b != nil {
		return b.Delete(key)
	}
	return nil
}
