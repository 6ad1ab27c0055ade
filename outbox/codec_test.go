package outbox

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/posagent/posagent/internal/testutil"
)

func official(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(testutil.Official(name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBlobRoundTrip(t *testing.T) {
	fa3 := official(t, "ksef/samples/invoice-template-fa-3.xml")
	upo := official(t, "ksef/upo/upo-faktura-kontekst-id-nip.xml")
	tests := []struct {
		name      string
		in        []byte
		wantCodec byte
	}{
		{"FA(3) sample", fa3, codecFlate},
		{"UPO sample", upo, codecFlate},
		{"one byte", []byte("<"), codecRaw},
		{"empty", []byte{}, codecRaw},
		{"incompressible", incompressible(4096), codecRaw},
		{"long run", bytes.Repeat([]byte("ą"), 100_000), codecFlate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc := encodeBlob(tt.in)
			if enc[0] != tt.wantCodec {
				t.Errorf("codec = %d, want %d", enc[0], tt.wantCodec)
			}
			if tt.wantCodec == codecFlate && len(enc) >= len(tt.in) {
				t.Errorf("compressed to %d bytes from %d", len(enc), len(tt.in))
			}
			got, err := decodeBlob(enc)
			if err != nil || !bytes.Equal(got, tt.in) {
				t.Fatalf("decodeBlob(encodeBlob(x)) = %d bytes, %v; want the %d bytes given", len(got), err, len(tt.in))
			}
		})
	}
	t.Logf("FA(3) sample %d -> %d bytes, UPO %d -> %d bytes", len(fa3), len(encodeBlob(fa3)), len(upo), len(encodeBlob(upo)))
}

func incompressible(n int) []byte {
	b := make([]byte, n)
	rng := rand.New(rand.NewChaCha8([32]byte{1}))
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func TestDecodeBlobErrors(t *testing.T) {
	good := encodeBlob(bytes.Repeat([]byte("faktura "), 64))
	flip := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 0x01
		return b
	}
	huge := append([]byte{codecFlate}, binary.AppendUvarint(nil, maxBlob+1)...)
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty value", []byte{}, "no codec byte"},
		{"unknown codec", []byte{7, 1, 2}, "unknown codec 0x07"},
		{"legacy bare XML", []byte("<Faktura/>"), "unknown codec 0x3c"},
		{"length beyond the limit", append(huge, 0, 0, 0, 0), "bad length header"},
		{"truncated", good[:3], ""},
		{"CRC damaged", flip(len(good) - 1), "CRC-32 mismatch"},
		{"length too short", append([]byte{codecFlate, 10}, good[3:]...), "longer than"},
		{"length too long", append([]byte{codecFlate, 0xff, 0x7f}, good[3:]...), "bytes expected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeBlob(tt.in)
			if !errors.Is(err, errBlob) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("decodeBlob = %d bytes, %v; want errBlob mentioning %q", len(got), err, tt.want)
			}
		})
	}
}

func FuzzDecodeBlob(f *testing.F) {
	f.Add(encodeBlob([]byte("<Faktura><P_2>T1/1</P_2></Faktura>")))
	f.Add(encodeBlob(bytes.Repeat([]byte("x"), 5000)))
	f.Add([]byte{codecRaw, 'a'})
	f.Add([]byte{codecFlate, 0xff, 0xff, 0xff, 0x1f})
	f.Fuzz(func(t *testing.T, v []byte) {
		got, err := decodeBlob(v)
		if err != nil {
			if !errors.Is(err, errBlob) {
				t.Fatalf("error %v is not errBlob", err)
			}
			return
		}
		if len(got) > maxBlob {
			t.Fatalf("decoded %d bytes, limit %d", len(got), maxBlob)
		}
		back, err := decodeBlob(encodeBlob(got))
		if err != nil || !bytes.Equal(back, got) {
			t.Fatalf("re-encoding %d bytes does not round-trip: %v", len(got), err)
		}
	})
}

// TestMigrateVersion1 opens a file as version 1 left it (XML, snapshot and
// UPO stored bare) and checks that it is re-encoded in place and reads the
// same bytes.
func TestMigrateVersion1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "outbox.db")
	s, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	fa3 := official(t, "ksef/samples/invoice-template-fa-3.xml")
	upo := official(t, "ksef/upo/upo-faktura-kontekst-id-nip.xml")
	series := Series{Terminal: "T1", Format: "{terminal}/{seq:06}", Reset: ResetNever}
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	var ids []string
	for i := range 3 {
		inv, _, err := s.Issue(ctx, IssueRequest{SaleID: "s" + strconv.Itoa(i), Series: series, Now: at, Build: func(string) (*Built, error) {
			return &Built{XML: fa3, Doc: []byte(`{"lines":[]}`), Mode: "offline24", Kind: "VAT", P1: "2026-11-20"}, nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, inv.ID)
	}
	if err := s.MarkSending(ctx, ids[0], "SES"); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkAccepted(ctx, ids[0], Acceptance{KSeFNumber: "K1", UPO: upo}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	// Turn the file into what version 1 wrote.
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bXML, bDoc, bUPO} {
			b := tx.Bucket(name)
			var keys [][]byte
			_ = b.ForEach(func(k, _ []byte) error { keys = append(keys, bytes.Clone(k)); return nil })
			for _, k := range keys {
				bare, err := decodeBlob(b.Get(k))
				if err != nil {
					return err
				}
				if err := b.Put(k, bare); err != nil {
					return err
				}
			}
		}
		return tx.Bucket(bMeta).Put(kSchema, u64(1))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	s, err = Open(path, nil)
	if err != nil {
		t.Fatalf("Open(version 1 file) = %v", err)
	}
	defer s.Close()
	for i, id := range ids {
		inv, err := s.Get(ctx, id)
		if err != nil {
			t.Fatalf("Get(%s) after migration = %v", id, err)
		}
		if !bytes.Equal(inv.XML, fa3) || string(inv.Doc) != `{"lines":[]}` || (i == 0) != bytes.Equal(inv.UPO, upo) {
			t.Errorf("Get(%s) after migration: XML %d bytes, Doc %q, UPO %d bytes; want the bytes stored", id, len(inv.XML), inv.Doc, len(inv.UPO))
		}
	}
	if err := s.Check(ctx); err != nil {
		t.Errorf("Check() after migration = %v", err)
	}
	err = s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bMeta).Get(kSchema); binary.BigEndian.Uint64(v) != SchemaVersion {
			t.Errorf("schema after migration = %x, want %d", v, SchemaVersion)
		}
		if v := tx.Bucket(bXML).Get(u64(1)); v[0] != codecFlate {
			t.Errorf("migrated XML starts with 0x%02x, want the flate codec", v[0])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func BenchmarkEncodeBlob(b *testing.B) {
	fa3 := official(b, "ksef/samples/invoice-template-fa-3.xml")
	b.SetBytes(int64(len(fa3)))
	b.ReportAllocs()
	var n int
	for b.Loop() {
		n = len(encodeBlob(fa3))
	}
	b.ReportMetric(float64(n), "bytes-at-rest")
}

func BenchmarkDecodeBlob(b *testing.B) {
	fa3 := official(b, "ksef/samples/invoice-template-fa-3.xml")
	enc := encodeBlob(fa3)
	b.SetBytes(int64(len(fa3)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeBlob(enc); err != nil {
			b.Fatal(err)
		}
	}
}
