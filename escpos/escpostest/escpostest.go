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
