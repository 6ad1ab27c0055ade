package escpos

import (
	"fmt"
	"image"
	"slices"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// Renderer limits and Font A geometry.
const (
	MaxRenderHeight = 16384 // rows; Render stops with ErrRenderTooLarge beyond it
	cellW, cellH    = 12, 24
	defaultSpacing  = 30 // dots per line at the power-on line spacing (≈1/6 inch at 180–203 dpi)
)

// GraphicKind tells rasters from native QR symbols.
type GraphicKind int

// Graphic kinds.
const (
	GraphicRaster   GraphicKind = iota // GS v 0 image
	GraphicNativeQR                    // GS ( k symbol, re-encoded from its stored data
)

// Graphic is one image block printed on a Page.
type Graphic struct {
	Kind       GraphicKind
	Bounds     image.Rectangle // where it landed on Page.Image
	Data       string          // QR payload (native only)
	ModuleSize int             // native only
	EC         ECLevel         // native only
}

// TextLine is one printed line of text.
type TextLine struct {
	Y    int    // top row on Page.Image
	Text string // decoded to UTF-8, padding spaces included
}

// Page is what a stream prints.
type Page struct {
	Image    *image.Gray
	Lines    []TextLine // printed text lines in order; blank feeds have empty Text
	Graphics []Graphic  // rasters and symbols in print order
	Cuts     int
	Pulses   int
	// StatusRequests counts DLE EOT, GS r and similar replies the stream asks for.
	StatusRequests int
}

type cell struct {
	r         rune
	w, h      int
	bold, rev bool
	underline int
}

type qrKey struct {
	data string
	ec   ECLevel
}

type renderer struct {
	p     Profile
	page  *Page
	pix   []byte // width W, 0xff paper, 0x00 black
	W, y  int
	line  []cell
	face  font.Face
	asc   int
	glyph map[rune]*image.Alpha
	at    int // offset of the command being interpreted

	qrCache map[qrKey]qrMatrix

	cs        Charset
	align     Align
	w, h      int
	bold, rev bool
	underline int
	spacing   int
	qr        struct {
		size int
		ec   ECLevel
		data string
	}
}

var (
	fontOnce sync.Once
	monoFont *opentype.Font
	fontErr  error
)

// Render interprets an ESC/POS stream for profile p and returns the printed page.
// Any input is accepted: unknown commands are skipped by their length and stray
// bytes print as text. A *SyntaxError (ErrTruncated) reports a stream that ends
// inside a command; the page up to that point is still returned.
func Render(data []byte, p Profile) (*Page, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	fontOnce.Do(func() { monoFont, fontErr = opentype.Parse(gomono.TTF) })
	if fontErr != nil {
		return nil, fmt.Errorf("escpos: font: %w", fontErr)
	}
	// Go Mono advances 0.6 em, so 20 px gives Font A's 12-dot cell.
	face, err := opentype.NewFace(monoFont, &opentype.FaceOptions{Size: 20, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return nil, fmt.Errorf("escpos: font face: %w", err)
	}
	defer face.Close()
	r := &renderer{p: p, page: &Page{}, W: p.DotsPerLine, face: face, glyph: map[rune]*image.Alpha{}, qrCache: map[qrKey]qrMatrix{}}
	// Baseline that centres ascent+descent in the 24-dot cell.
	fm := face.Metrics()
	r.asc = ((fixed.I(cellH)-fm.Ascent-fm.Descent)/2 + fm.Ascent).Round()
	r.reset()
	err = r.run(data)
	if err == nil {
		err = r.flush(false)
	}
	img := image.NewGray(image.Rect(0, 0, r.W, max(r.y, 1)))
	copy(img.Pix, r.pix)
	if r.y == 0 {
		for i := range img.Pix {
			img.Pix[i] = 0xff
		}
	}
	r.page.Image = img
	return r.page, err
}

func (r *renderer) reset() {
	r.cs = r.p.charsetFor(0)
	r.align, r.w, r.h, r.bold, r.rev, r.underline = AlignLeft, 1, 1, false, false, 0
	r.spacing = defaultSpacing
	r.qr.size, r.qr.ec, r.qr.data = 3, ECMedium, ""
	r.line = r.line[:0]
}

// grow makes room for rows [r.y, r.y+n).
func (r *renderer) grow(n int) error {
	if r.y+n > MaxRenderHeight {
		return ErrRenderTooLarge
	}
	if need := (r.y + n) * r.W; need > len(r.pix) {
		old := len(r.pix)
		r.pix = slices.Grow(r.pix, need-old)[:need]
		for i := old; i < need; i++ {
			r.pix[i] = 0xff
		}
	}
	return nil
}

func (r *renderer) set(x, y int) {
	if x >= 0 && x < r.W && y >= 0 && y*r.W+x < len(r.pix) {
		r.pix[y*r.W+x] = 0
	}
}

func (r *renderer) offset(width int) int {
	switch r.align {
	case AlignCenter:
		return max(0, (r.W-width)/2)
	case AlignRight:
		return max(0, r.W-width)
	}
	return 0
}

// flush prints the pending text line; feed forces an empty line when none is pending.
func (r *renderer) flush(feed bool) error {
	if len(r.line) == 0 {
		if !feed {
			return nil
		}
		if err := r.grow(r.spacing); err != nil {
			return err
		}
		r.page.Lines = append(r.page.Lines, TextLine{Y: r.y})
		r.y += r.spacing
		return nil
	}
	cells := r.line
	r.line = r.line[:0]
	for len(cells) > 0 { // the printer wraps a line wider than the paper
		n, width, hmax := 0, 0, 1
		for n < len(cells) && width+cellW*cells[n].w <= r.W {
			width += cellW * cells[n].w
			hmax = max(hmax, cells[n].h)
			n++
		}
		n = max(n, 1)
		height := cellH*hmax + max(r.spacing-cellH, 0)
		if err := r.grow(height); err != nil {
			return err
		}
		x := r.offset(width)
		text := make([]rune, 0, n)
		for _, c := range cells[:n] {
			r.drawCell(c, x, r.y+cellH*(hmax-c.h))
			x += cellW * c.w
			text = append(text, c.r)
		}
		r.page.Lines = append(r.page.Lines, TextLine{Y: r.y, Text: string(text)})
		r.y += height
		cells = cells[n:]
	}
	return nil
}

func (r *renderer) mask(ch rune) *image.Alpha {
	if m, ok := r.glyph[ch]; ok {
		return m
	}
	m := image.NewAlpha(image.Rect(0, 0, cellW, cellH))
	d := font.Drawer{Dst: m, Src: image.Opaque, Face: r.face, Dot: fixed.P(0, r.asc)}
	d.DrawString(string(ch))
	r.glyph[ch] = m
	return m
}

func (r *renderer) drawCell(c cell, x0, y0 int) {
	m := r.mask(c.r)
	ink := func(sx, sy int) bool {
		if sx < 0 {
			return false
		}
		return m.AlphaAt(sx, sy).A >= 0x80
	}
	for dy := 0; dy < cellH*c.h; dy++ {
		sy := dy / c.h
		for dx := 0; dx < cellW*c.w; dx++ {
			sx := dx / c.w
			on := ink(sx, sy) || (c.bold && ink(sx-1, sy))
			if c.underline > 0 && sy >= cellH-c.underline {
				on = true
			}
			if on != c.rev {
				r.set(x0+dx, y0+dy)
			}
		}
	}
}

// need returns data[i:i+n], or a truncation error naming the command that starts
// at r.at.
func (r *renderer) need(data []byte, i, n int, cmd string) ([]byte, error) {
	if n < 0 || i < 0 || i > len(data) || n > len(data)-i { // no i+n: it can overflow on 32-bit
		return nil, &SyntaxError{Offset: r.at, Cmd: cmd, Err: ErrTruncated}
	}
	return data[i : i+n], nil
}

func (r *renderer) run(data []byte) error {
	for i := 0; i < len(data); {
		b := data[i]
		r.at = i
		var n int
		var err error
		switch b {
		case esc:
			n, err = r.escCmd(data, i)
		case gs:
			n, err = r.gsCmd(data, i)
		case fs:
			n, err = r.fsCmd(data, i)
		case dle:
			n, err = r.dleCmd(data, i)
		case lf:
			n, err = 1, r.flush(true)
		case '\t':
			for k := 8 - len(r.line)%8; k > 0; k-- {
				r.addRune(' ')
			}
			n = 1
		case 0x18: // CAN: drop the line buffer
			r.line, n = r.line[:0], 1
		default:
			n = 1
			if b >= 0x20 {
				r.addRune(r.decode(b))
			}
		}
		if err != nil {
			return err
		}
		i += n
	}
	return nil
}

func (r *renderer) decode(b byte) rune {
	if b < 0x80 {
		return rune(b)
	}
	return r.cs.charmap().DecodeByte(b)
}

func (r *renderer) addRune(ch rune) {
	if len(r.line) > 4*r.W { // cap runaway lines from garbage
		return
	}
	r.line = append(r.line, cell{r: ch, w: r.w, h: r.h, bold: r.bold, rev: r.rev, underline: r.underline})
}

// escCmd handles ESC x …; it returns the command length.
func (r *renderer) escCmd(data []byte, i int) (int, error) {
	hdr, err := r.need(data, i, 2, "ESC")
	if err != nil {
		return 0, err
	}
	arg := func(k int) ([]byte, error) { return r.need(data, i+2, k, "ESC "+string(rune(hdr[1]))) }
	switch hdr[1] {
	case '@':
		if err := r.flush(false); err != nil {
			return 0, err
		}
		r.reset()
		return 2, nil
	case '2':
		r.spacing = defaultSpacing
		return 2, nil
	case 'E', 'G':
		a, err := arg(1)
		if err != nil {
			return 0, err
		}
		r.bold = a[0]&1 == 1
		return 3, nil
	case '-':
		a, err := arg(1)
		if err != nil {
			return 0, err
		}
		r.underline = map[byte]int{0: 0, 1: 1, 2: 2, '0': 0, '1': 1, '2': 2}[a[0]]
		return 3, nil
	case 'a':
		a, err := arg(1)
		if err != nil {
			return 0, err
		}
		if v := a[0] % 48; v <= 2 {
			r.align = Align(v)
		}
		return 3, nil
	case 't':
		a, err := arg(1)
		if err != nil {
			return 0, err
		}
		r.cs = r.p.charsetFor(int(a[0]))
		return 3, nil
	case '3':
		a, err := arg(1)
		if err != nil {
			return 0, err
		}
		r.spacing = max(int(a[0]), 1)
		return 3, nil
	case '!': // print mode: bold bit 3, double height bit 4, double width bit 5, underline bit 7
		a, err := arg(1)
		if err != nil {
			return 0, err
		}
		r.bold, r.h, r.w, r.underline = a[0]&8 != 0, 1+int(a[0]>>4&1), 1+int(a[0]>>5&1), int(a[0]>>7)
		return 3, nil
	case 'd', 'J':
		a, err := arg(1)
		if err != nil {
			return 0, err
		}
		if err := r.flush(false); err != nil {
			return 0, err
		}
		if hdr[1] == 'J' {
			if err := r.grow(int(a[0])); err != nil {
				return 0, err
			}
			r.y += int(a[0])
			return 3, nil
		}
		for k := 0; k < int(a[0]); k++ {
			if err := r.flush(true); err != nil {
				return 0, err
			}
		}
		return 3, nil
	case 'p':
		if _, err := arg(3); err != nil {
			return 0, err
		}
		r.page.Pulses++
		return 5, nil
	case '*': // column bit image: skipped, not drawn
		a, err := arg(3)
		if err != nil {
			return 0, err
		}
		k := int(a[1]) | int(a[2])<<8
		if a[0] >= 32 {
			k *= 3
		}
		if _, err := r.need(data, i+5, k, "ESC *"); err != nil {
			return 0, err
		}
		return 5 + k, nil
	case 'D': // tab stops, NUL-terminated, at most 32
		for k := i + 2; k < len(data) && k < i+2+33; k++ {
			if data[k] == 0 {
				return k - i + 1, nil
			}
		}
		return 0, &SyntaxError{Offset: r.at, Cmd: "ESC D", Err: ErrTruncated}
	case '&': // user-defined characters: ESC & y c1 c2 {x d1…d(y·x)}…
		a, err := arg(3)
		if err != nil {
			return 0, err
		}
		n := 5
		for c := int(a[1]); c <= int(a[2]); c++ {
			x, err := r.need(data, i+n, 1, "ESC &")
			if err != nil {
				return 0, err
			}
			k := int(a[0]) * int(x[0])
			if _, err := r.need(data, i+n+1, k, "ESC &"); err != nil {
				return 0, err
			}
			n += 1 + k
		}
		return n, nil
	case 'c':
		if _, err := arg(2); err != nil {
			return 0, err
		}
		return 4, nil
	case '$', '\\':
		if _, err := arg(2); err != nil {
			return 0, err
		}
		return 4, nil
	case 'W':
		if _, err := arg(8); err != nil {
			return 0, err
		}
		return 10, nil
	case '%', '=', '?', 'M', 'R', 'T', 'U', 'V', 'e', '{', 'u', 'K', 'r':
		if _, err := arg(1); err != nil {
			return 0, err
		}
		return 3, nil
	}
	return 2, nil // ESC L, ESC S, ESC i, ESC m and unknown: no parameters
}

func (r *renderer) gsCmd(data []byte, i int) (int, error) {
	hdr, err := r.need(data, i, 2, "GS")
	if err != nil {
		return 0, err
	}
	name := "GS " + string(rune(hdr[1]))
	arg := func(k int) ([]byte, error) { return r.need(data, i+2, k, name) }
	switch hdr[1] {
	case '!':
		a, err := arg(1)
		if err != nil {
			return 0, err
		}
		r.w, r.h = 1+int(a[0]>>4&7), 1+int(a[0]&7)
		return 3, nil
	case 'B':
		a, err := arg(1)
		if err != nil {
			return 0, err
		}
		r.rev = a[0]&1 == 1
		return 3, nil
	case 'V':
		a, err := arg(1)
		if err != nil {
			return 0, err
		}
		if err := r.flush(false); err != nil {
			return 0, err
		}
		r.page.Cuts++
		switch a[0] {
		case 65, 66, 97, 98, 103, 104:
			if _, err := arg(2); err != nil {
				return 0, err
			}
			return 4, nil
		}
		return 3, nil
	case 'r', 'I':
		if _, err := arg(1); err != nil {
			return 0, err
		}
		r.page.StatusRequests++
		return 3, nil
	case 'v':
		return r.rasterCmd(data, i)
	case '(':
		return r.gsParen(data, i)
	case '8':
		a, err := arg(5) // GS 8 L p1 p2 p3 p4
		if err != nil {
			return 0, err
		}
		k := int(a[1]) | int(a[2])<<8 | int(a[3])<<16 | int(a[4])<<24
		if _, err := r.need(data, i+7, k, "GS 8"); err != nil {
			return 0, err
		}
		return 7 + k, nil
	case '*':
		a, err := arg(2)
		if err != nil {
			return 0, err
		}
		k := int(a[0]) * int(a[1]) * 8
		if _, err := r.need(data, i+4, k, "GS *"); err != nil {
			return 0, err
		}
		return 4 + k, nil
	case 'k': // barcodes: m ≤ 6 is NUL-terminated, else a length byte
		a, err := arg(1)
		if err != nil {
			return 0, err
		}
		if a[0] <= 6 {
			for k := i + 3; k < len(data); k++ {
				if data[k] == 0 {
					return k - i + 1, nil
				}
			}
			return 0, &SyntaxError{Offset: r.at, Cmd: name, Err: ErrTruncated}
		}
		n, err := arg(2)
		if err != nil {
			return 0, err
		}
		if _, err := r.need(data, i+4, int(n[1]), name); err != nil {
			return 0, err
		}
		return 4 + int(n[1]), nil
	case '$', 'L', 'P', 'W', '\\':
		if _, err := arg(2); err != nil {
			return 0, err
		}
		return 4, nil
	case '^':
		if _, err := arg(3); err != nil {
			return 0, err
		}
		return 5, nil
	case '/', 'H', 'a', 'b', 'f', 'h', 'w', 'j', 'E', 'T':
		if _, err := arg(1); err != nil {
			return 0, err
		}
		if hdr[1] == 'a' {
			r.page.StatusRequests++
		}
		return 3, nil
	}
	return 2, nil
}

// rasterCmd draws GS v 0 m xL xH yL yH d….
func (r *renderer) rasterCmd(data []byte, i int) (int, error) {
	a, err := r.need(data, i+2, 6, "GS v")
	if err != nil {
		return 0, err
	}
	if a[0] != '0' {
		return 3, nil // not a raster command we know; skip the function byte
	}
	m := a[1] % 48
	bx, rows := int(a[2])|int(a[3])<<8, int(a[4])|int(a[5])<<8
	k := bx * rows
	img, err := r.need(data, i+8, k, "GS v 0")
	if err != nil {
		return 0, err
	}
	if err := r.flush(false); err != nil {
		return 0, err
	}
	sx, sy := 1, 1
	if m&1 != 0 {
		sx = 2
	}
	if m&2 != 0 {
		sy = 2
	}
	width := min(bx*8*sx, r.W) // data past the print width is discarded
	if err := r.grow(rows * sy); err != nil {
		return 0, err
	}
	x0 := r.offset(width)
	for y := 0; y < rows; y++ {
		row := img[y*bx : (y+1)*bx]
		for x := 0; x*sx < width; x++ {
			if row[x/8]&(0x80>>(x%8)) == 0 {
				continue
			}
			for dy := 0; dy < sy; dy++ {
				for dx := 0; dx < sx; dx++ {
					r.set(x0+x*sx+dx, r.y+y*sy+dy)
				}
			}
		}
	}
	bounds := image.Rect(x0, r.y, x0+width, r.y+rows*sy)
	r.y += rows * sy
	// Consecutive bands of one picture are one graphic.
	if g := r.page.Graphics; len(g) > 0 && g[len(g)-1].Kind == GraphicRaster &&
		g[len(g)-1].Bounds.Max.Y == bounds.Min.Y && g[len(g)-1].Bounds.Min.X == bounds.Min.X &&
		g[len(g)-1].Bounds.Dx() == bounds.Dx() {
		g[len(g)-1].Bounds.Max.Y = bounds.Max.Y
	} else {
		r.page.Graphics = append(r.page.Graphics, Graphic{Kind: GraphicRaster, Bounds: bounds})
	}
	return 8 + k, nil
}

// gsParen handles GS ( x pL pH …: QR functions are interpreted, the rest skipped.
func (r *renderer) gsParen(data []byte, i int) (int, error) {
	a, err := r.need(data, i+2, 3, "GS (")
	if err != nil {
		return 0, err
	}
	k := int(a[1]) | int(a[2])<<8
	p, err := r.need(data, i+5, k, "GS ( "+string(rune(a[0])))
	if err != nil {
		return 0, err
	}
	if a[0] != 'k' || k < 2 || p[0] != '1' {
		return 5 + k, nil
	}
	switch p[1] {
	case 'C':
		if k >= 3 {
			r.qr.size = int(p[2])
		}
	case 'E':
		if k >= 3 {
			r.qr.ec = map[byte]ECLevel{'0': ECLow, '1': ECMedium, '2': ECQuartile, '3': ECHigh}[p[2]]
		}
	case 'P':
		if k >= 3 {
			r.qr.data = string(p[3:])
		}
	case 'Q':
		if err := r.printQR(); err != nil {
			return 0, err
		}
	}
	return 5 + k, nil
}

func (r *renderer) printQR() error {
	if err := r.flush(false); err != nil {
		return err
	}
	size := r.qr.size
	if size < 1 || size > 16 {
		return nil // out of range: the printer ignores the command
	}
	// Streams may print one stored symbol many times; encode it once.
	key := qrKey{r.qr.data, r.qr.ec}
	m, ok := r.qrCache[key]
	if !ok {
		var err error
		if m, err = encodeQR(r.qr.data, r.qr.ec); err != nil {
			m = nil // no or unencodable data: nothing prints
		}
		r.qrCache[key] = m
	}
	if m == nil {
		return nil
	}
	width := len(m) * size
	if width > r.W {
		return nil // too wide: the printer prints nothing
	}
	if err := r.grow(width); err != nil {
		return err
	}
	x0 := r.offset(width)
	for y, row := range m {
		for x, dark := range row {
			if !dark {
				continue
			}
			for dy := 0; dy < size; dy++ {
				for dx := 0; dx < size; dx++ {
					r.set(x0+x*size+dx, r.y+y*size+dy)
				}
			}
		}
	}
	r.page.Graphics = append(r.page.Graphics, Graphic{
		Kind: GraphicNativeQR, Bounds: image.Rect(x0, r.y, x0+width, r.y+width),
		Data: r.qr.data, ModuleSize: size, EC: r.qr.ec,
	})
	r.y += width
	return nil
}

func (r *renderer) fsCmd(data []byte, i int) (int, error) {
	hdr, err := r.need(data, i, 2, "FS")
	if err != nil {
		return 0, err
	}
	switch hdr[1] {
	case '!', '-', 'C', 'W':
		if _, err := r.need(data, i+2, 1, "FS"); err != nil {
			return 0, err
		}
		return 3, nil
	case 'S', 'p':
		if _, err := r.need(data, i+2, 2, "FS"); err != nil {
			return 0, err
		}
		return 4, nil
	}
	return 2, nil // FS . and FS & take no parameters
}

func (r *renderer) dleCmd(data []byte, i int) (int, error) {
	hdr, err := r.need(data, i, 2, "DLE")
	if err != nil {
		return 0, err
	}
	switch hdr[1] {
	case 0x04, 0x05: // DLE EOT n, DLE ENQ n
		if _, err := r.need(data, i+2, 1, "DLE EOT"); err != nil {
			return 0, err
		}
		if hdr[1] == 0x04 {
			r.page.StatusRequests++
		}
		return 3, nil
	case 0x14: // DLE DC4 fn …
		a, err := r.need(data, i+2, 1, "DLE DC4")
		if err != nil {
			return 0, err
		}
		k := map[byte]int{1: 2, 2: 2, 7: 1, 8: 7}[a[0]]
		if _, err := r.need(data, i+3, k, "DLE DC4"); err != nil {
			return 0, err
		}
		if a[0] == 1 {
			r.page.Pulses++
		}
		return 3 + k, nil
	}
	return 1, nil // a lone DLE is a control byte; the next byte is processed normally
}
