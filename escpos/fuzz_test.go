package escpos_test

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"

	"github.com/posagent/posagent/escpos"
	"github.com/posagent/posagent/escpos/escpostest"
)

// FuzzRender feeds arbitrary streams to the interpreter: it must never panic, must
// return a page, and the page must stay within the profile's width and the height cap.
func FuzzRender(f *testing.F) {
	p, err := escpos.LookupProfile("generic-58")
	if err != nil {
		f.Fatal(err)
	}
	var buf bytes.Buffer
	w := escpos.NewWriter(&buf, p)
	w.Init()
	w.Bold(true)
	w.Size(2, 2)
	w.Line("Zażółć gęślą jaźń")
	if _, err := w.QRRaster("https://example.com/a", escpos.QROptions{Scale2x: true}); err != nil {
		f.Fatal(err)
	}
	p.NativeQR = true
	if _, err := w.QRNative(escpostest.KOD1(), escpos.QROptions{}); err != nil {
		f.Fatal(err)
	}
	w.Cut()
	f.Add(buf.Bytes())
	f.Add([]byte("\x1d(k\xff\xff"))
	f.Add([]byte("\x1dv0\x03\xff\xff\xff\xff"))
	f.Add([]byte("\x1b&\x03\x20\x7e\x0c"))
	f.Add([]byte("\x1dk\x49\x05abcde\x1dk\x02123\x00"))
	f.Add([]byte("\x10\x14\x08\x01\x03\x14\x01\x06\x02\x08"))
	f.Fuzz(func(t *testing.T, data []byte) {
		page, _ := escpos.Render(data, p)
		if page == nil || page.Image == nil {
			t.Fatal("nil page")
		}
		b := page.Image.Bounds()
		if b.Dx() != p.DotsPerLine || b.Dy() > escpos.MaxRenderHeight {
			t.Fatalf("image %v out of limits", b)
		}
		for _, g := range page.Graphics {
			if !g.Bounds.In(b) {
				t.Fatalf("graphic %v outside image %v", g.Bounds, b)
			}
		}
	})
}

// FuzzPrintable checks that text never yields '?' or control bytes and that
// Printable is idempotent, for each charset. A '?' is fine where the input
// itself has one after compatibility decomposition (⁉ is "!?").
func FuzzPrintable(f *testing.F) {
	f.Add("Zażółć gęślą jaźń „cytat” – 10 €")
	f.Add("\x1b@\x00日本\u00a0")
	f.Add("⁉ ？")
	f.Fuzz(func(t *testing.T, s string) {
		hasQ := strings.ContainsRune(norm.NFKD.String(s), '?')
		for _, cs := range []escpos.Charset{escpos.CharsetCP852, escpos.CharsetWPC1250, escpos.CharsetISO88592, escpos.CharsetCP437} {
			got := cs.Printable(s)
			if again := cs.Printable(got); again != got {
				t.Fatalf("%s: not idempotent: %q → %q", cs, got, again)
			}
			for _, r := range got {
				if r == '?' && !hasQ {
					t.Fatalf("%s: '?' appeared in %q", cs, got)
				}
				if r < 0x20 && r != '\n' {
					t.Fatalf("%s: control %U in %q", cs, r, got)
				}
			}
		}
	})
}

// FuzzWrap checks the column helpers: no line exceeds the width and no
// non-space character is lost or invented.
func FuzzWrap(f *testing.F) {
	f.Add("Kawa ziarnista Świeżo Palona Łagodna 1 kg", "89,99 23%", 16)
	f.Add("1111111111-20261121-0100A0B0C0D0-4F", "", 32)
	f.Add("a\n\nb", "x", 1)
	f.Fuzz(func(t *testing.T, left, right string, width int) {
		if width < 1 || width > 200 {
			return
		}
		left = escpos.CharsetCP852.Printable(left)
		right = escpos.CharsetCP852.Printable(right)
		lines := escpos.Pair(left, right, width)
		var got strings.Builder
		for _, l := range lines {
			if escpos.Width(l) > width {
				t.Fatalf("line %q wider than %d", l, width)
			}
			got.WriteString(l)
		}
		strip := func(s string) string { return strings.Join(strings.Fields(s), "") }
		if strip(got.String()) != strip(left+right) {
			t.Fatalf("Pair(%q, %q, %d) = %q: characters changed", left, right, width, lines)
		}
	})
}
