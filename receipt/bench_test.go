package receipt_test

import (
	"bytes"
	"testing"

	"github.com/posagent/posagent/receipt"
)

// qrCommandBytes sums the GS ( k commands in a native stream.
func qrCommandBytes(b []byte) int {
	n := 0
	for i := 0; i+5 <= len(b); {
		j := bytes.Index(b[i:], []byte{0x1d, '(', 'k'})
		if j < 0 {
			break
		}
		i += j
		k := 5 + int(b[i+3]) | int(b[i+4])<<8
		n += k
		i += k
	}
	return n
}

// BenchmarkReceiptBytes reports the bytes per receipt in each mode, and the ratio to
// the floor: the text bytes plus 2×(41 + URL), the cost of two native QR codes.
func BenchmarkReceiptBytes(b *testing.B) {
	doc := loadDoc(b, "offline-rsa")
	floor := func(id string) int {
		nat, err := receipt.Render(doc, profile(b, id, true), receipt.QRNative)
		if err != nil {
			b.Fatal(err)
		}
		return len(nat) - qrCommandBytes(nat) + 41 + len(doc.KOD1) + 41 + len(doc.KOD2)
	}
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
			min := floor(bc.profile)
			var n int
			for b.Loop() {
				out, err := receipt.Render(doc, p, bc.mode)
				if err != nil {
					b.Fatal(err)
				}
				n = len(out)
			}
			b.ReportMetric(float64(n), "bytes/receipt")
			b.ReportMetric(float64(n)/float64(min), "x-floor")
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
