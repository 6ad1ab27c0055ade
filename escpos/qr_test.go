package escpos_test

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/posagent/posagent/escpos"
	"github.com/posagent/posagent/escpos/escpostest"
)

func TestFitQR(t *testing.T) {
	tests := []struct {
		name        string
		data        string
		dots        int
		opt         escpos.QROptions
		wantModules int
		wantSize    int
		wantScaled  bool
	}{
		// Versions per escpos.md §4.4: KOD I v6, KOD II ECDSA v11, RSA v17 at EC M.
		{"KOD I 58mm", escpostest.KOD1(), 384, escpos.QROptions{}, 41, 7, false},
		{"KOD I 58mm scaled", escpostest.KOD1(), 384, escpos.QROptions{Scale2x: true}, 41, 6, true},
		{"KOD I 80mm", escpostest.KOD1(), 576, escpos.QROptions{}, 41, 8, false},
		{"KOD I 80mm cap 6", escpostest.KOD1(), 576, escpos.QROptions{MaxModule: 6}, 41, 6, false},
		{"KOD II EC 58mm", escpostest.KOD2EC(), 384, escpos.QROptions{}, 61, 5, false},
		{"KOD II EC 58mm scaled", escpostest.KOD2EC(), 384, escpos.QROptions{Scale2x: true}, 61, 4, true},
		{"KOD II RSA 58mm", escpostest.KOD2RSA(), 384, escpos.QROptions{}, 85, 4, false},
		{"KOD II RSA 58mm scaled", escpostest.KOD2RSA(), 384, escpos.QROptions{Scale2x: true}, 85, 4, true},
		{"KOD II RSA 58mm EC L", escpostest.KOD2RSA(), 384, escpos.QROptions{EC: escpos.ECLow}, 77, 4, false},
		{"KOD II RSA TM-T88V", escpostest.KOD2RSA(), 512, escpos.QROptions{}, 85, 5, false},
		{"odd only fits: unscaled", escpostest.KOD2RSA(), 100 * 3, escpos.QROptions{Scale2x: true}, 85, 3, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := escpos.FitQR(tt.data, tt.dots, tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			if f.Modules != tt.wantModules || f.ModuleSize != tt.wantSize || f.Scaled != tt.wantScaled {
				t.Errorf("FitQR = %+v, want %d modules, size %d, scaled %v", f, tt.wantModules, tt.wantSize, tt.wantScaled)
			}
			if f.Width > tt.dots || f.Width != (f.Modules+2*escpos.QuietZone)*f.ModuleSize {
				t.Errorf("Width = %d for %d dots", f.Width, tt.dots)
			}
			if f.Version != (f.Modules-17)/4 {
				t.Errorf("Version = %d for %d modules", f.Version, f.Modules)
			}
		})
	}
}

func TestFitQRErrors(t *testing.T) {
	var fe *escpos.QRFitError
	_, err := escpos.FitQR(escpostest.KOD2RSA(), 256, escpos.QROptions{EC: escpos.ECHigh})
	if !errors.As(err, &fe) || !errors.Is(err, escpos.ErrQRTooLarge) || fe.Dots != 256 {
		t.Errorf("FitQR(RSA, 256 dots, H) = %v, want *QRFitError", err)
	}
	for _, data := range []string{"", strings.Repeat("x", escpos.MaxQRData+1), strings.Repeat("x", 3000)} {
		if _, err := escpos.FitQR(data, 576, escpos.QROptions{EC: escpos.ECHigh}); !errors.Is(err, escpos.ErrQRData) {
			t.Errorf("FitQR(%d bytes) = %v, want ErrQRData", len(data), err)
		}
	}
	if _, err := escpos.FitQR("x", 576, escpos.QROptions{EC: 9}); !errors.Is(err, escpos.ErrInvalidArgument) {
		t.Errorf("FitQR(EC 9) = %v, want ErrInvalidArgument", err)
	}
	for _, opt := range []escpos.QROptions{{MaxModule: 17}, {MinModule: 5, MaxModule: 4}, {MaxModule: -1}} {
		if _, err := escpos.FitQR("x", 576, opt); !errors.Is(err, escpos.ErrInvalidArgument) {
			t.Errorf("FitQR(%+v) = %v, want ErrInvalidArgument", opt, err)
		}
	}
	// Small modules are allowed only when asked for.
	if f, err := escpos.FitQR(escpostest.KOD2RSA(), 256, escpos.QROptions{EC: escpos.ECHigh, MinModule: 1}); err != nil || f.ModuleSize != 2 {
		t.Errorf("FitQR(RSA, 256 dots, H, min 1) = %+v, %v, want size 2", f, err)
	}
}

