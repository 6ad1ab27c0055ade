package bench_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/posagent/posagent/certstore"
	"github.com/posagent/posagent/certstore/certstoretest"
	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/internal/soak"
	"github.com/posagent/posagent/internal/testutil"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/outbox"
)

var (
	storeDays      = flag.Int("store.days", 3, "simulated days of sales (make bench: 180)")
	storePerDay    = flag.Int("store.perday", 50, "invoices a day (make bench: 500)")
	storeRetention = flag.Int("store.retention", config.DefaultRetentionDays, "retention of accepted invoices in days (config store.retention_days)")
	storeDir       = flag.String("store.dir", "", "`dir` for the files; empty: /dev/shm when present (size does not depend on fsync)")
)

// TestStoreSize issues storePerDay invoices a day for storeDays simulated
// days, each printed and accepted by KSeF with a real-size UPO, archives
// daily with the configured retention as the agent does, and reports the
// size of the live file and of the archive.
func TestStoreSize(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a store")
	}
	upo, err := os.ReadFile(testutil.Official("ksef/upo/upo-faktura-kontekst-id-nip.xml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := *storeDir
	if dir == "" {
		if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
			dir = "/dev/shm"
		}
	}
	dir, err = os.MkdirTemp(dir, "posagent-store-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	day0 := time.Date(2026, 1, 5, 9, 0, 0, 0, ksef.Warsaw)
	var now time.Time
	clock := func() time.Time { return now }
	path := filepath.Join(dir, "outbox.db")
	st, err := outbox.Open(path, &outbox.Options{MaxSize: 1536 << 20, Retention: time.Duration(*storeRetention) * 24 * time.Hour, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cert := certstoretest.Cert(t, certstore.Offline, certstore.KeyEC)
	ctx := context.Background()
	i, archived, peak := 0, 0, int64(0)
	start := time.Now()
	for d := range *storeDays {
		for k := range *storePerDay {
			now = day0.AddDate(0, 0, d).Add(time.Duration(k) * 20 * time.Second)
			i++
			inv, err := soak.IssueOne(ctx, st, cert, i, now)
			if err != nil {
				t.Fatalf("day %d: %v", d, err)
			}
			if err := st.MarkSending(ctx, inv.ID, fmt.Sprintf("20260105-SB-%010d-AB", d)); err != nil {
				t.Fatalf("day %d: sending: %v", d, err)
			}
			if err := st.MarkAccepted(ctx, inv.ID, outbox.Acceptance{
				KSeFNumber: ksef.NewKSeFNumber(soak.SellerNIP, now, [6]byte{byte(i >> 16), byte(i >> 8), byte(i)}),
				AcquiredAt: now, UPO: upo}); err != nil {
				t.Fatalf("day %d: accept: %v", d, err)
			}
		}
		n, err := st.Archive(ctx)
		if err != nil {
			t.Fatalf("day %d: archive: %v", d, err)
		}
		archived += n
		if fi, err := os.Stat(path); err == nil && fi.Size() > peak {
			peak = fi.Size()
		}
	}
	used, _, err := st.Size()
	if err != nil {
		t.Fatal(err)
	}
	live, _ := os.Stat(path)
	years, _ := filepath.Glob(path + ".archive-*") // one file per year of issue
	archSize, archFiles := int64(0), ""
	for _, y := range years {
		if fi, err := os.Stat(y); err == nil {
			archSize += fi.Size()
			archFiles += fmt.Sprintf(" %s %.1f MiB", filepath.Base(y), float64(fi.Size())/(1<<20))
		}
	}
	mib := func(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
	t.Logf("%d days × %d invoices = %d (retention %d days, %d archived) in %v",
		*storeDays, *storePerDay, i, *storeRetention, archived, time.Since(start).Round(time.Second))
	t.Logf("live file %s (peak %s, %s in use), archive %s (%d files:%s); %.1f KiB per live invoice, %.1f KiB per archived invoice",
		mib(live.Size()), mib(peak), mib(used), mib(archSize), len(years), archFiles,
		float64(used)/1024/float64(max(i-archived, 1)), float64(archSize)/1024/float64(max(archived, 1)))
}
