package agent

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/outbox"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestReceiptDocGolden pins how stored invoices map onto receipts.
func TestReceiptDocGolden(t *testing.T) {
	at := time.Date(2026, 11, 20, 12, 0, 0, 0, ksef.Warsaw)
	seller := ksef.Seller{NIP: "5265877635", Name: "Stacja Paliw „Żuraw” Sp. z o.o.",
		Address: ksef.Address{Country: "PL", Line1: "ul. Źródlana 7/3", Line2: "90-001 Łódź"}}
	ln := func(name, q, p, r string) ksef.Line {
		return ksef.Line{Name: name, Unit: "szt.", Quantity: ksef.MustParseQuantity(q), UnitPrice: ksef.MustParseAmount(p), VATRate: ksef.Rate(r)}
	}
	consumer := ksef.Sale{Buyer: ksef.Buyer{Kind: ksef.BuyerConsumer}, IssueDate: ksef.DateOf(at), Place: "Łódź",
		Lines:   []ksef.Line{ln("Kawa czarna", "2", "12.30", "23"), ln("Drożdżówka", "1", "4.99", "5")},
		Payment: &ksef.Payment{Form: ksef.PayCard, Paid: true}}
	b2b := ksef.Sale{Buyer: ksef.Buyer{Kind: ksef.BuyerNIP, NIP: "7740001454", Name: "Firma Łęczyca S.A.",
		Address: &ksef.Address{Country: "PL", Line1: "ul. Długa 5", Line2: "09-400 Płock"}}, IssueDate: ksef.DateOf(at),
		Lines:   []ksef.Line{{Name: "Olej napędowy ON", Unit: "l", Quantity: ksef.MustParseQuantity("40.5"), UnitPrice: ksef.MustParseAmount("6.49"), VATRate: ksef.Rate23}},
		Payment: &ksef.Payment{Form: ksef.PayTransfer, Date: ksef.DateOf(at).AddDays(14)}}
	eu := ksef.Sale{Buyer: ksef.Buyer{Kind: ksef.BuyerEU, EUCode: "DE", EUVAT: "123456789", Name: "Müller GmbH"}, IssueDate: ksef.DateOf(at),
		Lines: []ksef.Line{ln("Myjnia", "1", "49.00", "0 WDT")}}
	kor := consumer
	kor.Lines = []ksef.Line{ln("Kawa czarna", "2", "11.00", "23")}
	kor.Payment = nil
	tests := []struct {
		name     string
		inv      ksef.Invoice
		mode     string
		accepted bool
		dup      bool
	}{
		{"offline-consumer", ksef.Invoice{Seller: seller, Number: "FV/T1/2026/000001", GeneratedAt: at, Sale: consumer}, "offline24", false, false},
		{"accepted-b2b-duplicate", ksef.Invoice{Seller: seller, Number: "FV/T1/2026/000002", GeneratedAt: at, Sale: b2b}, "offline24", true, true},
		{"emergency-eu", ksef.Invoice{Seller: seller, Number: "FV/T1/2026/000003", GeneratedAt: at, Sale: eu}, "emergency", false, false},
		{"correction-before-after", ksef.Invoice{Seller: seller, Number: "FK/T1/2026/000004", Kind: ksef.KindKOR, GeneratedAt: at, Sale: kor,
			Correction: &ksef.Correction{Reason: "rabat", Type: 2, OriginalNumber: "FV/T1/2026/000001", OriginalDate: ksef.DateOf(at), Before: consumer.Lines}}, "offline24", false, false},
		{"total-failure-consumer", ksef.Invoice{Seller: seller, Number: "FV/T1/2026/000005", GeneratedAt: at, Sale: consumer}, "total_failure", false, false},
		{"total-failure-accepted-duplicate", ksef.Invoice{Seller: seller, Number: "FV/T1/2026/000006", GeneratedAt: at, Sale: consumer}, "total_failure", true, true},
	}
	a := &Agent{opts: Options{Now: func() time.Time { return at }, Footer: []string{"Dziękujemy!"}}, inflight: map[string]bool{}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			xml, err := tt.inv.XML()
			if err != nil {
				t.Fatal(err)
			}
			h := ksef.InvoiceHash(xml)
			rec := &outbox.Invoice{ID: "0000000001", Number: tt.inv.Number, Mode: tt.mode, P1: tt.inv.Sale.IssueDate.String(),
				KOD1: ksef.KOD1(ksef.EnvTest, seller.NIP, tt.inv.Sale.IssueDate, h), KOD2: "https://qr-test.ksef.mf.gov.pl/certificate/…",
				Upload: outbox.UploadQueued, Deadline: ksef.DateOf(at).AddDays(3).End()}
			if tt.mode == "total_failure" {
				rec.KOD2, rec.Deadline = "", time.Time{} // no KOD II, no upload deadline
			}
			if tt.accepted {
				rec.Upload, rec.KSeFNumber = outbox.UploadAccepted, ksef.NewKSeFNumber(seller.NIP, at, [6]byte{1, 2, 3})
			}
			job := &outbox.PrintJob{Duplicate: tt.dup, RequestedAt: at.Add(48 * time.Hour)}
			doc, err := a.receiptDoc(rec, &snapshot{V: 1, Invoice: tt.inv}, job)
			if err != nil {
				t.Fatal(err)
			}
			if err := doc.Validate(); err != nil {
				t.Fatalf("receipt.Doc does not validate: %v", err)
			}
			goldenJSON(t, "receipt-"+tt.name, doc)
		})
	}
}

// goldenJSON compares v, as indented JSON, with testdata/name.json, or
// rewrites the file with -update.
func goldenJSON(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", name+".json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s (run with -update after review):\ngot:\n%s", name, path, got)
	}
}
