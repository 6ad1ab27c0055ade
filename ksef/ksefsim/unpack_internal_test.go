package ksefsim

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"testing"
	"time"
)

func zipOf(t *testing.T, files ...string) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for i, f := range files {
		w, err := zw.Create(string(rune('a'+i)) + ".xml")
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(f))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func tarGzOf(t *testing.T, files ...string) []byte {
	var b bytes.Buffer
	gz := gzip.NewWriter(&b)
	tw := tar.NewWriter(gz)
	for i, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: string(rune('a'+i)) + ".xml", Mode: 0o644, Size: int64(len(f)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(f))
	}
	tw.Close()
	gz.Close()
	return b.Bytes()
}

func TestUnpack(t *testing.T) {
	tests := []struct {
		name    string
		data    []byte
		kind    string
		limit   int
		want    int
		wantErr error
	}{
		{"Zip", zipOf(t, "<a/>", "<b/>"), "Zip", 10, 2, nil},
		{"TarGz", tarGzOf(t, "<a/>", "<b/>", "<c/>"), "TarGz", 10, 3, nil},
		{"ZipOverLimit", zipOf(t, "<a/>", "<b/>", "<c/>"), "Zip", 2, 0, errTooManyFiles},
		{"Garbage", []byte("not an archive"), "Zip", 10, 0, errors.New("any")},
		{"GarbageTarGz", []byte("not an archive"), "TarGz", 10, 0, errors.New("any")},
		{"Empty", zipOf(t), "Zip", 10, 0, errors.New("any")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := unpack(tt.data, tt.kind, tt.limit)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("unpack: %v", err)
			case tt.wantErr != nil && err == nil:
				t.Fatalf("unpack succeeded, want an error")
			case tt.wantErr == errTooManyFiles && !errors.Is(err, errTooManyFiles):
				t.Fatalf("err = %v, want errTooManyFiles", err)
			}
			if len(got) != tt.want {
				t.Fatalf("unpack gave %d files, want %d", len(got), tt.want)
			}
		})
	}
}

func TestCheckInvoice(t *testing.T) {
	at := time.Date(2026, 3, 9, 23, 30, 0, 0, time.UTC) // 10 March in Warsaw
	tests := []struct {
		name    string
		facts   InvoiceFacts
		wantErr bool
	}{
		{"SameDay", InvoiceFacts{SellerNIP: "5265877635", IssueDate: "2026-03-10"}, false},
		{"Earlier", InvoiceFacts{SellerNIP: "5265877635", IssueDate: "2026-03-01"}, false},
		{"Future", InvoiceFacts{SellerNIP: "5265877635", IssueDate: "2026-03-11"}, true},
		{"OtherSeller", InvoiceFacts{SellerNIP: "1111111111", IssueDate: "2026-03-10"}, true},
		{"BadDate", InvoiceFacts{SellerNIP: "5265877635", IssueDate: "10.03.2026"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckInvoice(&tt.facts, "5265877635", at)
			if got := err != nil; got != tt.wantErr {
				t.Fatalf("CheckInvoice = %v, want error %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrInvoiceSemantic) {
				t.Fatalf("err = %v, want ErrInvoiceSemantic", err)
			}
		})
	}
}
