package escpos

import (
	"fmt"
	"image"

	"github.com/boombuler/barcode/qr"
)

// QR symbol limits.
const (
	QuietZone        = 4 // modules of white required on each side of a symbol
	DefaultMaxModule = 8 // largest module size the fit check picks, in dots
	// DefaultMaxRasterModule is the largest module size the fit check picks
	// for a raster. Every dot of a raster crosses the serial line, and its
	// bytes grow with the square of the module size: 4 dots (0.5 mm at 203
	// dpi) scan easily, and being even they go at half resolution (Scale2x).
	// A native symbol costs the same bytes at any size, so it keeps
	// DefaultMaxModule.
	DefaultMaxRasterModule = 4
	// DefaultMinModule is the smallest module size the fit check accepts: below 3 dots
	// (0.375 mm at 203 dpi) phone cameras misread thermal prints.
	DefaultMinModule = 3
	MaxQRData        = 7089 // GS ( k store limit: pL+pH·256 ≤ 7092
	MaxRasterRows    = 256  // rows per GS v 0 band, so a lost band stays local
)

// ECLevel is the QR error-correction level. The zero value is M.
type ECLevel int

// Error-correction levels: L 7 %, M 15 %, Q 25 %, H 30 % of codewords recoverable.
const (
	ECMedium ECLevel = iota
	ECLow
	ECQuartile
	ECHigh
)

func (l ECLevel) String() string {
	switch l {
	case ECLow:
		return "L"
	case ECMedium:
		return "M"
	case ECQuartile:
		return "Q"
	case ECHigh:
		return "H"
	}
	return fmt.Sprintf("ECLevel(%d)", int(l))
}

// gsk is the GS ( k function 69 parameter: '0' L … '3' H.
func (l ECLevel) gsk() byte {
	return map[ECLevel]byte{ECLow: '0', ECMedium: '1', ECQuartile: '2', ECHigh: '3'}[l]
}

func (l ECLevel) boombuler() qr.ErrorCorrectionLevel {
	return map[ECLevel]qr.ErrorCorrectionLevel{ECLow: qr.L, ECMedium: qr.M, ECQuartile: qr.Q, ECHigh: qr.H}[l]
}

// QROptions tune a QR symbol.
type QROptions struct {
	EC ECLevel // zero means M
	// MaxModule is the largest module size in dots; 0 means DefaultMaxModule,
	// or DefaultMaxRasterModule for a raster.
	MaxModule int
	MinModule int // smallest acceptable module size; 0 means DefaultMinModule
	// Scale2x sends a raster at half resolution with GS v 0 m=3, so the printer
	// doubles it: a quarter of the bytes. It needs an even module size: the largest
	// even size that fits is used when it is at least 4 dots or the best size anyway;
	// otherwise the raster is sent unscaled at the larger odd size.
	Scale2x bool
}

// QRFit is the outcome of the fit check.
type QRFit struct {
	Version    int  // QR version 1–40
	Modules    int  // symbol width in modules, without the quiet zone
	ModuleSize int  // dots per module
	Width      int  // dots including the quiet zone: the width the paper must have
	Scaled     bool // raster sent at half resolution (m=3)
}

// checkQR validates data and ec and returns the symbol's width in modules,
// from the byte-mode capacity table: no encoding.
func checkQR(data string, ec ECLevel) (int, error) {
	if data == "" || len(data) > MaxQRData {
		return 0, fmt.Errorf("%w: %d bytes", ErrQRData, len(data))
	}
	if ec < ECMedium || ec > ECHigh {
		return 0, fmt.Errorf("%w: EC level %d", ErrInvalidArgument, int(ec))
	}
	v, err := qrVersion(len(data), ec)
	if err != nil {
		return 0, err
	}
	return 17 + 4*v, nil
}

