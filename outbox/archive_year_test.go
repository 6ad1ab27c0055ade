package outbox

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestArchiveYear(t *testing.T) {
	tests := []struct {
		p1       string
		issuedAt time.Time
		want     int
	}{
		{"2026-12-31", time.Date(2026, 12, 31, 22, 59, 0, 0, time.UTC), 2026},
		{"2027-01-01", time.Date(2026, 12, 31, 23, 30, 0, 0, time.UTC), 2027}, // 00:30 in Warsaw
		{"", time.Date(2026, 12, 31, 23, 30, 0, 0, time.UTC), 2027},
		{"", time.Date(2026, 12, 31, 22, 30, 0, 0, time.UTC), 2026},
		{"31.12.2026", time.Date(2027, 1, 1, 12, 0, 0, 0, time.UTC), 2027}, // not a date: the issue time decides
	}
	for _, tt := range tests {
		if got := archiveYear(&Invoice{P1: tt.p1, IssuedAt: tt.issuedAt}); got != tt.want {
			t.Errorf("archiveYear(P1 %q, issued %s) = %d, want %d", tt.p1, tt.issuedAt, got, tt.want)
		}
	}
}

// yearRig is a store with a movable clock and a one-day retention.
type yearRig struct {
	t   *testing.T
	s   *Store
	now time.Time
	n   int
}

// crashAt makes the store fail at stage, as a power cut there would, and
// returns the error it fails with.
func (r *yearRig) crashAt(stage string) error {
	crash := errors.New("power cut")
	r.s.crashAt = func(got string) error {
		if got == stage {
			return crash
		}
		return nil
	}
	return crash
}

func newYearRig(t *testing.T) *yearRig {
	r := &yearRig{t: t, now: time.Date(2027, 1, 1, 12, 0, 0, 0, time.UTC)}
	s, err := Open(filepath.Join(t.TempDir(), "outbox.db"), &Options{Retention: 24 * time.Hour, Now: func() time.Time { return r.now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.s.Check(context.Background()); err != nil {
			t.Errorf("Check() = %v", err)
		}
		r.s.Close()
	})
	r.s = s
	return r
}

// accepted issues an invoice dated p1, accepts it with a UPO and prints it.
func (r *yearRig) accepted(p1 string) *Invoice { return r.acceptedPrinted(p1, true) }

func (r *yearRig) acceptedPrinted(p1 string, printed bool) *Invoice {
	r.t.Helper()
	ctx := context.Background()
	r.n++
	day, err := time.ParseInLocation(time.DateOnly, p1, warsaw)
	if err != nil {
		r.t.Fatal(err)
	}
	xml := []byte("<Faktura><P_1>" + p1 + "</P_1><Nr>" + strings.Repeat("x", r.n) + "</Nr></Faktura>")
	inv, _, err := r.s.Issue(ctx, IssueRequest{SaleID: "sale-" + p1 + "-" + strings.Repeat("x", r.n), Series: Series{Terminal: "T1", Format: "{terminal}/{yyyy}/{seq:06}", Reset: ResetYearly}, Now: day.Add(12 * time.Hour),
		Build: func(string) (*Built, error) {
			return &Built{XML: xml, Doc: []byte(`{"p1":"` + p1 + `"}`), Mode: "offline24", Kind: "VAT", P1: p1}, nil
		}})
	if err != nil {
		r.t.Fatal(err)
	}
	if err := r.s.MarkSending(ctx, inv.ID, "S"); err != nil {
		r.t.Fatal(err)
	}
	if err := r.s.MarkAccepted(ctx, inv.ID, Acceptance{KSeFNumber: "K" + inv.ID, UPO: []byte("<UPO>" + inv.ID + "</UPO>")}); err != nil {
		r.t.Fatal(err)
	}
	if !printed {
		return inv
	}
	if err := r.s.MarkPrinted(ctx, inv.PrintJobID); err != nil {
		r.t.Fatal(err)
	}
	return inv
}

// mustFind checks that Get, ByNumber and BySaleID return inv with its bytes.
func (r *yearRig) mustFind(inv *Invoice) {
	r.t.Helper()
	ctx := context.Background()
	got, err := r.s.Get(ctx, inv.ID)
	if err != nil || !bytes.Equal(got.XML, inv.XML) || string(got.UPO) != "<UPO>"+inv.ID+"</UPO>" || got.Upload != UploadAccepted {
		r.t.Fatalf("Get(%s) = %v; want the accepted record with its XML and UPO", inv.ID, err)
	}
	if got, err := r.s.ByNumber(ctx, inv.Number); err != nil || got.ID != inv.ID {
		r.t.Errorf("ByNumber(%s) = %v", inv.Number, err)
	}
	if got, err := r.s.BySaleID(ctx, inv.SaleID); err != nil || got.ID != inv.ID {
		r.t.Errorf("BySaleID(%s) = %v", inv.SaleID, err)
	}
}

// keys counts the records of an archive file.
func keys(t *testing.T, path string) int {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n := 0
	_ = db.View(func(tx *bolt.Tx) error { n = tx.Bucket(bInvoices).Stats().KeyN; return nil })
	return n
}

func TestArchiveRotatesByYear(t *testing.T) {
	r := newYearRig(t)
	unprinted := r.acceptedPrinted("2025-06-29", false) // stays: its receipt may still print
	parked := r.acceptedPrinted("2025-06-29", false)    // goes: a restart parked it uncertain
	if err := r.s.SettlePrints(context.Background(), []string{parked.PrintJobID}, nil, r.now); err != nil {
		t.Fatal(err)
	}
	old := r.accepted("2025-06-30")
	dec := r.accepted("2026-12-31")
	jan := r.accepted("2027-01-01")
	r.now = r.now.Add(48 * time.Hour)
	if n, err := r.s.Archive(context.Background()); err != nil || n != 4 {
		t.Fatalf("Archive() = %d, %v; want 4", n, err)
	}
	for year, want := range map[int]int{2025: 2, 2026: 1, 2027: 1} {
		if got := keys(t, r.s.archiveYearPath(year)); got != want {
			t.Errorf("archive %d holds %d invoices, want %d", year, got, want)
		}
	}
	if list, _ := r.s.List(context.Background(), Filter{}); len(list) != 1 || list[0].ID != unprinted.ID {
		t.Errorf("live file after Archive lists %d invoices, want only the unprinted %s", len(list), unprinted.ID)
	}
	if _, err := os.Stat(r.s.archive); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("single archive file %s exists (%v); want only year files", r.s.archive, err)
	}
	for _, inv := range []*Invoice{parked, old, dec, jan} {
		r.mustFind(inv)
	}
	// A lookup opens the one file the index names: without the 2027 file the
	// 2026 invoice is still found, and the 2027 one is a clear corruption.
	hidden := r.s.archiveYearPath(2027) + ".away"
	if err := os.Rename(r.s.archiveYearPath(2027), hidden); err != nil {
		t.Fatal(err)
	}
	r.mustFind(dec)
	if _, err := r.s.Get(context.Background(), jan.ID); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "archive-2027") {
		t.Errorf("Get(%s) without its year file = %v, want ErrCorrupt naming archive-2027", jan.ID, err)
	}
	if err := os.Rename(hidden, r.s.archiveYearPath(2027)); err != nil {
		t.Fatal(err)
	}
	r.mustFind(jan)
	// Sales go on, and a correction of an archived invoice queues.
	next := r.accepted("2027-01-03")
	if next.Number != "T1/2027/000002" {
		t.Errorf("number after archiving = %s, want T1/2027/000002", next.Number)
	}
}

