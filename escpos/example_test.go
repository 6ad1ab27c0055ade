package escpos_test

import (
	"bytes"
	"fmt"

	"github.com/posagent/posagent/escpos"
)

func ExampleWriter() {
	p, err := escpos.LookupProfile("tm-t88v")
	if err != nil {
		panic(err)
	}
	var buf bytes.Buffer
	w := escpos.NewWriter(&buf, p)
	w.Init()
	w.Bold(true)
	w.Line("Zażółć €1")
	w.Cut()
	if err := w.Err(); err != nil {
		panic(err)
	}
	fmt.Printf("% x\n", buf.Bytes())
	// Output:
	// 1b 40 1c 2e 1b 74 12 1b 45 01 5a 61 be a2 88 86 20 45 55 52 31 0a 1d 56 42 03
}

func ExampleFitQR() {
	link := "https://qr-test.ksef.mf.gov.pl/invoice/1111111111/01-02-2026/UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE"
	f, err := escpos.FitQR(link, 384, escpos.QROptions{EC: escpos.ECMedium})
	if err != nil {
		panic(err)
	}
	fmt.Printf("version %d, %d modules, %d dots per module, %d dots wide\n", f.Version, f.Modules, f.ModuleSize, f.Width)
	// Output:
	// version 6, 41 modules, 7 dots per module, 343 dots wide
}

// A raster QR encoded beforehand, e.g. on another goroutine while the text of
// the receipt is laid out, prints like QRRaster.
func ExampleWriter_QRRasterCode() {
	p, err := escpos.LookupProfile("generic-58")
	if err != nil {
		panic(err)
	}
	link := "https://qr-test.ksef.mf.gov.pl/invoice/1111111111/01-02-2026/UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE"
	code, err := escpos.EncodeQR(link, escpos.ECMedium)
	if err != nil {
		panic(err)
	}
	var buf bytes.Buffer
	f, err := escpos.NewWriter(&buf, p).QRRasterCode(code, escpos.QROptions{Scale2x: true})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d modules, %d dots per module, scaled %v, %d bytes\n", code.Modules(), f.ModuleSize, f.Scaled, buf.Len())
	// Output:
	// 41 modules, 4 dots per module, scaled true, 918 bytes
}

func ExampleRender() {
	p, err := escpos.LookupProfile("generic-58")
	if err != nil {
		panic(err)
	}
	page, err := escpos.Render([]byte("\x1b@\x1bt\x12Ko\xa9ko\n\x1dV\x01"), p)
	if err != nil {
		panic(err)
	}
	fmt.Println(page.Lines[0].Text, page.Cuts, page.Image.Bounds().Dx())
	// Output:
	// Koęko 1 384
}
