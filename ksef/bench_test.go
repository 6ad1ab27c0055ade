package ksef_test

import (
	"testing"
)

func BenchmarkInvoiceXML100Lines(b *testing.B) {
	inv := loadInvoice(b, "testdata/lines-100.json")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := inv.XML(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkInvoiceXMLConsumer(b *testing.B) {
	inv := loadInvoice(b, "testdata/consumer.json")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := inv.XML(); err != nil {
			b.Fatal(err)
		}
	}
}