// TestArchiveCrashBetweenCopyAndDelete stops Archive after the year files
// are written and before the live file lets go, as a power cut would: the
// records stay readable, Check holds, and the next Archive finishes the move
// without copying anything twice.
func TestArchiveCrashBetweenCopyAndDelete(t *testing.T) {
	ctx := context.Background()
	r := newYearRig(t)
	invs := []*Invoice{r.accepted("2026-12-30"), r.accepted("2026-12-31"), r.accepted("2027-01-01")}
	r.now = r.now.Add(48 * time.Hour)
	crash := r.crashAt("archive copied")
	if _, err := r.s.Archive(ctx); !errors.Is(err, crash) {
		t.Fatalf("Archive() with a crash after the copy = %v", err)
	}
	if got := keys(t, r.s.archiveYearPath(2026)); got != 2 {
		t.Fatalf("archive 2026 holds %d after the copy, want 2", got)
	}
	for _, inv := range invs {
		r.mustFind(inv) // from the live file
	}
	if err := r.s.Check(ctx); err != nil {
		t.Fatalf("Check() between copy and delete = %v", err)
	}
	r.s.crashAt = nil
	if n, err := r.s.Archive(ctx); err != nil || n != 3 {
		t.Fatalf("Archive() again = %d, %v; want 3", n, err)
	}
	if a, b := keys(t, r.s.archiveYearPath(2026)), keys(t, r.s.archiveYearPath(2027)); a != 2 || b != 1 {
		t.Errorf("archives hold %d and %d invoices, want 2 and 1", a, b)
	}
	if list, _ := r.s.List(ctx, Filter{}); len(list) != 0 {
		t.Errorf("live file still lists %d invoices", len(list))
	}
	for _, inv := range invs {
		r.mustFind(inv)
	}
}

