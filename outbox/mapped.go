package outbox

import (
	bolt "go.etcd.io/bbolt"
)

// The store's resident set. bbolt maps the file read-only and shared and
// writes with pwrite, so every page a read touches stays mapped, clean, in the
// process's RSS until the kernel needs the memory: a drain that reads each
// invoice once keeps the whole file resident (149 MiB for a 10 000-invoice
// backlog). The store counts what it reads and, past releaseEvery, drops its
// page-table entries for the mapping (releaseMapped): the pages stay in the
// page cache and the next read refaults them, a minor fault, with the same
// bytes, because dropping a clean shared mapping is exactly what reclaim does.
const (
	// releaseEvery bounds the bytes read from the mapping between releases.
	releaseEvery = 8 << 20
	// txCost is what one transaction is counted for besides the values it
	// reports: the branch pages and a leaf of each bucket it visits.
	txCost = 4 << 12
	// recordCost is counted per record a sweep decodes: its leaf page.
	recordCost = 4 << 10
)

// touched counts n bytes read from the mapping. Inside a read transaction it
// releases the mapping at once when the count passes releaseEvery, so a sweep
// of the whole file stays within it; a write transaction leaves that to the
// end of the call (see afterTx).
func (s *Store) touched(tx *bolt.Tx, n int) {
	if s.reads.Add(int64(n)) < releaseEvery || tx == nil || tx.Writable() {
		return
	}
	s.dropMapped(tx)
}

// afterTx is called when a transaction of the store's own ended.
func (s *Store) afterTx() {
	if s.reads.Add(txCost) < releaseEvery {
		return
	}
	_ = s.db.View(func(tx *bolt.Tx) error {
		s.dropMapped(tx)
		return nil
	})
}

// dropMapped drops the mapping's pages from the resident set. tx must be a read
// transaction of s.db: it holds bbolt's mmap lock, so the mapping cannot be
// moved by a remap while the kernel walks it.
func (s *Store) dropMapped(tx *bolt.Tx) {
	s.reads.Store(0)
	if err := releaseMapped(s.db, tx); err != nil {
		s.log.Debug("outbox: releasing the mapped store failed", "err", err)
	}
}

// ReleaseMapped drops the pages of the store's file from the process's
// resident set now, whatever the store has counted. Reads after it return the
// same bytes (the kernel refaults them from the page cache). The store does it
// on its own every few MiB read; this is for callers that know a large read
// just ended. A no-op where the platform has no madvise.
func (s *Store) ReleaseMapped() error {
	return s.view(func(tx *bolt.Tx) error {
		s.reads.Store(0)
		return releaseMapped(s.db, tx)
	})
}

func blobSize(inv *Invoice) int { return len(inv.XML) + len(inv.Doc) + len(inv.UPO) }
