package outbox

import (
	"context"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// backlog writes n queued records of FA(3) size straight into the store in
// one transaction (a backlog as an outage leaves it, without n fsyncs) and
// returns their ids. The records are not numbered or indexed by sale: it is
// a fixture for reads and upload transitions, not for Check.
func backlog(tb testing.TB, s *Store, n int, at time.Time) []string {
	tb.Helper()
	rng := rand.New(rand.NewChaCha8([32]byte{9}))
	ids := make([]string, n)
	err := s.db.Update(func(tx *bolt.Tx) error {
		for i := range n {
			xml := make([]byte, 2500)
			for j := range xml {
				xml[j] = 'a' + byte(rng.IntN(26)) // compresses to about 60%, as FA(3) does
			}
			inv := &Invoice{ID: formatID(uint64(i + 1)), Number: "T1/" + strconv.Itoa(i+1), Terminal: "T1", Period: "all", Seq: uint64(i + 1),
				SaleID: "s" + strconv.Itoa(i), IssuedAt: at, XML: xml, Hash: HashOf(xml), Mode: "offline24", Kind: "VAT", P1: "2026-11-20",
				KOD1: "https://qr-test.ksef.mf.gov.pl/invoice/" + strings.Repeat("x", 120), Upload: UploadQueued}
			inv.log(at, "issued", "")
			ids[i] = inv.ID
			key, _ := parseID(inv.ID)
			if err := putInvoice(tx, inv); err != nil {
				return err
			}
			if err := putBlobs(tx, key, xml, []byte(`{"lines":[{"name":"`+strings.Repeat("y", 900)+`"}]}`)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return ids
}

// BenchmarkMarkSendingBatch reports what marking a backlog sending costs per
// record in one transaction: the allocations stay live until the commit, so
// B/op over the records is the heap a batch of that size needs at once.
func BenchmarkMarkSendingBatch(b *testing.B) {
	for _, n := range []int{500, 5000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				s, err := Open(b.TempDir()+"/outbox.db", nil)
				if err != nil {
					b.Fatal(err)
				}
				ids := backlog(b, s, n, at)
				b.StartTimer()
				if _, err := s.MarkSendingBatch(context.Background(), ids, "B1"); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				s.Close()
				b.StartTimer()
			}
		})
	}
}
