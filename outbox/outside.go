package outbox

import (
	"bytes"
	"context"

	bolt "go.etcd.io/bbolt"
)

// QueueOutside queues for upload every invoice kept outside KSeF (state
// outside: issued in a total failure), in one transaction, and returns how
// many moved. It is the operator's explicit opt-in: in a total failure
// there is no obligation to send (tryby-offline.md), so the store never
// does it on its own.
func (s *Store) QueueOutside(ctx context.Context) (int, error) {
	n := 0
	err := s.update(ctx, func(tx *bolt.Tx) error {
		n = 0
		var keys [][]byte
		code := uploadCodes[UploadOutside]
		err := tx.Bucket(bIndex).ForEach(func(k, v []byte) error {
			s.touched(tx, len(k)+len(v))
			if len(v) > 0 && v[0] == code {
				keys = append(keys, bytes.Clone(k))
			}
			return nil
		})
		if err != nil {
			return err
		}
		now := s.now()
		for _, k := range keys {
			inv, err := getInvoice(tx, k, false)
			if err != nil {
				return err
			}
			if err := moveUpload(inv, UploadQueued, ""); err != nil {
				return err
			}
			inv.log(now, "upload queued: the operator opted in to send invoices of a total failure", "")
			if err := s.put(tx, inv); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
