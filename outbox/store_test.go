package outbox_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/posagent/posagent/outbox"
	"github.com/posagent/posagent/outbox/outboxtest"
)

var (
	ctx = context.Background()
	t0  = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
)

func clock(at time.Time) func() time.Time { return func() time.Time { return at } }

func mustIssue(t *testing.T, s *outbox.Store, req outbox.IssueRequest) *outbox.Invoice {
	t.Helper()
	inv, replayed, err := s.Issue(ctx, req)
	if err != nil || replayed {
		t.Fatalf("Issue(%s) = %v, replayed %v", req.SaleID, err, replayed)
	}
	return inv
}

func TestOpenSecondInstanceLocked(t *testing.T) {
	s := outboxtest.MustOpen(t, nil)
	start := time.Now()
	_, err := outbox.Open(s.Path(), &outbox.Options{Timeout: 100 * time.Millisecond})
	if !errors.Is(err, outbox.ErrLocked) {
		t.Fatalf("second Open() = %v, want ErrLocked", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("second Open() took %s", d)
	}
}

func TestOpenOptionsInvalid(t *testing.T) {
	dir := t.TempDir()
	for _, o := range []outbox.Options{{MaxSize: 1000}, {MaxSize: 1 << 20, Headroom: 600 << 10}, {Retention: -time.Hour}} {
		_, err := outbox.Open(filepath.Join(dir, "x.db"), &o)
		var re *outbox.RequestError
		if !errors.As(err, &re) {
			t.Errorf("Open(%+v) = %v, want *RequestError", o, err)
		}
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	s, err := outbox.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("meta")).Put([]byte("schema"), binary.BigEndian.AppendUint64(nil, outbox.SchemaVersion+1))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := outbox.Open(path, nil); !errors.Is(err, outbox.ErrSchemaTooNew) {
		t.Fatalf("Open() = %v, want ErrSchemaTooNew", err)
	}
}

func TestClosedStore(t *testing.T) {
	s := outboxtest.MustOpen(t, nil)
	s.Close()
	if _, _, err := s.Issue(ctx, outboxtest.Request("s1", t0)); !errors.Is(err, outbox.ErrClosed) {
		t.Errorf("Issue after Close = %v, want ErrClosed", err)
	}
	if _, err := s.Get(ctx, "1"); !errors.Is(err, outbox.ErrClosed) {
		t.Errorf("Get after Close = %v, want ErrClosed", err)
	}
}

func TestCloseAndReopen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "outbox.db")
	s, err := outbox.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := mustIssue(t, s, outboxtest.Request("a", t0))
	b := mustIssue(t, s, outboxtest.Request("b", t0))
	if err := s.MarkSending(ctx, b.ID, "SES-1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = outbox.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rec := s.Recovered()
	if len(rec.Sending) != 1 || rec.Sending[0] != b.ID {
		t.Errorf("Recovered().Sending = %v, want invoice %s", rec.Sending, b.ID)
	} else if inv, err := s.Get(ctx, b.ID); err != nil || inv.SessionRef != "SES-1" {
		t.Errorf("recovered %s: %+v, %v; want session SES-1", b.ID, inv, err)
	}
	if len(rec.PrintJob) != 2 {
		t.Errorf("Recovered().PrintJob has %d jobs, want 2", len(rec.PrintJob))
	}
	got, err := s.Get(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.XML) != string(a.XML) || got.Hash != outbox.HashOf(a.XML) || got.Number != "T1/2026/11/000001" {
		t.Errorf("Get(%s) after reopen = %s %s, want %s", a.ID, got.Number, got.Hash, a.Hash)
	}
	c := mustIssue(t, s, outboxtest.Request("c", t0))
	if c.Number != "T1/2026/11/000003" {
		t.Errorf("number after reopen = %s, want T1/2026/11/000003", c.Number)
	}
	if err := s.Check(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestCompact(t *testing.T) {
	s := outboxtest.MustOpen(t, nil)
	for i := range 20 {
		mustIssue(t, s, outboxtest.Request(string(rune('a'+i)), t0))
	}
	dst := filepath.Join(t.TempDir(), "compact.db")
	if err := s.Compact(ctx, dst); err != nil {
		t.Fatal(err)
	}
	if err := s.Compact(ctx, dst); !errors.Is(err, outbox.ErrInvalidRequest) {
		t.Errorf("Compact onto an existing file = %v, want ErrInvalidRequest", err)
	}
	c, err := outbox.Open(dst, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Check(ctx); err != nil {
		t.Fatal(err)
	}
	inv, err := c.ByNumber(ctx, "T1/2026/11/000020")
	if err != nil || inv.SaleID != "t" {
		t.Fatalf("ByNumber in the compacted copy = %+v, %v", inv, err)
	}
}

// TestReclaimable: the pages transitions free count, and right after Open
// (when bbolt has not yet counted its free pages) Reclaimable reports what
// the store reported before it was closed.
func TestReclaimable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	s, err := outbox.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	size0, free0, err := s.Reclaimable()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 300 {
		ids = append(ids, mustIssue(t, s, outboxtest.Request(fmt.Sprintf("r%03d", i), t0)).ID)
	}
	// Each transition rewrites its record's pages; the old ones become free.
	for _, id := range ids {
		if err := s.MarkSending(ctx, id, ""); err != nil {
			t.Fatal(err)
		}
		if err := s.Retry(ctx, id, t0, "test"); err != nil {
			t.Fatal(err)
		}
	}
	size, free, err := s.Reclaimable()
	if err != nil {
		t.Fatal(err)
	}
	if size <= size0 || free <= free0 || free >= size {
		t.Fatalf("after 300 invoices and 600 transitions: size %d free %d (empty: %d, %d)", size, free, size0, free0)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Reclaimable(); !errors.Is(err, outbox.ErrClosed) {
		t.Errorf("Reclaimable on a closed store = %v, want ErrClosed", err)
	}
	s, err = outbox.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if gotSize, gotFree, err := s.Reclaimable(); err != nil || gotSize != size || gotFree != free {
		t.Errorf("after reopening: size %d free %d (%v), want %d %d", gotSize, gotFree, err, size, free)
	}
}

// TestGetForPrint: the record and its snapshot, without the XML and UPO
// that printing does not read.
func TestGetForPrint(t *testing.T) {
	s := outboxtest.MustOpen(t, nil)
	inv := mustIssue(t, s, outboxtest.Request("p", t0))
	whole, err := s.Get(ctx, inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.GetForPrint(ctx, inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != inv.ID || got.Number != inv.Number || got.PrintJobID != inv.PrintJobID || got.Hash != whole.Hash {
		t.Errorf("GetForPrint record = %+v, want %+v", got, whole)
	}
	if !bytes.Equal(got.Doc, whole.Doc) || len(got.Doc) == 0 {
		t.Errorf("GetForPrint snapshot = %q, want %q", got.Doc, whole.Doc)
	}
	if got.XML != nil || got.UPO != nil {
		t.Errorf("GetForPrint read the XML (%d bytes) or UPO (%d bytes)", len(got.XML), len(got.UPO))
	}
	if _, err := s.GetForPrint(ctx, "0000009999"); !errors.Is(err, outbox.ErrNotFound) {
		t.Errorf("GetForPrint(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := s.GetForPrint(ctx, "x"); !errors.Is(err, outbox.ErrInvalidID) {
		t.Errorf("GetForPrint(malformed id) = %v, want ErrInvalidID", err)
	}
}
