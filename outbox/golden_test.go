package outbox_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/posagent/posagent/outbox"
	"github.com/posagent/posagent/outbox/outboxtest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestRecordGolden pins the on-disk record format: a change here needs a schema
// migration (SchemaVersion) or must stay readable by the current decoder.
func TestRecordGolden(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	s, err := outbox.Open(path, &outbox.Options{Now: clock(t0.Add(time.Minute))})
	if err != nil {
		t.Fatal(err)
	}
	inv := mustIssue(t, s, outboxtest.Request("golden", t0))
	steps := []error{
		s.MarkPrintFailed(ctx, inv.PrintJobID, "paper_out"),
		s.RetryPrint(ctx, inv.PrintJobID),
		s.MarkPrinted(ctx, inv.PrintJobID),
		s.MarkSending(ctx, inv.ID, "20261120-SE-0000000001-AB"),
		s.SetInvoiceRef(ctx, inv.ID, "20261120-EE-0000000002-CD"),
		s.Retry(ctx, inv.ID, t0.Add(2*time.Minute), "429"),
		s.MarkSending(ctx, inv.ID, "20261120-SE-0000000003-EF"),
		s.MarkAccepted(ctx, inv.ID, outbox.Acceptance{KSeFNumber: "5265877635-20261120-0100A0B2C3D4-E5", AcquiredAt: t0.Add(3 * time.Minute), UPO: []byte("<UPO/>")}),
	}
	for i, err := range steps {
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	s.Close()

	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var got bytes.Buffer
	err = db.View(func(tx *bolt.Tx) error {
		return json.Indent(&got, tx.Bucket([]byte("invoices")).Get(binary.BigEndian.AppendUint64(nil, 1)), "", "  ")
	})
	if err != nil {
		t.Fatal(err)
	}
	got.WriteByte('\n')
	golden := filepath.Join("testdata", "record.golden.json")
	if *update {
		if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("stored record differs from %s:\n%s", golden, got.Bytes())
	}
}
