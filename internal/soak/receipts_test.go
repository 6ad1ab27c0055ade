package soak_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/posagent/posagent/escpos"
	"github.com/posagent/posagent/internal/soak"
	"github.com/posagent/posagent/receipt"
)

// render returns the ESC/POS bytes of a receipt for number on 80 mm paper
// with native codes, as the paced soak prints them.
func render(t testing.TB, number, duplicate, repeat string) []byte {
	t.Helper()
	p, err := escpos.LookupProfile("generic-80")
	if err != nil {
		t.Fatal(err)
	}
	doc := receipt.Doc{
		SellerName: "Stacja Soak", SellerNIP: "5265877635", Title: receipt.TitleVAT, Number: number, Date: "2026-12-05",
		Lines:      []receipt.Line{{Name: "Benzyna Pb95", Qty: "10,25", Unit: "l", UnitPrice: "6,49", Value: "66,52", Rate: "23%"}},
		TotalGross: "66,52", Currency: "PLN",
		KOD1: "https://qr-test.ksef.mf.gov.pl/invoice/5265877635/05-12-2026/abc", KOD1Label: "OFFLINE",
		Duplicate: duplicate, Repeat: repeat,
	}
	b, err := receipt.Render(doc, p, receipt.QRNative)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// statusQuery is what the print worker asks before each job.
var statusQuery = []byte{0x10, 0x04, 0x01, 0x10, 0x04, 0x02, 0x10, 0x04, 0x04}

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestScanReceipts(t *testing.T) {
	a := render(t, "SOAK1/2026/000001", "", "")
	b := render(t, "SOAK1/2026/000002", "", "")
	bRepeat := render(t, "SOAK1/2026/000002", "", "2026-12-05 10:42:13")
	aDup := render(t, "SOAK1/2026/000001", "2026-12-05", "")
	// A kill cut b's first print short after its number; the resync of the
	// next run (NULs and ESC @) follows.
	cutAt := strings.Index(string(b), "DO ZAPŁATY")
	if cutAt < 0 {
		cutAt = len(b) / 2
	}
	stream := cat(statusQuery, a, statusQuery, b[:cutAt], make([]byte, 16), []byte{0x1B, '@'},
		statusQuery, bRepeat, statusQuery, aDup, []byte{0x1D, 0x72, 0x31})
	got := soak.ScanReceipts(stream)
	want := []soak.PrintedReceipt{
		{Number: "SOAK1/2026/000001", Complete: true},
		{Number: "SOAK1/2026/000002", Complete: false},
		{Number: "SOAK1/2026/000002", Repeat: true, Complete: true},
		{Number: "SOAK1/2026/000001", Duplicate: true, Complete: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ScanReceipts =\n%+v\nwant\n%+v", got, want)
	}
	// A mark that comes only after the number does not count: a receipt cut
	// short before it would show none.
	late := cat([]byte{0x1B, '@'}, []byte("Nr SOAK1/2026/000009\nDUPLIKAT\n"))
	if got := soak.ScanReceipts(late); len(got) != 1 || got[0].Marked() {
		t.Errorf("ScanReceipts(mark after the number) = %+v, want one unmarked", got)
	}
}

func TestCheckPrints(t *testing.T) {
	const n1, n2 = "SOAK1/2026/000001", "SOAK1/2026/000002"
	orig := func(n string, complete bool) soak.PrintedReceipt {
		return soak.PrintedReceipt{Number: n, Complete: complete}
	}
	tests := []struct {
		name     string
		receipts []soak.PrintedReceipt
		invoices []soak.PrintFacts
		want     string // in the error; "" for none
	}{
		{"printed once each", []soak.PrintedReceipt{orig(n1, true), orig(n2, true)},
			[]soak.PrintFacts{{Number: n1, Printed: true}, {Number: n2, Printed: true}}, ""},
		{"cut short, repeated marked", []soak.PrintedReceipt{orig(n1, false), {Number: n1, Repeat: true, Complete: true}},
			[]soak.PrintFacts{{Number: n1, Printed: true}}, ""},
		{"cut short, parked uncertain", []soak.PrintedReceipt{orig(n1, false)},
			[]soak.PrintFacts{{Number: n1, Uncertain: true}}, ""},
		{"never printed, uncertain", nil, []soak.PrintFacts{{Number: n1, Uncertain: true}}, ""},
		{"uncertain then DUPLIKAT", []soak.PrintedReceipt{orig(n1, true), {Number: n1, Duplicate: true, Complete: true}},
			[]soak.PrintFacts{{Number: n1, Printed: true}}, ""},
		{"second unmarked original", []soak.PrintedReceipt{orig(n1, true), orig(n1, true)},
			[]soak.PrintFacts{{Number: n1, Printed: true}}, "second unmarked original"},
		{"second unmarked, cut short", []soak.PrintedReceipt{orig(n1, true), orig(n1, false)},
			[]soak.PrintFacts{{Number: n1, Printed: true}}, "second unmarked original"},
		{"lost", []soak.PrintedReceipt{orig(n1, false)}, []soak.PrintFacts{{Number: n1}}, "not listed uncertain"},
		{"printed mark without paper", nil, []soak.PrintFacts{{Number: n1, Printed: true}}, "not listed uncertain"},
		{"printed mark, uncertain, no paper", nil, []soak.PrintFacts{{Number: n1, Printed: true, Uncertain: true}}, "the store says printed"},
		{"stray receipt", []soak.PrintedReceipt{orig(n1, true), orig(n2, true)},
			[]soak.PrintFacts{{Number: n1, Printed: true}}, "no such invoice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := soak.CheckPrints(tt.receipts, tt.invoices)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("CheckPrints = %v, want nil", err)
			case tt.want != "" && (!errors.Is(err, soak.ErrInvariant) || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("CheckPrints = %v, want ErrInvariant with %q", err, tt.want)
			}
		})
	}
}

func FuzzScanReceipts(f *testing.F) {
	f.Add(cat(statusQuery, render(f, "SOAK1/2026/000001", "", "2026-12-05 10:42:13")))
	f.Add([]byte("\x1b@Nr \x1b@Nr X\x1dV"))
	f.Fuzz(func(t *testing.T, stream []byte) {
		got := soak.ScanReceipts(stream)
		if len(got) > strings.Count(string(stream), "\x1b@")+1 {
			t.Fatalf("%d receipts from %d ESC @", len(got), strings.Count(string(stream), "\x1b@"))
		}
		for _, r := range got {
			if r.Number == "" || strings.ContainsAny(r.Number, " \n\x00") || !strings.Contains(string(stream), "Nr "+r.Number) {
				t.Fatalf("receipt number %q not as printed", r.Number)
			}
		}
	})
}
