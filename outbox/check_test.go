package outbox_test

import (
	"context"
	"encoding/binary"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/posagent/posagent/outbox"
	"github.com/posagent/posagent/outbox/outboxtest"
)

// TestCheckDetects proves the invariant checker used by outboxtest can fail: each
// case breaks one invariant behind the store's back.
func TestCheckDetects(t *testing.T) {
	id1 := binary.BigEndian.AppendUint64(nil, 1)
	tests := []struct {
		name    string
		corrupt func(tx *bolt.Tx) error
		want    string
	}{
		{"gap in numbers", func(tx *bolt.Tx) error {
			return tx.Bucket([]byte("counters")).Put([]byte("T1\x002026-11"), binary.BigEndian.AppendUint64(nil, 3))
		}, "counter 3 but 2 invoices"},
		{"XML changed", func(tx *bolt.Tx) error { return tx.Bucket([]byte("xml")).Put(id1, []byte("\x00<other/>")) }, "does not match its SHA-256"},
		{"XML without codec byte", func(tx *bolt.Tx) error { return tx.Bucket([]byte("xml")).Put(id1, []byte("<other/>")) }, "unknown codec 0x3c"},
		{"compressed XML damaged", func(tx *bolt.Tx) error {
			v := append([]byte(nil), tx.Bucket([]byte("xml")).Get(id1)...)
			v[len(v)/2] ^= 0x40
			return tx.Bucket([]byte("xml")).Put(id1, v)
		}, "XML of invoice 0000000001"},
		{"snapshot damaged", func(tx *bolt.Tx) error { return tx.Bucket([]byte("doc")).Put(id1, []byte{0x07}) }, "snapshot of invoice 0000000001"},
		{"partial record", func(tx *bolt.Tx) error { return tx.Bucket([]byte("xml")).Delete(id1) }, "hash does not match"},
		{"number row missing", func(tx *bolt.Tx) error {
			return tx.Bucket([]byte("numbers")).Delete([]byte("T1/2026/11/000001"))
		}, "not indexed"},
		{"print job missing", func(tx *bolt.Tx) error { return tx.Bucket([]byte("printjobs")).Delete(id1) }, "does not match job"},
		{"index row stale", func(tx *bolt.Tx) error {
			v := append([]byte(nil), tx.Bucket([]byte("index")).Get(id1)...)
			v[0] = 'a'
			return tx.Bucket([]byte("index")).Put(id1, v)
		}, "index row"},
		{"sale row missing", func(tx *bolt.Tx) error { return tx.Bucket([]byte("sales")).Delete([]byte("s0")) }, "sale id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "outbox.db")
			s, err := outbox.Open(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			mustIssue(t, s, outboxtest.Request("s0", t0))
			mustIssue(t, s, outboxtest.Request("s1", t0))
			if err := s.Check(ctx); err != nil {
				t.Fatalf("Check() before corruption = %v", err)
			}
			s.Close()
			db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Update(tt.corrupt); err != nil {
				t.Fatal(err)
			}
			db.Close()
			s, err = outbox.Open(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			err = s.Check(ctx)
			if !errors.Is(err, outbox.ErrCorrupt) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Check() = %v, want ErrCorrupt mentioning %q", err, tt.want)
			}
		})
	}
}

func TestCancelledContext(t *testing.T) {
	s := outboxtest.MustOpen(t, nil)
	c, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := s.Issue(c, outboxtest.Request("s", t0)); !errors.Is(err, context.Canceled) {
		t.Errorf("Issue(cancelled) = %v, want context.Canceled", err)
	}
	if _, err := s.BySaleID(ctx, "s"); !errors.Is(err, outbox.ErrNotFound) {
		t.Errorf("cancelled issue stored a sale: %v", err)
	}
}
