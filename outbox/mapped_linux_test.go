package outbox

import (
	"bufio"
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// mappedRSS returns the resident bytes of the process's mappings of path,
// from /proc/self/smaps.
func mappedRSS(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("no smaps: %v", err)
	}
	defer f.Close()
	var total int64
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		fs := strings.Fields(l)
		if len(fs) >= 5 && strings.Contains(fs[0], "-") && !strings.HasSuffix(fs[0], ":") {
			in = len(fs) >= 6 && fs[len(fs)-1] == path
			continue
		}
		if in && len(fs) >= 2 && fs[0] == "Rss:" {
			kb, _ := strconv.ParseInt(fs[1], 10, 64)
			total += kb << 10
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return total
}

// TestReleaseMapped shows that the store's reads do not pile up in the
// process's resident set: a full read keeps the mapping's RSS near
// releaseEvery, ReleaseMapped drops it to nothing, and the bytes read after a
// release are the ones stored.
func TestReleaseMapped(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "outbox.db")
	s, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const n, size = 600, 40 << 10 // 24 MiB of XML, three times releaseEvery
	rng := rand.New(rand.NewChaCha8([32]byte{7}))
	want := map[string]Hash{}
	series := Series{Terminal: "T1", Format: "{terminal}/{seq:06}", Reset: ResetNever}
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	for i := range n {
		xml := make([]byte, size)
		for j := range xml {
			xml[j] = byte(rng.Uint32()) // incompressible: compression at rest must not hide the pages
		}
		inv, _, err := s.Issue(ctx, IssueRequest{SaleID: "s" + strconv.Itoa(i), Series: series, Now: at, Build: func(string) (*Built, error) {
			return &Built{XML: xml, Mode: "offline24", Kind: "VAT", P1: "2026-11-20"}, nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		want[inv.ID] = HashOf(xml)
	}
	if err := s.ReleaseMapped(); err != nil {
		t.Fatal(err)
	}
	if got := mappedRSS(t, path); got > 256<<10 {
		t.Fatalf("after ReleaseMapped the store's mapping holds %d KiB, want at most 256", got>>10)
	}

	// A raw sweep that bypasses the store's accounting makes the whole file resident...
	err = s.db.View(func(tx *bolt.Tx) error {
		var sum byte
		return tx.Bucket(bXML).ForEach(func(_, v []byte) error {
			for i := 0; i < len(v); i += 512 {
				sum += v[i]
			}
			_ = sum
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	full := mappedRSS(t, path)
	if full < n*size*9/10 {
		t.Fatalf("a full sweep left %d KiB resident, want about %d: the measure does not see the mapping", full>>10, n*size>>10)
	}
	// ...and ReleaseMapped takes it back out.
	if err := s.ReleaseMapped(); err != nil {
		t.Fatal(err)
	}
	if got := mappedRSS(t, path); got > 256<<10 {
		t.Fatalf("after ReleaseMapped the mapping holds %d KiB of %d, want at most 256", got>>10, full>>10)
	}

	// Reads through the store release as they go and still return the stored bytes.
	var peak int64
	for id, h := range want {
		inv, err := s.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if HashOf(inv.XML) != h {
			t.Fatalf("invoice %s: XML read after a release differs from the stored bytes", id)
		}
		x, err := s.XML(ctx, id)
		if err != nil || !bytes.Equal(x, inv.XML) {
			t.Fatalf("XML(%s) = %d bytes, %v; want the bytes Get returned", id, len(x), err)
		}
		peak = max(peak, mappedRSS(t, path))
	}
	if limit := int64(releaseEvery + 4<<20); peak > limit {
		t.Fatalf("reading every invoice kept up to %d KiB of the mapping resident, want at most %d", peak>>10, limit>>10)
	}
	t.Logf("mapping RSS: %d KiB after a raw sweep, peak %d KiB while reading %d KiB through the store", full>>10, peak>>10, n*size>>10)
}

// TestMappedStaysBoundedOnSmallRecords drives the drain's store calls over a
// backlog of small records, where the kernel's fault-around maps 16 pages for
// every page touched: the mapping's RSS must stay near releaseEvery after
// each call, whatever the file's size.
func TestMappedStaysBoundedOnSmallRecords(t *testing.T) {
	if raceDetector {
		// 12 000 records from one goroutine: the detector makes it 40 s and
		// has nothing to find; the plain run measures the mapping.
		t.Skip("a volume test with one goroutine: run without -race")
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "outbox.db")
	s, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	const n = 12000
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	ids := backlog(t, s, n, at)
	s.Close()
	fi, _ := os.Stat(path)
	if s, err = Open(path, nil); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	limit := int64(releaseEvery + 1<<20)
	step := func(what string) {
		t.Helper()
		got := mappedRSS(t, path)
		t.Logf("%-18s mapping RSS %5d KiB of a %d KiB file", what, got>>10, fi.Size()>>10)
		if got > limit {
			t.Errorf("after %s the mapping holds %d KiB, want at most %d", what, got>>10, limit>>10)
		}
	}
	step("Open")
	due, err := s.ListDue(ctx, at.Add(time.Hour), n)
	if err != nil || len(due) != n {
		t.Fatalf("ListDue = %d, %v", len(due), err)
	}
	step("ListDue")
	if _, err := s.MarkSendingBatch(ctx, ids, "B1"); err != nil {
		t.Fatal(err)
	}
	step("MarkSendingBatch")
	for _, id := range ids {
		if _, err := s.XML(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	step("XML of each")
	if _, err := s.Stats(ctx, at); err != nil {
		t.Fatal(err)
	}
	step("Stats")
}
