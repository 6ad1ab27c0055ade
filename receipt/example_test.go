package receipt_test

import (
	"bytes"
	"fmt"

	"github.com/posagent/posagent/escpos"
	"github.com/posagent/posagent/receipt"
)

func ExampleRender() {
	p, err := escpos.LookupProfile("generic-58")
	if err != nil {
		panic(err)
	}
	doc := receipt.Doc{
		SellerName: "Sklep Żabka",
		SellerNIP:  "1111111111",
		Title:      receipt.TitleSimplified,
		Number:     "FU/1",
		Date:       "2026-11-21",
		Lines:      []receipt.Line{{Name: "Woda", Qty: "1", Unit: "szt.", UnitPrice: "2,00", Value: "2,00", Rate: "23%"}},
		TotalGross: "2,00",
		Currency:   "PLN",
		KOD1:       "https://qr-test.ksef.mf.gov.pl/invoice/1111111111/21-11-2026/UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE",
		KOD1Label:  "OFFLINE",
	}
	out, err := receipt.Render(doc, p, receipt.QRAuto) // generic-58 has no native QR: raster
	if err != nil {
		panic(err)
	}
	page, err := escpos.Render(out, p)
	if err != nil {
		panic(err)
	}
	fmt.Printf("% x\n", out[:7])
	last := ""
	for _, l := range page.Lines {
		if l.Text != "" {
			last = l.Text
		}
	}
	fmt.Println(page.Lines[0].Text, "/", last)
	fmt.Println(len(page.Graphics), "QR code")
	// Output:
	// 1b 40 1c 2e 1b 74 12
	// Sklep Żabka / OFFLINE
	// 1 QR code
}

// An invoice issued in a total failure of KSeF carries no QR codes: the
// receipt says so where the codes would be.
func ExampleRender_noCodes() {
	p, err := escpos.LookupProfile("generic-80")
	if err != nil {
		panic(err)
	}
	doc := receipt.Doc{
		SellerName: "Sklep Żabka",
		SellerNIP:  "1111111111",
		Title:      receipt.TitleSimplified,
		Number:     "FU/2",
		Date:       "2026-11-21",
		ModeLine:   "Tryb: awaria całkowita KSeF",
		Lines:      []receipt.Line{{Name: "Woda", Qty: "1", Unit: "szt.", UnitPrice: "2,00", Value: "2,00", Rate: "23%"}},
		TotalGross: "2,00",
		Currency:   "PLN",
		NoCodes:    receipt.NoCodesTotalFailure,
	}
	out, err := receipt.Render(doc, p, receipt.QRAuto)
	if err != nil {
		panic(err)
	}
	page, err := escpos.Render(out, p)
	if err != nil {
		panic(err)
	}
	last := ""
	for _, l := range page.Lines {
		if l.Text != "" {
			last = l.Text
		}
	}
	fmt.Println(last)
	fmt.Println(len(page.Graphics), "QR codes")
	doc.NoCodes = ""
	fmt.Println(receipt.Render(doc, p, receipt.QRAuto))
	// Output:
	// Awaria całkowita KSeF - faktura bez kodów QR
	// 0 QR codes
	// [] receipt: KOD1: missing (set NoCodes for an invoice without QR codes)
}

// A print worker sends the head while the QR codes are still being encoded,
// then the tail.
func ExampleRenderParts() {
	p, err := escpos.LookupProfile("generic-58") // raster only
	if err != nil {
		panic(err)
	}
	doc := receipt.Doc{
		SellerName: "Sklep Żabka",
		SellerNIP:  "1111111111",
		Title:      receipt.TitleSimplified,
		Number:     "FU/3",
		Date:       "2026-11-21",
		Lines:      []receipt.Line{{Name: "Woda", Qty: "1", Unit: "szt.", UnitPrice: "2,00", Value: "2,00", Rate: "23%"}},
		TotalGross: "2,00",
		Currency:   "PLN",
		KOD1:       "https://qr-test.ksef.mf.gov.pl/invoice/1111111111/21-11-2026/UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE",
		KOD1Label:  "OFFLINE",
	}
	head, tail, err := receipt.RenderParts(doc, p, receipt.QRAuto)
	if err != nil {
		panic(err) // bad input or a code too large for the paper: nothing was started
	}
	var port bytes.Buffer // the printer
	port.Write(head)      // the printer starts on the text at once
	rest, err := tail()   // encodes the codes while the head is on its way
	if err != nil {
		panic(err)
	}
	port.Write(rest)

	whole, err := receipt.Render(doc, p, receipt.QRAuto)
	if err != nil {
		panic(err)
	}
	page, err := escpos.Render(head, p)
	if err != nil {
		panic(err)
	}
	fmt.Println("head:", page.Lines[len(page.Lines)-1].Text, "/", len(page.Graphics), "QR codes")
	fmt.Println("head+tail = Render:", bytes.Equal(port.Bytes(), whole))
	// Output:
	// head: DO ZAPŁATY              2,00 PLN / 0 QR codes
	// head+tail = Render: true
}
