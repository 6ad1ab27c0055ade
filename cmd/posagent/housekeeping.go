package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/posagent/posagent/outbox"
)

// defaultMemoryLimit is the soft heap limit of posagent run. A terminal has
// little RAM; without a limit Go keeps freed pages (an argon2id buffer, a
// drained backlog) resident until the next GC cycle far away.
const defaultMemoryLimit = 48 << 20

// archiveEvery is how often run moves invoices past the retention to the
// archive files (one per year of issue, outbox.db.archive-2026 and so on).
// Retention is counted in days, so a few runs a day suffice.
const archiveEvery = 6 * time.Hour

// Compaction at start rewrites the live file when at least compactMinFree
// bytes and compactMinShare of it are free pages: bbolt files never shrink,
// and archiving leaves its space free inside the file.
const (
	compactMinFree  = 16 << 20
	compactMinShare = 4 // free ≥ file/4
)

// memoryLimit returns the soft memory limit run sets, and false when
// GOMEMLIMIT is set: the runtime has applied it already and it wins.
func memoryLimit(getenv func(string) string) (int64, bool) {
	if getenv("GOMEMLIMIT") != "" {
		return 0, false
	}
	return defaultMemoryLimit, true
}

// applyMemoryLimit sets the soft memory limit unless GOMEMLIMIT is set.
func applyMemoryLimit(getenv func(string) string, logger *slog.Logger) {
	if lim, ok := memoryLimit(getenv); ok {
		debug.SetMemoryLimit(lim)
		logger.Debug("soft memory limit", "bytes", lim)
	}
}

// releaseMemory returns freed heap pages to the OS, after a one-off large
// allocation such as the argon2id derivation of a passphrase store.
func releaseMemory() { debug.FreeOSMemory() }

// archiver is the part of *outbox.Store the archive loop uses.
type archiver interface {
	Archive(ctx context.Context) (int, error)
}

// archiveLoop archives at once and then every interval until ctx ends.
// Failures are logged and retried on the next tick: archiving only frees
// space, nothing waits on it.
func archiveLoop(ctx context.Context, a archiver, every time.Duration, logger *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := a.Archive(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			logger.Warn("archive accepted invoices", "error", err)
		case n > 0:
			logger.Info("archived accepted invoices", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// needsCompact reports whether a live file of fileSize bytes, free of them
// in free pages, is worth rewriting.
func needsCompact(fileSize, free int64) bool {
	return free >= compactMinFree && free >= fileSize/compactMinShare
}

// openStore opens the outbox, archives what the retention allows and, when
// the file holds enough free pages, compacts it into a new file that
// replaces the old one before anything else uses the store. A failed
// compaction is logged and the original file is kept.
func openStore(ctx context.Context, path string, opts *outbox.Options, logger *slog.Logger) (*outbox.Store, error) {
	store, err := outbox.Open(path, opts)
	if err != nil {
		return nil, err
	}
	if _, err := store.Archive(ctx); err != nil {
		logger.Warn("archive accepted invoices", "error", err)
	}
	// Opening a large store costs seconds on ARM (recovery reads every
	// record left sending): it is reopened only when compacted.
	size, free, err := store.Reclaimable()
	if err != nil {
		logger.Warn("inspect the store", "error", err)
	}
	if err != nil || !needsCompact(size, free) {
		return store, nil
	}
	tmp := path + ".compact"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		logger.Warn("compact the store", "error", err)
		return store, nil
	}
	start := time.Now()
	if err := store.Compact(ctx, tmp); err != nil {
		os.Remove(tmp)
		logger.Warn("compact the store", "error", err)
		return store, nil
	}
	if err := store.Close(); err != nil {
		os.Remove(tmp)
		return nil, err
	}
	if err := swapFile(tmp, path); err != nil {
		os.Remove(tmp)
		logger.Warn("compact the store", "error", err)
	} else if st, err := os.Stat(path); err == nil {
		logger.Info("compacted the store", "before", size, "after", st.Size(), "took", time.Since(start).Round(time.Millisecond))
	}
	return outbox.Open(path, opts)
}

// swapFile renames tmp over path and syncs the directory, so a crash leaves
// either the old file or the complete new one.
func swapFile(tmp, path string) error {
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("sync %s: %w", filepath.Dir(path), err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", filepath.Dir(path), err)
	}
	return nil
}
