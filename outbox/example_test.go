package outbox_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/posagent/posagent/outbox"
)

func ExampleSeries_Render() {
	s := outbox.Series{Terminal: "KASA1", Format: "FV/{terminal}/{yyyy}/{mm}/{seq:05}", Reset: outbox.ResetMonthly}
	at := time.Date(2026, 12, 31, 23, 30, 0, 0, time.UTC) // already 2027-01-01 in Warsaw
	n, _ := s.Render(at, 42)
	fmt.Println(n, s.Period(at))
	// Output: FV/KASA1/2027/01/00042 2027-01
}

func ExampleStore_Issue() {
	dir, _ := os.MkdirTemp("", "outbox-example")
	defer os.RemoveAll(dir)
	s, err := outbox.Open(filepath.Join(dir, "outbox.db"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	body := []byte(`{"lines":[{"name":"Paliwo","gross":"123.00"}]}`)
	req := outbox.IssueRequest{
		SaleID:      "till-7/000123",
		Fingerprint: sha256.Sum256(body),
		Series:      outbox.Series{Terminal: "T1", Format: "{terminal}/{yyyy}/{seq:04}", Reset: outbox.ResetYearly},
		Now:         time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC),
		Build: func(number string) (*outbox.Built, error) {
			return &outbox.Built{XML: []byte("<Faktura><P_2>" + number + "</P_2></Faktura>"), Mode: "offline24", Kind: "VAT", P1: "2026-11-20", Gross: 12300, VAT: 2300}, nil
		},
	}
	inv, _, err := s.Issue(context.Background(), req)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(inv.ID, inv.Number, inv.Upload, inv.Print)

	again, replayed, _ := s.Issue(context.Background(), req)
	fmt.Println(again.Number, replayed)
	// Output:
	// 0000000001 T1/2026/0001 queued pending
	// T1/2026/0001 true
}

func ExampleStore_Retry() {
	dir, _ := os.MkdirTemp("", "outbox-example")
	defer os.RemoveAll(dir)
	s, _ := outbox.Open(filepath.Join(dir, "outbox.db"), nil)
	defer s.Close()
	ctx := context.Background()
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	inv, _, _ := s.Issue(ctx, outbox.IssueRequest{
		SaleID: "s1", Series: outbox.Series{Terminal: "T1", Format: "{seq}"}, Now: now,
		Build: func(n string) (*outbox.Built, error) {
			return &outbox.Built{XML: []byte("<F>" + n + "</F>"), Mode: "offline24", Kind: "VAT"}, nil
		},
	})
	_ = s.MarkSending(ctx, inv.ID, "20261120-SE-0000000001-AB")
	_ = s.Retry(ctx, inv.ID, now.Add(30*time.Second), "429") // KSeF said Retry-After: 30

	due, _ := s.DueUploads(ctx, now, 10)
	later, _ := s.DueUploads(ctx, now.Add(30*time.Second), 10)
	fmt.Println(len(due), len(later), later[0].Attempts)
	// Output: 0 1 1
}

func ExampleStore_Room() {
	dir, _ := os.MkdirTemp("", "outbox")
	defer os.RemoveAll(dir)
	s, err := outbox.Open(filepath.Join(dir, "outbox.db"), &outbox.Options{MaxSize: 1 << 20})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	room, _ := s.Room()
	fmt.Println("capacity:", room.Capacity, "pending:", room.Pending, "near full:", room.NearFull())
	// Output: capacity: 1048576 pending: 0 near full: false
}

func ExampleRoomOfFile() {
	// doctor, while the running service holds the store, knows only the
	// file's size: a 15 MiB file under a 16 MiB cap leaves no room for sales.
	room, err := outbox.RoomOfFile(15<<20, &outbox.Options{MaxSize: 16 << 20})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("full:", room.Full(), "fits 4 KiB:", room.Fits(4<<10))
	// Output: full: true fits 4 KiB: false
}

func ExampleStore_ReleaseMapped() {
	dir, _ := os.MkdirTemp("", "outbox")
	defer os.RemoveAll(dir)
	s, err := outbox.Open(filepath.Join(dir, "outbox.db"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	// After a large read, e.g. a batch built from the whole backlog, the
	// mapped pages leave the resident set; the next read refaults them.
	if err := s.ReleaseMapped(); err != nil {
		fmt.Println(err)
		return
	}
	_, err = s.Get(context.Background(), "0000000001")
	fmt.Println(err)
	// Output: outbox: not found: invoice 0000000001
}
