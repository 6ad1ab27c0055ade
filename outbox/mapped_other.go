//go:build !linux

package outbox

import bolt "go.etcd.io/bbolt"

// releaseMapped does nothing: elsewhere the store's mapped pages are left to
// the kernel.
func releaseMapped(*bolt.DB, *bolt.Tx) error { return nil }
