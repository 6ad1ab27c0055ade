package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/posagent/posagent/outbox"
)

func TestMemoryLimit(t *testing.T) {
	tests := []struct {
		env    string
		want   int64
		wantOK bool
	}{
		{"", 48 << 20, true},
		{"100MiB", 0, false},
		{"off", 0, false},
	}
	for _, tt := range tests {
		getenv := func(k string) string {
			if k == "GOMEMLIMIT" {
				return tt.env
			}
			return ""
		}
		got, ok := memoryLimit(getenv)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("memoryLimit(GOMEMLIMIT=%q) = %d, %v; want %d, %v", tt.env, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestNeedsCompact(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		file, free int64
		want       bool
	}{
		{0, 0, false},
		{10 * mib, 9 * mib, false},   // little to gain
		{100 * mib, 30 * mib, true},  // 30 MiB free, 30 %
		{100 * mib, 20 * mib, false}, // a fifth
		{400 * mib, 20 * mib, false},
		{384 * mib, 259 * mib, true},
	}
	for _, tt := range tests {
		if got := needsCompact(tt.file, tt.free); got != tt.want {
			t.Errorf("needsCompact(%d, %d) = %v, want %v", tt.file, tt.free, got, tt.want)
		}
	}
}

type countArchiver struct{ n atomic.Int32 }

func (c *countArchiver) Archive(context.Context) (int, error) {
	c.n.Add(1)
	return 1, nil
}

func TestArchiveLoop(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	var a countArchiver
	done := make(chan struct{})
	go func() {
		defer close(done)
		archiveLoop(ctx, &a, time.Millisecond, slog.New(slog.DiscardHandler))
	}()
	deadline := time.Now().Add(10 * time.Second)
	for a.n.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("archiveLoop did not return after cancel")
	}
	if got := a.n.Load(); got < 3 {
		t.Errorf("Archive ran %d times, want at least 3", got)
	}
}

// TestOpenStoreCompacts grows a live file with pages that are then freed,
// as archiving does, and expects openStore to shrink it and reopen it.
func TestOpenStoreCompacts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	opts := &outbox.Options{Retention: 30 * 24 * time.Hour}
	s, err := outbox.Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	val := make([]byte, 64<<10)
	if err := db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("filler"))
		if err != nil {
			return err
		}
		for i := range 1200 {
			if err := b.Put([]byte{byte(i >> 8), byte(i)}, val); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket([]byte("filler")) }); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	before := fileSize(t, path)
	if before < 32<<20 {
		t.Fatalf("grown file is %d bytes, want ≥ 32 MiB", before)
	}

	s, err = openStore(t.Context(), path, opts, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("openStore: %v", err)
	}
	defer s.Close()
	if after := fileSize(t, path); after > before/4 {
		t.Errorf("file is %d bytes after openStore, was %d: want it compacted", after, before)
	}
	if _, err := os.Stat(path + ".compact"); !os.IsNotExist(err) {
		t.Errorf("temporary file left behind: %v", err)
	}
	if _, _, err := s.Size(); err != nil {
		t.Errorf("reopened store: Size: %v", err)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
