package escpos

import (
	"fmt"
	"io"
)

// PolishSample holds every Polish letter, for code page tests.
const PolishSample = "ąćęłńóśźż ĄĆĘŁŃÓŚŹŻ"

// SelfTest writes a page a technician uses to choose settings: the profile's facts,
// the Polish letters under each code page candidate (the one that prints them
// correctly is the one to configure), a native QR and a raster QR of qrData (if the
// native one is missing or prints as text, the printer needs raster mode), then a
// cut. The raster QR follows the fit check; the native one is sent even on profiles
// that claim no support, since that is what is being tested.
func SelfTest(out io.Writer, p Profile, qrData string) error {
	w := NewWriter(out, p)
	w.Init()
	w.Align(AlignCenter)
	w.Bold(true)
	w.Line("TEST DRUKARKI / PRINTER TEST")
	w.Bold(false)
	w.Line(fmt.Sprintf("%s (%s)", p.Name, p.ID))
	w.Line(fmt.Sprintf("%d dots, %d columns", p.DotsPerLine, p.Columns))
	w.Align(AlignLeft)
	w.Line("")
	pages := p.CodePages
	if len(pages) == 0 {
		pages = []CodePage{{p.CodePage, p.Charset}}
	}
	for _, cp := range pages {
		w.SetCodePage(cp)
		w.Line(fmt.Sprintf("ESC t %d %s:", cp.N, cp.Charset))
		w.Line(PolishSample)
	}
	w.SetCodePage(CodePage{p.CodePage, p.Charset})
	w.Line("")
	w.Line("QR native (GS ( k):")
	if _, err := w.QRNative(qrData, QROptions{}); err != nil {
		return fmt.Errorf("escpos: self-test native QR: %w", err)
	}
	w.Line("QR raster (GS v 0):")
	if _, err := w.QRRaster(qrData, QROptions{Scale2x: true}); err != nil {
		return fmt.Errorf("escpos: self-test raster QR: %w", err)
	}
	w.Cut()
	return w.Err()
}