// A symbol that does not fit writes nothing and leaves the writer usable.
func TestQRTooLargeWritesNothing(t *testing.T) {
	p := mustProfile(t, "generic-58")
	p.NativeQR = true
	for name, f := range map[string]func(*escpos.Writer, string, escpos.QROptions) (escpos.QRFit, error){
		"native": (*escpos.Writer).QRNative, "raster": (*escpos.Writer).QRRaster,
	} {
		var buf bytes.Buffer
		w := escpos.NewWriter(&buf, p)
		_, err := f(w, strings.Repeat("https://x/", 100), escpos.QROptions{EC: escpos.ECHigh})
		if !errors.Is(err, escpos.ErrQRTooLarge) {
			t.Errorf("%s: err = %v, want ErrQRTooLarge", name, err)
		}
		if buf.Len() != 0 || w.Err() != nil {
			t.Errorf("%s: wrote %d bytes, Err() = %v", name, buf.Len(), w.Err())
		}
	}
}

// TestQRRoundTrip prints each link natively and as a raster (plain and 2×2) on
// 58 and 80 mm between two lines of text, renders the stream and decodes the
// symbol with gozxing from the page itself, quiet zone included.
func TestQRRoundTrip(t *testing.T) {
	links := map[string]string{"KOD I": escpostest.KOD1(), "KOD II EC": escpostest.KOD2EC(), "KOD II RSA": escpostest.KOD2RSA()}
	for _, id := range []string{"generic-58", "tm-t88v", "generic-80"} {
		p := mustProfile(t, id)
		p.NativeQR = true
		for name, link := range links {
			for _, mode := range []string{"native", "raster", "raster2x"} {
				t.Run(id+"/"+name+"/"+mode, func(t *testing.T) {
					var buf bytes.Buffer
					w := escpos.NewWriter(&buf, p)
					w.Init()
					w.Line("przed")
					var err error
					switch mode {
					case "native":
						_, err = w.QRNative(link, escpos.QROptions{})
					case "raster":
						_, err = w.QRRaster(link, escpos.QROptions{})
					default:
						_, err = w.QRRaster(link, escpos.QROptions{Scale2x: true})
					}
					if err != nil {
						t.Fatal(err)
					}
					w.Line("po")
					page, err := escpos.Render(buf.Bytes(), p)
					if err != nil {
						t.Fatal(err)
					}
					if len(page.Graphics) != 1 {
						t.Fatalf("%d graphics, want 1", len(page.Graphics))
					}
					g := page.Graphics[0]
					if g.Bounds.Min.X < 0 || g.Bounds.Max.X > p.DotsPerLine {
						t.Errorf("symbol %v outside the paper", g.Bounds)
					}
					// Centred within one dot.
					if l, r := g.Bounds.Min.X, p.DotsPerLine-g.Bounds.Max.X; l-r > 8 || r-l > 8 {
						t.Errorf("symbol %v not centred on %d dots", g.Bounds, p.DotsPerLine)
					}
					got, err := escpostest.DecodePrinted(page, g)
					if err != nil {
						t.Fatal(err)
					}
					if got != link {
						t.Errorf("decoded %q, want %q", got, link)
					}
				})
			}
		}
	}
}