// writeLegacy moves invs out of the live file into a single archive file at
// ArchivePath, as the archive did before rotation, in schema version 1
// (values stored bare). keep names ids left in the live file as well, as a
// crash inside that old Archive left them.
func writeLegacy(t *testing.T, s *Store, invs []*Invoice, keep map[string]bool) {
	t.Helper()
	db, err := bolt.Open(s.archive, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(atx *bolt.Tx) error {
		for _, b := range [][]byte{bMeta, bInvoices, bXML, bDoc, bUPO, bIndex, bPrintJobs} {
			if _, err := atx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		if err := atx.Bucket(bMeta).Put(kSchema, u64(1)); err != nil {
			return err
		}
		return s.db.Update(func(tx *bolt.Tx) error {
			for _, inv := range invs {
				key, _ := parseID(inv.ID)
				full, err := getInvoice(tx, key, true)
				if err != nil {
					return err
				}
				if err := putInvoice(atx, full); err != nil {
					return err
				}
				for b, v := range map[string][]byte{"xml": full.XML, "doc": full.Doc, "upo": full.UPO} {
					if err := atx.Bucket([]byte(b)).Put(key, v); err != nil {
						return err
					}
				}
				jobs, _, err := invoiceJobs(tx, full)
				if err != nil {
					return err
				}
				for _, j := range jobs {
					if err := putJob(atx, j); err != nil {
						return err
					}
				}
				if keep[inv.ID] {
					continue
				}
				for _, b := range [][]byte{bInvoices, bXML, bDoc, bUPO, bIndex} {
					if err := tx.Bucket(b).Delete(key); err != nil {
						return err
					}
				}
				for _, j := range jobs {
					jk, _ := parseID(j.ID)
					if err := tx.Bucket(bPrintJobs).Delete(jk); err != nil {
						return err
					}
				}
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestMigrateLegacyArchive(t *testing.T) {
	ctx := context.Background()
	r := newYearRig(t)
	invs := []*Invoice{r.accepted("2025-03-01"), r.accepted("2026-12-31"), r.accepted("2027-01-01")}
	writeLegacy(t, r.s, invs, map[string]bool{invs[2].ID: true})
	// Before the move, the old file still answers.
	for _, inv := range invs {
		r.mustFind(inv)
	}
	// A crash after the copy leaves the old file; a second run finishes.
	crash := r.crashAt("legacy copied")
	if _, err := r.s.Archive(ctx); !errors.Is(err, crash) {
		t.Fatalf("Archive() with a crash after the legacy copy = %v", err)
	}
	if _, err := os.Stat(r.s.archive); err != nil {
		t.Fatalf("legacy file gone before the move finished: %v", err)
	}
	for _, inv := range invs {
		r.mustFind(inv)
	}
	r.s.crashAt = nil
	path := r.s.path
	r.s.Close()
	s, err := Open(path, &Options{Retention: 24 * time.Hour, Now: func() time.Time { return r.now }})
	if err != nil {
		t.Fatal(err)
	}
	r.s = s
	if _, err := os.Stat(s.archive); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("legacy archive still there after Open: %v", err)
	}
	for year, want := range map[int]int{2025: 1, 2026: 1, 2027: 1} {
		if got := keys(t, s.archiveYearPath(year)); got != want {
			t.Errorf("archive %d holds %d invoices, want %d", year, got, want)
		}
	}
	for _, inv := range invs {
		r.mustFind(inv)
	}
	if list, _ := s.List(ctx, Filter{}); len(list) != 0 {
		t.Errorf("live file still lists %d invoices after the move", len(list))
	}
}

func TestCheckArchiveIndex(t *testing.T) {
	ctx := context.Background()
	r := newYearRig(t)
	inv := r.accepted("2026-12-31")
	r.now = r.now.Add(48 * time.Hour)
	if _, err := r.s.Archive(ctx); err != nil {
		t.Fatal(err)
	}
	key, _ := parseID(inv.ID)
	tests := []struct {
		name string
		row  []byte // nil deletes it
		want string
	}{
		{"row missing", nil, "not in the archive index"},
		{"wrong year", []byte{0x07, 0xe9}, "its file is 2026"}, // 2025
	}
	for _, tt := range tests {
		err := r.s.db.Update(func(tx *bolt.Tx) error {
			if tt.row == nil {
				return tx.Bucket(bArchived).Delete(key)
			}
			return tx.Bucket(bArchived).Put(key, tt.row)
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.s.Check(ctx); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Check() = %v, want ErrCorrupt mentioning %q", tt.name, err, tt.want)
		}
	}
	err := r.s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bArchived).Put(key, []byte{0x07, 0xea}) })
	if err != nil {
		t.Fatal(err)
	}
}
