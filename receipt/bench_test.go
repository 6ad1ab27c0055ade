package receipt_test

import (
	"strings"
	"testing"

	"github.com/posagent/posagent/escpos"
	"github.com/posagent/posagent/receipt"
)

// wireFloor is the least a receipt with two native codes can cost, as
// bench.TestWireBytes defines it: the printed lines at one byte per character
// plus LF, and 41 bytes of GS ( k framing plus the link per code.
func wireFloor(t testing.TB, doc receipt.Doc, p escpos.Profile, data []byte) int {
	t.Helper()
	page, err := escpos.Render(data, p)
	if err != nil {
		t.Fatal(err)
	}
	floor := 2*41 + len(doc.KOD1) + len(doc.KOD2)
	for _, l := range page.Lines {
		floor += len([]rune(strings.TrimRight(l.Text, " "))) + 1
	}
	return floor
}

// BenchmarkReceiptBytes reports the bytes per receipt in each mode, and the ratio to
// the floor of the same receipt printed natively.
func BenchmarkReceiptBytes(b *testing.B) {
	doc := loadDoc(b, "offline-rsa")
	for _, bc := range []struct {
		name, profile string
		mode          receipt.QRMode
	}{
		{"58mm-native", "generic-58", receipt.QRNative},
		{"58mm-raster", "generic-58", receipt.QRRaster},
		{"80mm-native", "generic-80", receipt.QRNative},
		{"80mm-raster", "generic-80", receipt.QRRaster},
	} {
		b.Run(bc.name, func(b *testing.B) {
			p := profile(b, bc.profile, true)
			nat, err := receipt.Render(doc, p, receipt.QRNative)
			if err != nil {
				b.Fatal(err)
			}
			floor := wireFloor(b, doc, p, nat)
			var n int
			for b.Loop() {
				out, err := receipt.Render(doc, p, bc.mode)
				if err != nil {
					b.Fatal(err)
				}
				n = len(out)
			}
			b.ReportMetric(float64(n), "bytes/receipt")
			b.ReportMetric(float64(n)/float64(floor), "x-floor")
		})
	}
}

// BenchmarkFirstBytes compares the time until the first byte can go to the
// printer: RenderParts' head against a whole Render, in raster mode where
// the QR encodes dominate. Each RenderParts iteration still calls tail, after
// the timer is stopped, so no encode outlives its iteration.
func BenchmarkFirstBytes(b *testing.B) {
	doc := loadDoc(b, "offline-rsa")
	p := profile(b, "generic-58", false)
	b.Run("head", func(b *testing.B) {
		for b.Loop() {
			_, tail, err := receipt.RenderParts(doc, p, receipt.QRRaster)
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if _, err := tail(); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	})
	b.Run("render", func(b *testing.B) {
		for b.Loop() {
			if _, err := receipt.Render(doc, p, receipt.QRRaster); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestWireBudgets holds the byte budgets of DESIGN.md §6 for the golden
// receipts, the way bench.TestWireBytes measures them: a native offline
// receipt (two codes) within 2 % of its floor, text + 2×(41 + URL), where
// text is the printed lines at one byte per character plus LF; and a raster
// receipt on 58 mm paper sent in at most 8 s at 9600 baud 8N1 (7680 bytes).
// A receipt with one code or none has a smaller floor but the same few dozen
// bytes of styling, so the 2 % does not apply to it.
func TestWireBudgets(t *testing.T) {
	for _, tc := range cases {
		p := profile(t, tc.profile, tc.native)
		doc := loadDoc(t, tc.doc)
		native := tc.mode == receipt.QRNative || (tc.mode == receipt.QRAuto && p.NativeQR)
		if native && doc.KOD2 == "" || !native && p.DotsPerLine != 384 {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			data, err := receipt.Render(doc, p, tc.mode)
			if err != nil {
				t.Fatal(err)
			}
			if !native {
				if ms := len(data) * 10 * 1000 / 9600; ms > 8000 {
					t.Errorf("%d bytes take %d ms at 9600 baud, budget 8000 ms", len(data), ms)
				}
				return
			}
			floor := wireFloor(t, doc, p, data)
			if over := len(data) - floor; over*100 > 2*floor {
				t.Errorf("%d bytes, floor %d: %+.1f %%, budget 2 %%", len(data), floor, 100*float64(over)/float64(floor))
			}
		})
	}
}

// BenchmarkConfirmation reports the bytes of a transaction confirmation,
// which a B2B buyer gets instead of the offline invoice: all text, no codes.
func BenchmarkConfirmation(b *testing.B) {
	c := loadConfirmation(b, "confirmation")
	for _, id := range []string{"generic-58", "generic-80"} {
		b.Run(id, func(b *testing.B) {
			p := profile(b, id, false)
			var n int
			for b.Loop() {
				out, err := receipt.RenderConfirmation(c, p)
				if err != nil {
					b.Fatal(err)
				}
				n = len(out)
			}
			b.ReportMetric(float64(n), "bytes/receipt")
		})
	}
}