// encodeQR builds the symbol the way a printer would: byte mode, smallest version.
func encodeQR(data string, ec ECLevel) (qrMatrix, error) {
	n, err := checkQR(data, ec)
	if err != nil {
		return nil, err
	}
	// qr.Unicode is plain byte mode (no ECI header), the mode qrVersion sizes.
	code, err := qr.Encode(data, ec.boombuler(), qr.Unicode)
	if err != nil {
		return nil, fmt.Errorf("%w: %d bytes at EC %s: %w", ErrQRData, len(data), ec, err)
	}
	b := code.Bounds()
	if b.Dx() != n {
		return nil, fmt.Errorf("%w: encoder made %d modules, capacity table says %d", ErrQRData, b.Dx(), n)
	}
	m := make(qrMatrix, b.Dy())
	for y := range m {
		m[y] = make([]bool, b.Dx())
		for x := range m[y] {
			r, _, _, _ := code.At(b.Min.X+x, b.Min.Y+y).RGBA()
			m[y][x] = r < 0x8000
		}
	}
	return m, nil
}

type qrMatrix [][]bool

// fit picks the largest module size in [lo, hi] for which the symbol and its quiet
// zone fit in dots; with even set only even sizes count. 0 means none.
func fit(modules, dots, lo, hi int, even bool) int {
	for s := hi; s >= lo; s-- {
		if even && s%2 != 0 {
			continue
		}
		if (modules+2*QuietZone)*s <= dots {
			return s
		}
	}
	return 0
}

// FitQR runs the fit check for data on a paper of dots per line. It sizes
// the symbol from the byte-mode capacity table and never encodes it.
func FitQR(data string, dots int, opt QROptions) (QRFit, error) {
	n, err := checkQR(data, opt.EC)
	if err != nil {
		return QRFit{}, err
	}
	return fitModules(n, dots, opt)
}

// FitRasterQR is FitQR for a raster symbol ([Writer.QRRaster],
// [Writer.QRRasterCode]): MaxModule 0 means DefaultMaxRasterModule.
func FitRasterQR(data string, dots int, opt QROptions) (QRFit, error) {
	return FitQR(data, dots, opt.raster())
}

// raster applies the raster default module size cap.
func (o QROptions) raster() QROptions {
	if o.MaxModule == 0 {
		o.MaxModule = DefaultMaxRasterModule
	}
	return o
}

func fitModules(n, dots int, opt QROptions) (QRFit, error) {
	hi, lo := opt.MaxModule, opt.MinModule
	if hi == 0 {
		hi = DefaultMaxModule
	}
	if lo == 0 {
		lo = min(DefaultMinModule, hi)
	}
	if hi < 1 || hi > 16 || lo < 1 || lo > hi {
		return QRFit{}, fmt.Errorf("%w: module size range %d–%d", ErrInvalidArgument, lo, hi)
	}
	f := QRFit{Version: (n - 17) / 4, Modules: n, ModuleSize: fit(n, dots, lo, hi, false)}
	if f.ModuleSize == 0 {
		return QRFit{}, &QRFitError{Modules: n, Dots: dots, MinModule: lo, Err: ErrQRTooLarge}
	}
	if opt.Scale2x {
		if s := fit(n, dots, lo, hi, true); s > 0 && (s >= 4 || s == f.ModuleSize) {
			f.ModuleSize, f.Scaled = s, true
		}
	}
	f.Width = (n + 2*QuietZone) * f.ModuleSize
	return f, nil
}

// QRNative prints data as a model 2 QR symbol with GS ( k, centred, after checking
// it fits, with a blank line above and below for the quiet zone. It costs at most
// 41 bytes plus the data: after Init the model, module size and EC level are sent
// only when they differ from the previous symbol's, since the printer keeps them
// until ESC @. Nothing is written when it fails. It does not consult
// Profile.NativeQR: callers choose the mode, and a self-test sends it precisely to
// find out.
func (w *Writer) QRNative(data string, opt QROptions) (QRFit, error) {
	if w.err != nil {
		return QRFit{}, w.err
	}
	if opt.Scale2x {
		opt.Scale2x = false // raster only
	}
	f, err := FitQR(data, w.p.DotsPerLine, opt)
	if err != nil {
		return QRFit{}, err
	}
	restore := w.centre()
	w.LF() // top quiet zone: one blank line is ≥ 4 modules up to size 8
	if !w.qr.model {
		w.write(gs, '(', 'k', 4, 0, '1', 'A', '2', 0) // fn 65: model 2
	}
	if w.qr.size != f.ModuleSize {
		w.write(gs, '(', 'k', 3, 0, '1', 'C', byte(f.ModuleSize)) // fn 67: module size
	}
	if !w.qr.ecSet || w.qr.ec != opt.EC {
		w.write(gs, '(', 'k', 3, 0, '1', 'E', opt.EC.gsk()) // fn 69: EC level
	}
	n := len(data) + 3
	w.write(gs, '(', 'k', byte(n), byte(n>>8), '1', 'P', '0') // fn 80: store
	w.write([]byte(data)...)
	w.write(gs, '(', 'k', 3, 0, '1', 'Q', '0') // fn 81: print
	w.LF()                                     // bottom quiet zone
	if w.err == nil {
		w.qr = qrState{model: true, size: f.ModuleSize, ec: opt.EC, ecSet: true}
	}
	restore()
	return f, w.err
}