// TestQRRasterCode checks that a symbol encoded beforehand prints exactly as
// QRRaster prints it, at the code's own EC level.
func TestQRRasterCode(t *testing.T) {
	p := mustProfile(t, "generic-58")
	tests := []struct {
		name string
		data string
		ec   escpos.ECLevel
	}{
		{"KOD I at M", escpostest.KOD1(), escpos.ECMedium},
		{"KOD II EC at M", escpostest.KOD2EC(), escpos.ECMedium},
		{"KOD II RSA at L", escpostest.KOD2RSA(), escpos.ECLow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt := escpos.QROptions{EC: tt.ec, Scale2x: true}
			var want, got bytes.Buffer
			wantFit, err := escpos.NewWriter(&want, p).QRRaster(tt.data, opt)
			if err != nil {
				t.Fatalf("QRRaster: %v", err)
			}
			c, err := escpos.EncodeQR(tt.data, tt.ec)
			if err != nil {
				t.Fatalf("EncodeQR: %v", err)
			}
			if c.Modules() != wantFit.Modules {
				t.Errorf("Modules() = %d, want %d", c.Modules(), wantFit.Modules)
			}
			// opt.EC is ignored: the code's level applies.
			gotFit, err := escpos.NewWriter(&got, p).QRRasterCode(c, escpos.QROptions{EC: escpos.ECHigh, Scale2x: true})
			if err != nil {
				t.Fatalf("QRRasterCode: %v", err)
			}
			if gotFit != wantFit || !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Errorf("QRRasterCode = %+v, %d bytes; want %+v, %d bytes like QRRaster", gotFit, got.Len(), wantFit, want.Len())
			}
		})
	}
	var buf bytes.Buffer
	if _, err := escpos.NewWriter(&buf, p).QRRasterCode(nil, escpos.QROptions{}); !errors.Is(err, escpos.ErrInvalidArgument) || buf.Len() != 0 {
		t.Errorf("QRRasterCode(nil) = %v with %d bytes written, want ErrInvalidArgument and nothing", err, buf.Len())
	}
	c, err := escpos.EncodeQR(escpostest.KOD2RSA(), escpos.ECHigh)
	if err != nil {
		t.Fatal(err)
	}
	narrow := mustProfile(t, "generic-58")
	narrow.DotsPerLine = 200
	if _, err := escpos.NewWriter(&buf, narrow).QRRasterCode(c, escpos.QROptions{}); !errors.Is(err, escpos.ErrQRTooLarge) || buf.Len() != 0 {
		t.Errorf("QRRasterCode(too large) = %v with %d bytes written, want ErrQRTooLarge and nothing", err, buf.Len())
	}
}

// TestQRRasterLayout checks that a raster sends the symbol without its quiet
// zone: the bitmap is the symbol's own rows and its width padded to whole
// bytes, with a line feed above and below and centring for the sides.
func TestQRRasterLayout(t *testing.T) {
	tests := []struct {
		name       string
		profile    string
		data       string
		opt        escpos.QROptions
		wantStride int // bytes per row
		wantRows   int
		wantMode   byte
		wantFeed   []byte // above and below
	}{
		// 41 modules at 4 dots, sent at half resolution: 82 pixels.
		{"KOD I 58mm", "generic-58", escpostest.KOD1(), escpos.QROptions{Scale2x: true}, 11, 82, 3, lf},
		{"KOD I 80mm: same size", "generic-80", escpostest.KOD1(), escpos.QROptions{Scale2x: true}, 11, 82, 3, lf},
		{"KOD II RSA 58mm", "generic-58", escpostest.KOD2RSA(), escpos.QROptions{Scale2x: true}, 22, 170, 3, lf},
		{"KOD II EC 58mm", "generic-58", escpostest.KOD2EC(), escpos.QROptions{Scale2x: true}, 16, 122, 3, lf},
		{"unscaled", "generic-58", escpostest.KOD1(), escpos.QROptions{}, 21, 164, 0, lf},
		// A 32-dot quiet zone is more than one line: ESC J 32.
		{"cap raised", "generic-80", escpostest.KOD1(), escpos.QROptions{Scale2x: true, MaxModule: 8}, 21, 164, 3, []byte{0x1b, 'J', 32}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if _, err := escpos.NewWriter(&buf, mustProfile(t, tt.profile)).QRRaster(tt.data, tt.opt); err != nil {
				t.Fatal(err)
			}
			b := buf.Bytes()
			head := slices.Concat([]byte{0x1b, 'a', 1}, tt.wantFeed, []byte{0x1d, 'v', '0', tt.wantMode, byte(tt.wantStride), 0, byte(tt.wantRows), 0})
			tail := slices.Concat(tt.wantFeed, []byte{0x1b, 'a', 0})
			if !bytes.HasPrefix(b, head) || !bytes.HasSuffix(b, tail) || len(b) != len(head)+tt.wantStride*tt.wantRows+len(tail) {
				t.Errorf("QRRaster = % x … (%d bytes), want % x, %d×%d bitmap bytes, % x", b[:min(len(b), 12)], len(b), head, tt.wantStride, tt.wantRows, tail)
			}
		})
	}
}

