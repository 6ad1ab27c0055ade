package escpos

import (
	"fmt"
	"io"
)

// Command bytes.
const (
	esc = 0x1b
	gs  = 0x1d
	fs  = 0x1c
	dle = 0x10
	lf  = 0x0a
)

// Align is the ESC a justification.
type Align byte

// Justifications.
const (
	AlignLeft Align = iota
	AlignCenter
	AlignRight
)

// Writer encodes ESC/POS commands for one profile onto an io.Writer. Errors are
// sticky: after the first one every call is a no-op and Err returns it. Writer keeps
// no buffer of its own; wrap the destination in a bufio.Writer when it is a port.
type Writer struct {
	w       io.Writer
	p       Profile
	err     error
	buf     []byte // scratch for one command
	align   Align
	cs      Charset // charset of the selected code page
	midLine bool    // text was written since the last line feed
	qr      qrState // GS ( k settings sent since Init
	n       int64
}

// qrState is what the printer holds of the GS ( k settings. The printer keeps
// them until ESC @, a reset or power-off, so after Init a Writer resends only
// what changes between symbols. The zero value knows nothing and sends all.
type qrState struct {
	model bool    // model 2 selected
	size  int     // module size; 0 = not sent
	ec    ECLevel // valid when ecSet
	ecSet bool
}

// NewWriter returns a Writer for profile p. An invalid profile makes every call fail
// with the *ProfileError from p.Validate.
func NewWriter(w io.Writer, p Profile) *Writer {
	return &Writer{w: w, p: p, cs: p.Charset, err: p.Validate()}
}

// Err returns the first error met, or nil.
func (w *Writer) Err() error { return w.err }

// Written returns the number of bytes written so far.
func (w *Writer) Written() int64 { return w.n }

// Profile returns the profile the writer encodes for.
func (w *Writer) Profile() Profile { return w.p.clone() }

func (w *Writer) fail(err error) error {
	if w.err == nil {
		w.err = err
	}
	return err
}

func (w *Writer) write(b ...byte) {
	if w.err != nil {
		return
	}
	n, err := w.w.Write(b)
	w.n += int64(n)
	if err != nil {
		w.err = fmt.Errorf("escpos: write: %w", err)
	}
}

// Init resets the printer (ESC @), leaves Kanji mode (FS .) when the profile asks
// for it, and selects the profile's code page (ESC t n).
func (w *Writer) Init() {
	w.write(esc, '@')
	if w.p.CancelKanji {
		w.write(fs, '.')
	}
	w.write(esc, 't', byte(w.p.CodePage))
	w.align, w.midLine, w.cs, w.qr = AlignLeft, false, w.p.Charset, qrState{}
}

// SetCodePage selects another code page (ESC t n) and encodes the following text
// in its charset, until the next SetCodePage or Init.
func (w *Writer) SetCodePage(cp CodePage) {
	if cp.N < 0 || cp.N > 255 || cp.Charset.charmap() == nil {
		w.fail(fmt.Errorf("%w: code page %d %q", ErrInvalidArgument, cp.N, cp.Charset))
		return
	}
	w.write(esc, 't', byte(cp.N))
	w.cs = cp.Charset
}

// Text writes s in the current charset. '\n' ends a line.
func (w *Writer) Text(s string) {
	if w.err != nil || s == "" {
		return
	}
	w.buf = w.cs.encode(w.buf[:0], s)
	if len(w.buf) == 0 {
		return
	}
	w.midLine = w.buf[len(w.buf)-1] != lf
	w.write(w.buf...)
}

// Line writes s and a line feed.
func (w *Writer) Line(s string) {
	w.Text(s)
	w.LF()
}

// LF ends the current line, or feeds one empty line at a line start.
func (w *Writer) LF() {
	w.write(lf)
	w.midLine = false
}

// endLine feeds only if text is pending, so block commands start a fresh line.
func (w *Writer) endLine() {
	if w.midLine {
		w.LF()
	}
}

// Bold turns emphasis on or off (ESC E n).
func (w *Writer) Bold(on bool) { w.write(esc, 'E', b2i(on)) }

// Style is an ESC ! print mode: Font A plus any of bold, double height and
// double width.
type Style byte

// Styles, combined with |. The zero Style is plain Font A at normal size.
const (
	StyleBold Style = 0x08 // emphasised
	StyleTall Style = 0x10 // double height
	StyleWide Style = 0x20 // double width: a line holds half as many columns
)

// Style sets emphasis and size together (ESC ! n): one 3-byte command where Bold
// and Size take two. It replaces earlier Bold, Size and Underline settings.
func (w *Writer) Style(s Style) {
	if s&^(StyleBold|StyleTall|StyleWide) != 0 {
		w.fail(fmt.Errorf("%w: style %#02x", ErrInvalidArgument, byte(s)))
		return
	}
	w.write(esc, '!', byte(s))
}

// Underline sets underline off (0), 1-dot (1) or 2-dot (2) (ESC - n).
func (w *Writer) Underline(n int) {
	if n < 0 || n > 2 {
		w.fail(fmt.Errorf("%w: underline %d", ErrInvalidArgument, n))
		return
	}
	w.write(esc, '-', byte(n))
}

// Reverse turns white-on-black printing on or off (GS B n).
func (w *Writer) Reverse(on bool) { w.write(gs, 'B', b2i(on)) }

// Align sets the justification (ESC a n) for the following lines and graphics.
func (w *Writer) Align(a Align) {
	if a > AlignRight {
		w.fail(fmt.Errorf("%w: align %d", ErrInvalidArgument, a))
		return
	}
	w.write(esc, 'a', byte(a))
	w.align = a
}

// Size sets character magnification, 1–8 in each direction (GS ! n). A double-width
// line holds half as many columns.
func (w *Writer) Size(width, height int) {
	if width < 1 || width > 8 || height < 1 || height > 8 {
		w.fail(fmt.Errorf("%w: size %dx%d", ErrInvalidArgument, width, height))
		return
	}
	w.write(gs, '!', byte((width-1)<<4|(height-1)))
}

// Feed prints pending text and feeds n lines, 0–255 (ESC d n).
func (w *Writer) Feed(n int) {
	if n < 0 || n > 255 {
		w.fail(fmt.Errorf("%w: feed %d", ErrInvalidArgument, n))
		return
	}
	w.write(esc, 'd', byte(n))
	w.midLine = false
}

// Cut feeds the paper to the cutter and cuts it as the profile allows; without a
// cutter it feeds enough for tearing off.
func (w *Writer) Cut() {
	w.endLine()
	switch w.p.Cut {
	case CutFull:
		w.write(gs, 'V', 'A', 3)
	case CutPartial:
		w.write(gs, 'V', 'B', 3)
	default:
		w.Feed(4)
	}
}

// Pulse opens the cash drawer on pin 2 with a 100 ms pulse (ESC p 0 50 250).
func (w *Writer) Pulse() { w.write(esc, 'p', 0, 50, 250) }

// JobEnd appends GS r 1 (1D 72 31), the paper-sensor status request that
// PaperSensorQuery also sends; its reply arrives only once every byte before it has
// been processed, which marks the end of the job.
func (w *Writer) JobEnd() { w.write(gs, 'r', '1') }

// Raw writes bytes unchanged, for commands this package does not model. The
// Writer does not read them: after raw bytes that reset the printer or change
// its justification, call Init or Align so its state matches the printer's.
func (w *Writer) Raw(b []byte) { w.write(b...) }

func b2i(on bool) byte {
	if on {
		return 1
	}
	return 0
}