// centre starts a centred block on a fresh line and returns the function that
// restores the justification before it. Already centred, it sends nothing.
func (w *Writer) centre() (restore func()) {
	w.endLine()
	prev := w.align
	if prev == AlignCenter {
		return func() {}
	}
	w.Align(AlignCenter)
	return func() { w.Align(prev) }
}

// QRRaster prints data as a QR bitmap through GS v 0, centred, in bands of at
// most MaxRasterRows rows, after the fit check of [FitRasterQR]. The quiet zone
// is paper, not bitmap: the fit check keeps room for it, centring leaves it at
// the sides and feeds leave it above and below, so its white dots never cross
// the line. Nothing is written when it fails.
func (w *Writer) QRRaster(data string, opt QROptions) (QRFit, error) {
	if w.err != nil {
		return QRFit{}, w.err
	}
	// Fit first: a symbol too large for the paper is refused without the
	// encode, so a caller's retry at a lower EC level costs one encode.
	f, err := FitRasterQR(data, w.p.DotsPerLine, opt)
	if err != nil {
		return QRFit{}, err
	}
	c, err := EncodeQR(data, opt.EC)
	if err != nil {
		return QRFit{}, err
	}
	return w.rasterQR(c.m, f)
}

// QRCode is a QR symbol encoded once by [EncodeQR], for [Writer.QRRasterCode].
type QRCode struct {
	ec ECLevel
	m  qrMatrix
}

// EncodeQR encodes data at level ec the way [Writer.QRRaster] does (byte
// mode, smallest version). It is pure and costs milliseconds, so a caller
// may run it on another goroutine while it lays out the rest of a receipt.
func EncodeQR(data string, ec ECLevel) (*QRCode, error) {
	m, err := encodeQR(data, ec)
	if err != nil {
		return nil, err
	}
	return &QRCode{ec: ec, m: m}, nil
}

// Modules returns the symbol's width in modules, without the quiet zone.
func (c *QRCode) Modules() int { return len(c.m) }

// QRRasterCode is [Writer.QRRaster] for a symbol encoded beforehand; the
// code's own EC level applies, opt.EC is ignored. Nothing is written when it
// fails.
func (w *Writer) QRRasterCode(c *QRCode, opt QROptions) (QRFit, error) {
	if w.err != nil {
		return QRFit{}, w.err
	}
	if c == nil || len(c.m) == 0 {
		return QRFit{}, fmt.Errorf("%w: no QR code", ErrInvalidArgument)
	}
	opt.EC = c.ec
	f, err := fitModules(len(c.m), w.p.DotsPerLine, opt.raster())
	if err != nil {
		return QRFit{}, err
	}
	return w.rasterQR(c.m, f)
}

func (w *Writer) rasterQR(m qrMatrix, f QRFit) (QRFit, error) {
	unit, mode := f.ModuleSize, byte(0)
	if f.Scaled {
		unit, mode = f.ModuleSize/2, 3
	}
	scale := f.ModuleSize / unit
	quiet := QuietZone * f.ModuleSize // dots
	sym := len(m) * unit
	side, left := rasterLayout(sym, scale, w.p.DotsPerLine, quiet)
	bm := newBitmap(side, sym)
	for y, row := range m {
		for x, dark := range row {
			if dark {
				bm.fill(left+x*unit, y*unit, unit, unit)
			}
		}
	}
	restore := w.centre()
	w.feed(quiet)
	w.raster(bm, mode)
	w.feed(quiet)
	restore()
	return f, w.err
}