var lf = []byte{'\n'}

func TestFitRasterQR(t *testing.T) {
	tests := []struct {
		name     string
		data     string
		dots     int
		opt      escpos.QROptions
		wantSize int
		scaled   bool
	}{
		{"KOD I 58mm capped", escpostest.KOD1(), 384, escpos.QROptions{Scale2x: true}, escpos.DefaultMaxRasterModule, true},
		{"KOD I 80mm capped", escpostest.KOD1(), 576, escpos.QROptions{Scale2x: true}, escpos.DefaultMaxRasterModule, true},
		{"cap given", escpostest.KOD1(), 576, escpos.QROptions{Scale2x: true, MaxModule: 6}, 6, true},
		{"RSA at 3 dots unscaled", escpostest.KOD2RSA(), 300, escpos.QROptions{Scale2x: true}, 3, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := escpos.FitRasterQR(tt.data, tt.dots, tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			if f.ModuleSize != tt.wantSize || f.Scaled != tt.scaled {
				t.Errorf("FitRasterQR = %+v, want size %d, scaled %v", f, tt.wantSize, tt.scaled)
			}
		})
	}
	if _, err := escpos.FitRasterQR(escpostest.KOD2RSA(), 256, escpos.QROptions{}); !errors.Is(err, escpos.ErrQRTooLarge) {
		t.Errorf("FitRasterQR(RSA, 256 dots) = %v, want ErrQRTooLarge", err)
	}
}

// DecodePrinted must refuse a symbol printed without its quiet zone, or the
// round trips above would prove nothing about the paper around a raster.
func TestDecodePrintedNeedsQuietZone(t *testing.T) {
	p := mustProfile(t, "generic-58")
	c, err := escpos.EncodeQR(escpostest.KOD1(), escpos.ECMedium)
	if err != nil {
		t.Fatal(err)
	}
	var ok bytes.Buffer
	w := escpos.NewWriter(&ok, p)
	w.Line(strings.Repeat("y", p.Columns)) // descenders across the paper
	if _, err := w.QRRasterCode(c, escpos.QROptions{Scale2x: true}); err != nil {
		t.Fatal(err)
	}
	w.Line("po")
	// The same stream without the feed above the symbol: text sits on it.
	i := bytes.Index(ok.Bytes(), []byte{0x1d, 'v', '0'})
	bad := slices.Concat(ok.Bytes()[:i-1], ok.Bytes()[i:])
	for _, tt := range []struct {
		name   string
		stream []byte
		ok     bool
	}{{"with feed", ok.Bytes(), true}, {"without feed", bad, false}} {
		page, err := escpos.Render(tt.stream, p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := escpostest.DecodePrinted(page, page.Graphics[0])
		if tt.ok && (err != nil || got != escpostest.KOD1()) {
			t.Errorf("%s: DecodePrinted = %q, %v; want the link", tt.name, got, err)
		}
		if !tt.ok && err == nil {
			t.Errorf("%s: DecodePrinted = %q, want a quiet-zone error", tt.name, got)
		}
	}
}
