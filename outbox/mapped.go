package outbox

import (
	"os"

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
	// releaseEvery bounds the resident part of the mapping between releases.
	releaseEvery = 4 << 20
	// faultAround is what touching one page may map: on a fault Linux also
	// maps the neighbours already in the page cache (fault_around_bytes, 64
	// KiB by default), MADV_RANDOM or not. Sweeping a 250 KiB bucket mapped
	// 4 MiB of a freshly written file, so every byte read counts this many
	// times over a page.
	faultAround = 64 << 10
	// txCost is what one transaction is counted for besides the values it
	// reports: the root, branch and leaf pages of the buckets it visits.
	txCost = 4 << 12
	// recordCost is counted per record decoded: about its JSON.
	recordCost = 2 << 10
)

// amplify is faultAround over the OS page size (16 with 4 KiB pages).
var amplify = int64(max(1, faultAround/os.Getpagesize()))

// touched counts n bytes read from the mapping. Past releaseEvery it drops
// the mapping at once, so a sweep of the whole file stays within it. A write
// transaction does not hold bbolt's mmap lock, but only its own commit can
// remap the file and that happens after fn returns, so the release runs in a
// short read transaction of its own, which also holds the lock.
func (s *Store) touched(tx *bolt.Tx, n int) {
	if s.reads.Add(int64(n)*amplify) < releaseEvery || tx == nil {
		return
	}
	if !tx.Writable() {
		s.dropMapped(tx)
		return
	}
	s.dropMappedOwn()
}

// committed counts what a write transaction's commit touched: bbolt frees
// the old copy of every page it rewrites, reading its header through the
// mapping, so about as many bytes as it wrote.
func (s *Store) committed(tx *bolt.Tx) {
	st := tx.Stats()
	s.reads.Add(st.GetPageAlloc() * amplify)
}

// afterTx is called when a transaction of the store's own ended.
func (s *Store) afterTx() {
	if s.reads.Add(txCost*amplify) >= releaseEvery {
		s.dropMappedOwn()
	}
}

// dropMappedOwn drops the mapping in a read transaction of its own, for callers
// that hold none (or only a write transaction, which does not hold the mmap
// lock).
func (s *Store) dropMappedOwn() {
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