// rasterLayout returns the width of the bitmap carrying a symbol sym pixels
// wide, printed at scale on a paper of dots, and the symbol's offset in it. The
// bitmap is the symbol padded to whole bytes with white columns, with more only
// where centring would leave a side narrower than quiet dots; the fit check
// keeps room for the full quiet zone.
func rasterLayout(sym, scale, dots, quiet int) (side, left int) {
	for q := 0; q <= quiet/scale; q++ {
		side = (sym + 2*q + 7) / 8 * 8
		left = (side - sym) / 2
		margin := (dots - side*scale) / 2 // paper either side of the bitmap
		if margin >= 0 && margin+left*scale >= quiet && margin+(side-sym-left)*scale >= quiet {
			return side, left
		}
	}
	// Only byte rounding can make a side fall short, by less than a pixel:
	// send the narrowest bitmap.
	side = (sym + 7) / 8 * 8
	return side, (side - sym) / 2
}

// lineDots is the least height of one line feed at the power-on line spacing
// (1/6 inch is 30 dots at 180 dpi, 34 at 203 dpi).
const lineDots = 30

// feed advances the paper at least dots at a line start: one LF (1 byte) while
// a line is enough, ESC J n otherwise.
func (w *Writer) feed(dots int) {
	if dots <= lineDots {
		w.LF()
		return
	}
	w.write(esc, 'J', byte(min(dots, 255)))
	w.midLine = false
}

// RasterScale selects the GS v 0 magnification.
type RasterScale byte

// Raster scales: m of GS v 0.
const (
	ScaleNormal RasterScale = 0
	ScaleDouble RasterScale = 3 // 2×2: a quarter of the bytes
)

// Raster prints img as a black-and-white bitmap (luminance below half is black)
// through GS v 0 with the current justification, in bands of at most
// MaxRasterRows rows.
func (w *Writer) Raster(img image.Image, scale RasterScale) error {
	if w.err != nil {
		return w.err
	}
	b := img.Bounds()
	if b.Empty() {
		return w.fail(fmt.Errorf("%w: empty image", ErrInvalidArgument))
	}
	if scale != ScaleNormal && scale != ScaleDouble {
		return w.fail(fmt.Errorf("%w: raster scale %d", ErrInvalidArgument, scale))
	}
	mul := 1
	if scale == ScaleDouble {
		mul = 2
	}
	if b.Dx()*mul > w.p.DotsPerLine {
		return fmt.Errorf("%w: %d dots, paper has %d", ErrRasterTooWide, b.Dx()*mul, w.p.DotsPerLine)
	}
	bm := newBitmap(b.Dx(), b.Dy())
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			r, g, bl, a := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			// Transparent is paper; luminance per ITU-R 601 on premultiplied values.
			lum := (299*r + 587*g + 114*bl) / 1000
			if a > 0x8000 && lum+(0xffff-a) < 0x8000 {
				bm.fill(x, y, 1, 1)
			}
		}
	}
	w.endLine()
	w.raster(bm, byte(scale))
	return w.err
}

// bitmap is a packed 1-bit image, MSB leftmost, 1 = black: GS v 0 layout.
type bitmap struct {
	w, h, stride int
	pix          []byte
}

func newBitmap(w, h int) *bitmap {
	s := (w + 7) / 8
	return &bitmap{w: w, h: h, stride: s, pix: make([]byte, s*h)}
}

func (b *bitmap) fill(x0, y0, dx, dy int) {
	for y := y0; y < y0+dy; y++ {
		for x := x0; x < x0+dx; x++ {
			b.pix[y*b.stride+x/8] |= 0x80 >> (x % 8)
		}
	}
}

func (w *Writer) raster(bm *bitmap, mode byte) {
	for y := 0; y < bm.h; y += MaxRasterRows {
		rows := min(MaxRasterRows, bm.h-y)
		w.write(gs, 'v', '0', mode, byte(bm.stride), byte(bm.stride>>8), byte(rows), byte(rows>>8))
		w.write(bm.pix[y*bm.stride : (y+rows)*bm.stride]...)
	}
	w.midLine = false
}
