//go:build linux

package outbox

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// releaseMapped madvises MADV_DONTNEED over the part of the mapping that
// holds data. On bbolt's MAP_SHARED, PROT_READ mapping of the file this only
// unmaps clean page-cache pages from this process: nothing is lost or
// zeroed, unlike on private or anonymous memory. tx must be a read
// transaction, which keeps the mapping in place (see Store.dropMapped).
func releaseMapped(db *bolt.DB, tx *bolt.Tx) error {
	size := tx.Size()
	if size <= 0 {
		return nil
	}
	// The address comes from bbolt as a uintptr and goes straight to the
	// syscall, so no unsafe.Pointer is made from it.
	if _, _, errno := unix.Syscall(unix.SYS_MADVISE, db.Info().Data, uintptr(size), unix.MADV_DONTNEED); errno != 0 {
		return fmt.Errorf("outbox: madvise %d bytes: %w", size, errno)
	}
	return nil
}
