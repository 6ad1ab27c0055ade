package escpostest

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"image"
	"image/draw"
	"os"
	"path/filepath"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/posagent/posagent/escpos"
)

// margin is the white border added around a cropped symbol: more than a quiet zone
// at any module size the fit check picks.
const margin = 40

// DecodeQR crops graphic g from page, surrounds it with white and decodes it as a
// QR code. Each graphic is decoded alone, so a receipt's two symbols never interfere.
func DecodeQR(page *escpos.Page, g escpos.Graphic) (string, error) {
	b := g.Bounds.Intersect(page.Image.Bounds())
	if b.Empty() {
		return "", fmt.Errorf("escpostest: graphic %v outside the page", g.Bounds)
	}
	img := image.NewGray(image.Rect(0, 0, b.Dx()+2*margin, b.Dy()+2*margin))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	draw.Draw(img, b.Sub(b.Min).Add(image.Pt(margin, margin)), page.Image, b.Min, draw.Src)
	return decode(img, g)
}

// DecodePrinted decodes graphic g as it is printed, with no white added: the
// symbol's ink plus a quiet zone of escpos.QuietZone modules on every side
// (the module size read from the width of the top-left finder pattern, 7
// modules) must lie on the page and hold no other ink, and that crop of the
// page is what is decoded. It proves the paper around a symbol, not only its
// bitmap, makes a readable code.
func DecodePrinted(page *escpos.Page, g escpos.Graphic) (string, error) {
	img := page.Image
	ink := func(x, y int) bool { return img.GrayAt(x, y).Y < 0x80 }
	b := g.Bounds.Intersect(img.Bounds())
	sym := image.Rectangle{Min: b.Max, Max: b.Min}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if ink(x, y) {
				sym.Min.X, sym.Min.Y = min(sym.Min.X, x), min(sym.Min.Y, y)
				sym.Max.X, sym.Max.Y = max(sym.Max.X, x+1), max(sym.Max.Y, y+1)
			}
		}
	}
	if sym.Empty() {
		return "", fmt.Errorf("escpostest: graphic %v has no ink", g.Bounds)
	}
	run := 0
	for x := sym.Min.X; x < sym.Max.X && ink(x, sym.Min.Y); x++ {
		run++
	}
	if run%7 != 0 {
		return "", fmt.Errorf("escpostest: finder pattern of graphic %v is %d dots wide, not 7 modules", g.Bounds, run)
	}
	quiet := escpos.QuietZone * run / 7
	zone := sym.Inset(-quiet)
	if !zone.In(img.Bounds()) {
		return "", fmt.Errorf("escpostest: quiet zone %v of graphic %v leaves the page %v", zone, g.Bounds, img.Bounds())
	}
	for y := zone.Min.Y; y < zone.Max.Y; y++ {
		for x := zone.Min.X; x < zone.Max.X; x++ {
			if !image.Pt(x, y).In(sym) && ink(x, y) {
				return "", fmt.Errorf("escpostest: ink at (%d,%d) in the %d-dot quiet zone of graphic %v", x, y, quiet, g.Bounds)
			}
		}
	}
	crop := image.NewGray(image.Rect(0, 0, zone.Dx(), zone.Dy()))
	draw.Draw(crop, crop.Bounds(), img, zone.Min, draw.Src)
	return decode(crop, g)
}

func decode(img image.Image, g escpos.Graphic) (string, error) {
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", fmt.Errorf("escpostest: bitmap: %w", err)
	}
	hints := map[gozxing.DecodeHintType]any{
		gozxing.DecodeHintType_PURE_BARCODE: true,
		gozxing.DecodeHintType_TRY_HARDER:   true,
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, hints)
	if err != nil {
		return "", fmt.Errorf("escpostest: decode QR at %v: %w", g.Bounds, err)
	}
	return res.GetText(), nil
}

// DecodeAllQR decodes every graphic on the page, in print order.
func DecodeAllQR(page *escpos.Page) ([]string, error) {
	var out []string
	for _, g := range page.Graphics {
		s, err := DecodeQR(page, g)
		if err != nil {
			return out, err
		}
		out = append(out, s)
	}
	return out, nil
}

// Golden compares got with the golden file at path, or rewrites it when update is
// set. A mismatch reports the first differing offset with a short hex dump of each
// side, never whole binaries.
func Golden(t testing.TB, path string, got []byte, update bool) {
	t.Helper()
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update to create it): %v", err)
	}
	if msg := Diff(got, want); msg != "" {
		t.Errorf("%s: %s (run with -update if the change is intended)", filepath.Base(path), msg)
	}
}

// Diff returns "" when got equals want, or a description of the first difference.
func Diff(got, want []byte) string {
	if bytes.Equal(got, want) {
		return ""
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	window := func(b []byte) string {
		lo, hi := max(0, i-8), min(len(b), i+16)
		return fmt.Sprintf("[%d:%d] %s", lo, hi, hex.EncodeToString(b[lo:hi]))
	}
	return fmt.Sprintf("first difference at offset %d (got %d bytes, want %d)\n got  %s\n want %s",
		i, len(got), len(want), window(got), window(want))
}
