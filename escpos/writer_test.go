package escpos_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"image"
	"image/color"
	"slices"
	"testing"

	"github.com/posagent/posagent/escpos"
	"github.com/posagent/posagent/escpos/escpostest"
)

func hexOf(t *testing.T, p escpos.Profile, f func(w *escpos.Writer)) string {
	t.Helper()
	var buf bytes.Buffer
	w := escpos.NewWriter(&buf, p)
	f(w)
	if err := w.Err(); err != nil {
		t.Fatalf("Err() = %v", err)
	}
	if int64(buf.Len()) != w.Written() {
		t.Errorf("Written() = %d, buffer has %d", w.Written(), buf.Len())
	}
	return hex.EncodeToString(buf.Bytes())
}

func TestWriterCommands(t *testing.T) {
	p58 := mustProfile(t, "generic-58")
	p80 := mustProfile(t, "generic-80")
	full := p80
	full.Cut = escpos.CutFull
	noKanji := p80
	noKanji.CancelKanji, noKanji.CodePage, noKanji.Charset = false, 45, escpos.CharsetWPC1250
	tests := []struct {
		name string
		p    escpos.Profile
		f    func(w *escpos.Writer)
		want string
	}{
		{"init", p58, (*escpos.Writer).Init, "1b401c2e1b7412"},
		{"init wpc1250 no kanji", noKanji, (*escpos.Writer).Init, "1b401b742d"},
		{"bold", p58, func(w *escpos.Writer) { w.Bold(true); w.Bold(false) }, "1b45011b4500"},
		{"underline", p58, func(w *escpos.Writer) { w.Underline(2) }, "1b2d02"},
		{"reverse", p58, func(w *escpos.Writer) { w.Reverse(true) }, "1d4201"},
		{"align", p58, func(w *escpos.Writer) { w.Align(escpos.AlignRight) }, "1b6102"},
		{"size 2x2", p58, func(w *escpos.Writer) { w.Size(2, 2) }, "1d2111"},
		{"size 1x2", p58, func(w *escpos.Writer) { w.Size(1, 2) }, "1d2101"},
		{"style bold tall", p58, func(w *escpos.Writer) { w.Style(escpos.StyleBold | escpos.StyleTall) }, "1b2118"},
		{"style all", p58, func(w *escpos.Writer) { w.Style(escpos.StyleBold | escpos.StyleTall | escpos.StyleWide) }, "1b2138"},
		{"style plain", p58, func(w *escpos.Writer) { w.Style(0) }, "1b2100"},
		{"line", p58, func(w *escpos.Writer) { w.Line("Łódź") }, "9da264ab0a"},
		{"feed", p58, func(w *escpos.Writer) { w.Feed(3) }, "1b6403"},
		{"cut partial", p80, (*escpos.Writer).Cut, "1d564203"},
		{"cut full", full, (*escpos.Writer).Cut, "1d564103"},
		{"cut none feeds", p58, (*escpos.Writer).Cut, "1b6404"},
		{"cut after text ends the line", p80, func(w *escpos.Writer) { w.Text("a"); w.Cut() }, "610a1d564203"},
		{"pulse", p58, (*escpos.Writer).Pulse, "1b700032fa"},
		{"job end", p58, (*escpos.Writer).JobEnd, "1d7231"},
		{"qr native", p80, func(w *escpos.Writer) {
			if _, err := w.QRNative("AB", escpos.QROptions{EC: escpos.ECLow}); err != nil {
				t.Fatal(err)
			}
		}, "1b61010a" + "1d286b0400314132001d286b0300314308" + "1d286b0300314530" + "1d286b050031503041421d286b0300315130" + "0a1b6100"},
		// The printer keeps model, size and level until ESC @: a second
		// symbol sends only what changed, and Init forgets them.
		{"qr native settings once per job", p80, func(w *escpos.Writer) {
			w.Init()
			w.Align(escpos.AlignCenter)
			for _, opt := range []escpos.QROptions{{EC: escpos.ECLow}, {EC: escpos.ECLow}, {EC: escpos.ECLow, MaxModule: 6}, {}} {
				if _, err := w.QRNative("AB", opt); err != nil {
					t.Fatal(err)
				}
			}
			w.Init()
			if _, err := w.QRNative("AB", escpos.QROptions{}); err != nil {
				t.Fatal(err)
			}
		}, "1b401c2e1b7412" + "1b6101" +
			"0a" + "1d286b040031413200" + "1d286b0300314308" + "1d286b0300314530" + "1d286b050031503041421d286b0300315130" + "0a" +
			"0a" + "1d286b050031503041421d286b0300315130" + "0a" +
			"0a" + "1d286b0300314306" + "1d286b050031503041421d286b0300315130" + "0a" +
			"0a" + "1d286b0300314308" + "1d286b0300314531" + "1d286b050031503041421d286b0300315130" + "0a" +
			"1b401c2e1b7412" + "1b61010a" + "1d286b040031413200" + "1d286b0300314308" + "1d286b0300314531" + "1d286b050031503041421d286b0300315130" + "0a1b6100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hexOf(t, tt.p, tt.f); got != tt.want {
				t.Errorf("bytes = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestWriterInvalidArguments(t *testing.T) {
	p := mustProfile(t, "generic-58")
	tests := []struct {
		name string
		f    func(w *escpos.Writer)
	}{
		{"size 0", func(w *escpos.Writer) { w.Size(0, 1) }},
		{"size 9", func(w *escpos.Writer) { w.Size(1, 9) }},
		{"feed -1", func(w *escpos.Writer) { w.Feed(-1) }},
		{"feed 256", func(w *escpos.Writer) { w.Feed(256) }},
		{"underline 3", func(w *escpos.Writer) { w.Underline(3) }},
		{"align 3", func(w *escpos.Writer) { w.Align(3) }},
		{"style underline bit", func(w *escpos.Writer) { w.Style(0x80) }},
		{"style font B bit", func(w *escpos.Writer) { w.Style(escpos.StyleBold | 1) }},
		{"empty raster", func(w *escpos.Writer) { _ = w.Raster(image.NewGray(image.Rect(0, 0, 0, 0)), escpos.ScaleNormal) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := escpos.NewWriter(&buf, p)
			tt.f(w)
			w.Line("after") // sticky: nothing more is written
			if err := w.Err(); !errors.Is(err, escpos.ErrInvalidArgument) {
				t.Errorf("Err() = %v, want ErrInvalidArgument", err)
			}
			if buf.Len() != 0 {
				t.Errorf("wrote % x after an invalid argument", buf.Bytes())
			}
		})
	}
}

func TestWriterInvalidProfile(t *testing.T) {
	p := mustProfile(t, "generic-58")
	p.DotsPerLine = 0
	var buf bytes.Buffer
	w := escpos.NewWriter(&buf, p)
	w.Init()
	if _, err := w.QRRaster("x", escpos.QROptions{}); !errors.Is(err, escpos.ErrInvalidProfile) {
		t.Errorf("QRRaster error = %v, want ErrInvalidProfile", err)
	}
	if buf.Len() != 0 || !errors.Is(w.Err(), escpos.ErrInvalidProfile) {
		t.Errorf("wrote %d bytes, Err() = %v", buf.Len(), w.Err())
	}
}

type failWriter struct{ n int }

var errBroken = errors.New("broken pipe")

func (f *failWriter) Write(b []byte) (int, error) {
	if f.n -= len(b); f.n < 0 {
		return 0, errBroken
	}
	return len(b), nil
}

func TestWriterWriteError(t *testing.T) {
	w := escpos.NewWriter(&failWriter{n: 5}, mustProfile(t, "generic-58"))
	w.Init()
	w.Line("abc")
	if err := w.Err(); !errors.Is(err, errBroken) {
		t.Errorf("Err() = %v, want wrapped errBroken", err)
	}
}

func TestRasterBands(t *testing.T) {
	p := mustProfile(t, "generic-80")
	img := image.NewGray(image.Rect(0, 0, 20, 600))
	for y := 0; y < 600; y++ {
		for x := 0; x < 20; x++ {
			img.SetGray(x, y, color.Gray{Y: 0xff})
		}
	}
	img.SetGray(0, 0, color.Gray{}) // one black dot, top left
	img.SetGray(19, 599, color.Gray{})
	var buf bytes.Buffer
	w := escpos.NewWriter(&buf, p)
	if err := w.Raster(img, escpos.ScaleNormal); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	// Three bands: 256 + 256 + 88 rows of 3 bytes.
	var rows []int
	for i := 0; i+8 <= len(b); {
		if !bytes.HasPrefix(b[i:], []byte{0x1d, 'v', '0', 0}) {
			t.Fatalf("offset %d: % x, want GS v 0 header", i, b[i:min(i+8, len(b))])
		}
		bx, n := int(b[i+4])|int(b[i+5])<<8, int(b[i+6])|int(b[i+7])<<8
		if bx != 3 {
			t.Errorf("bytes per row = %d, want 3", bx)
		}
		rows = append(rows, n)
		i += 8 + bx*n
	}
	if got, want := rows, []int{256, 256, 88}; !slices.Equal(got, want) {
		t.Errorf("bands = %v, want %v", got, want)
	}
	if b[8] != 0x80 {
		t.Errorf("first data byte = %02x, want 80 (MSB is the leftmost dot)", b[8])
	}
	if last := b[len(b)-1]; last != 0x10 { // dot 19 is bit 3 of byte 2
		t.Errorf("last data byte = %02x, want 10", last)
	}
	// Too wide for the paper.
	wide := image.NewGray(image.Rect(0, 0, 300, 1))
	err := escpos.NewWriter(&buf, p).Raster(wide, escpos.ScaleDouble)
	if !errors.Is(err, escpos.ErrRasterTooWide) {
		t.Errorf("Raster(600 dots) = %v, want ErrRasterTooWide", err)
	}
}

func TestSetCodePage(t *testing.T) {
	p := mustProfile(t, "generic-58")
	got := hexOf(t, p, func(w *escpos.Writer) {
		w.Init()
		w.SetCodePage(escpos.CodePage{N: 72, Charset: escpos.CharsetWPC1250})
		w.Text("ą")
		w.Init()
		w.Text("ą")
	})
	if want := "1b401c2e1b7412" + "1b7448" + "b9" + "1b401c2e1b7412" + "a5"; got != want {
		t.Errorf("bytes = %s, want %s", got, want)
	}
	var buf bytes.Buffer
	w := escpos.NewWriter(&buf, p)
	w.SetCodePage(escpos.CodePage{N: 3, Charset: "KOI8"})
	if !errors.Is(w.Err(), escpos.ErrInvalidArgument) || buf.Len() != 0 {
		t.Errorf("SetCodePage(KOI8): Err() = %v, %d bytes", w.Err(), buf.Len())
	}
}

func TestSelfTest(t *testing.T) {
	for _, p := range escpos.Profiles() {
		t.Run(p.ID, func(t *testing.T) {
			var buf bytes.Buffer
			if err := escpos.SelfTest(&buf, p, escpostest.KOD1()); err != nil {
				t.Fatal(err)
			}
			page, err := escpos.Render(buf.Bytes(), p)
			if err != nil {
				t.Fatal(err)
			}
			// Every candidate page prints the Polish letters correctly.
			n := 0
			for _, l := range page.Lines {
				if l.Text == escpos.PolishSample {
					n++
				}
			}
			if n != len(p.CodePages) {
				t.Errorf("%d lines show the Polish letters, want %d", n, len(p.CodePages))
			}
			codes, err := escpostest.DecodeAllQR(page)
			if err != nil || len(codes) != 2 || codes[0] != escpostest.KOD1() || codes[1] != escpostest.KOD1() {
				t.Errorf("QR codes %q, %v; want KOD I twice", codes, err)
			}
			if page.Graphics[0].Kind != escpos.GraphicNativeQR || page.Graphics[1].Kind != escpos.GraphicRaster {
				t.Errorf("graphics %v, want native then raster", page.Graphics)
			}
		})
	}
}

func TestRasterThreshold(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 8, 1))
	img.Set(0, 0, color.NRGBA{A: 0xff})                            // opaque black: ink
	img.Set(1, 0, color.NRGBA{A: 0})                               // transparent: paper
	img.Set(2, 0, color.NRGBA{R: 0x30, G: 0x30, B: 0x30, A: 0xff}) // dark grey: ink
	img.Set(3, 0, color.NRGBA{R: 0xd0, G: 0xd0, B: 0xd0, A: 0xff}) // light grey: paper
	img.Set(4, 0, color.NRGBA{A: 0x40})                            // mostly transparent black: paper
	var buf bytes.Buffer
	if err := escpos.NewWriter(&buf, mustProfile(t, "generic-58")).Raster(img, escpos.ScaleNormal); err != nil {
		t.Fatal(err)
	}
	if got, want := hex.EncodeToString(buf.Bytes()), "1d76300001000100"+"a0"; got != want {
		t.Errorf("bytes = %s, want %s", got, want)
	}
}
