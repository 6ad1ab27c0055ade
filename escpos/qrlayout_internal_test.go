package escpos

import "testing"

// TestRasterLayout checks every symbol size the fit check can accept on the
// curated papers: the bitmap is whole bytes, fits the paper, holds the symbol,
// and centring leaves at least the quiet zone of paper on both sides.
func TestRasterLayout(t *testing.T) {
	checked := 0
	for _, dots := range []int{384, 512, 576} {
		for _, scale := range []int{1, 2} {
			for unit := 1; unit <= 8; unit++ {
				for n := 21; n <= 177; n += 4 {
					s := unit * scale // module size in dots
					if (n+2*QuietZone)*s > dots {
						continue
					}
					sym, quiet := n*unit, QuietZone*s
					side, left := rasterLayout(sym, scale, dots, quiet)
					margin := (dots - side*scale) / 2
					right := side - sym - left
					switch {
					case side%8 != 0 || side*scale > dots || left < 0 || right < 0:
						t.Errorf("dots %d scale %d unit %d n %d: bitmap %d px, symbol at %d", dots, scale, unit, n, side, left)
					case margin+left*scale < quiet || margin+right*scale < quiet:
						t.Errorf("dots %d scale %d unit %d n %d: paper %d and %d dots beside the symbol, quiet zone %d",
							dots, scale, unit, n, margin+left*scale, margin+right*scale, quiet)
					}
					checked++
				}
			}
		}
	}
	if checked < 800 { // 857 at the time of writing
		t.Errorf("checked %d layouts, want the full range", checked)
	}
}
