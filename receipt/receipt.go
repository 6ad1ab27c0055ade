package receipt

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/posagent/posagent/escpos"
)

// Titles the layout accepts.
const (
	TitleVAT        = "Faktura VAT"
	TitleSimplified = "Faktura uproszczona"
	TitleCorrection = "Faktura korygująca"
)

// LabelKOD2 is printed under KOD II.
const LabelKOD2 = "CERTYFIKAT"

// NoCodesTotalFailure is the NoCodes line of an invoice issued in a total
// failure of KSeF, which carries no QR codes.
const NoCodesTotalFailure = "Awaria całkowita KSeF — faktura bez kodów QR"

// Line is one invoice line, preformatted.
type Line struct {
	Name      string
	Qty       string // e.g. "2" or "0,535"
	Unit      string // e.g. "szt.", "kg"
	UnitPrice string // e.g. "4,99"
	Value     string // line value, e.g. "9,98"
	Rate      string // VAT rate label, e.g. "23%", "zw"
}

// VATRow is one row of the VAT summary.
type VATRow struct {
	Rate  string // e.g. "23%"
	Net   string
	VAT   string
	Gross string
}

// Doc is an invoice receipt, every field preformatted for print.
type Doc struct {
	SellerName    string
	SellerAddress []string
	SellerNIP     string

	Title  string // TitleVAT, TitleSimplified or TitleCorrection
	Number string
	Date   string // date of issue
	Place  string // place of issue; optional

	ModeLine string // e.g. "Tryb: offline24 — wysyłka do KSeF do 2026-11-23"; optional

	Buyer []string // name, address, NIP…; empty for none

	Lines      []Line
	VAT        []VATRow
	TotalNet   string
	TotalVAT   string
	TotalGross string
	Currency   string // e.g. "PLN"
	Payment    string // e.g. "Płatność: karta 123,45 PLN"; optional

	KOD1      string // verification link; empty only with NoCodes
	KOD1Label string // "OFFLINE" or the KSeF number
	KOD2      string // certificate link; empty = none
	// NoCodes is printed, centred and bold, where the codes would be when the
	// invoice carries none (total failure, see NoCodesTotalFailure). It is
	// required when KOD1 is empty and refused when KOD1 is set, so a missing
	// link is never printed silently.
	NoCodes string

	Duplicate string // date the duplicate was issued; empty = original
	Footer    []string
}

// QRMode selects how QR codes are sent.
type QRMode int

// QR modes.
const (
	QRAuto   QRMode = iota // native when the profile supports it, raster otherwise
	QRNative               // GS ( k
	QRRaster               // GS v 0, 2×2 scaled
)

func (m QRMode) String() string {
	switch m {
	case QRAuto:
		return "auto"
	case QRNative:
		return "native"
	case QRRaster:
		return "raster"
	}
	return fmt.Sprintf("QRMode(%d)", int(m))
}

// Validate checks that every required field is present.
func (d Doc) Validate() error {
	bad := func(field, reason string) error {
		return &FieldError{Field: field, Reason: reason, Err: ErrInvalidDoc}
	}
	blank := func(s string) bool { return strings.TrimSpace(s) == "" }
	switch {
	case blank(d.SellerName):
		return bad("SellerName", "missing")
	case blank(d.SellerNIP):
		return bad("SellerNIP", "missing")
	case d.Title != TitleVAT && d.Title != TitleSimplified && d.Title != TitleCorrection:
		return bad("Title", fmt.Sprintf("%q is not one of %q, %q, %q", d.Title, TitleVAT, TitleSimplified, TitleCorrection))
	case blank(d.Number):
		return bad("Number", "missing")
	case blank(d.Date):
		return bad("Date", "missing")
	case len(d.Lines) == 0:
		return bad("Lines", "no invoice lines")
	case blank(d.TotalGross):
		return bad("TotalGross", "missing")
	case blank(d.Currency):
		return bad("Currency", "missing")
	case blank(d.KOD1) && blank(d.NoCodes):
		return bad("KOD1", "missing (set NoCodes for an invoice without QR codes)")
	case blank(d.KOD1) && d.KOD2 != "":
		return bad("KOD2", "set without KOD1")
	case blank(d.KOD1) && d.KOD1Label != "":
		return bad("KOD1Label", "set without KOD1")
	case !blank(d.KOD1) && d.NoCodes != "":
		return bad("NoCodes", "set together with KOD1")
	case !blank(d.KOD1) && blank(d.KOD1Label):
		return bad("KOD1Label", "missing")
	}
	for i, l := range d.Lines {
		switch {
		case blank(l.Name):
			return bad(fmt.Sprintf("Lines[%d].Name", i), "missing")
		case blank(l.Value):
			return bad(fmt.Sprintf("Lines[%d].Value", i), "missing")
		}
	}
	for i, v := range d.VAT {
		if blank(v.Rate) || blank(v.Gross) {
			return bad(fmt.Sprintf("VAT[%d]", i), "rate and gross are required")
		}
	}
	return nil
}

// Render lays doc out for profile p and returns the ESC/POS bytes, ending with a cut.
func Render(doc Doc, p escpos.Profile, mode QRMode) ([]byte, error) {
	if err := doc.Validate(); err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("receipt: %w", err)
	}
	switch mode {
	case QRAuto:
		mode = QRRaster
		if p.NativeQR {
			mode = QRNative
		}
	case QRNative:
		if !p.NativeQR {
			return nil, fmt.Errorf("%w: %s", ErrNativeQRUnsupported, p.ID)
		}
	case QRRaster:
	default:
		return nil, fmt.Errorf("receipt: unknown QR mode %d", int(mode))
	}
	var buf bytes.Buffer
	l := &layout{w: escpos.NewWriter(&buf, p), cs: p.Charset, cols: p.Columns, mode: mode}
	if mode == QRRaster {
		// Encoding a raster QR costs milliseconds (the encoder tries all
		// eight masks): encode both codes at once while the text is laid out.
		var wg sync.WaitGroup
		defer wg.Wait()
		l.codes = map[string]*pending{}
		for _, data := range []string{doc.KOD1, doc.KOD2} {
			if data == "" || l.codes[data] != nil {
				continue
			}
			pc := &pending{done: make(chan struct{})}
			l.codes[data] = pc
			wg.Go(func() {
				defer close(pc.done)
				pc.code, pc.err = encodeFitting(data, p.DotsPerLine)
			})
		}
	}
	if err := l.doc(doc); err != nil {
		return nil, err
	}
	if err := l.w.Err(); err != nil {
		return nil, fmt.Errorf("receipt: %w", err)
	}
	return buf.Bytes(), nil
}

type layout struct {
	w     *escpos.Writer
	cs    escpos.Charset
	cols  int
	mode  QRMode
	codes map[string]*pending // raster codes being encoded, by data
}

// pending is a raster QR code an encoding goroutine is making.
type pending struct {
	done chan struct{} // closed when code or err is set
	code *escpos.QRCode
	err  error
}

// qrOptions are the options of every code: EC M, falling back to L (see
// layout.qr); Scale2x applies to rasters only.
var qrOptions = escpos.QROptions{EC: escpos.ECMedium, Scale2x: true}

// encodeFitting encodes data at EC M, or at L when the symbol at M does not
// fit dots: the fit check sizes the symbol without encoding it, so exactly
// one encode runs.
func encodeFitting(data string, dots int) (*escpos.QRCode, error) {
	opt := qrOptions
	_, err := escpos.FitQR(data, dots, opt)
	if errors.Is(err, escpos.ErrQRTooLarge) {
		opt.EC = escpos.ECLow
		_, err = escpos.FitQR(data, dots, opt)
	}
	if err != nil {
		return nil, err
	}
	return escpos.EncodeQR(data, opt.EC)
}

// wrap prints s wrapped to the line width.
func (l *layout) wrap(s string) {
	for _, line := range escpos.Wrap(l.cs.Printable(s), l.cols) {
		l.w.Line(line)
	}
}

func (l *layout) pair(left, right string) {
	for _, line := range escpos.Pair(l.cs.Printable(left), l.cs.Printable(right), l.cols) {
		l.w.Line(line)
	}
}

func (l *layout) rule() { l.w.Line(strings.Repeat("-", l.cols)) }

func (l *layout) doc(d Doc) error {
	w := l.w
	w.Init()

	// Seller.
	w.Align(escpos.AlignCenter)
	w.Bold(true)
	l.wrap(d.SellerName)
	w.Bold(false)
	for _, a := range d.SellerAddress {
		l.wrap(a)
	}
	l.wrap("NIP: " + d.SellerNIP)
	w.Align(escpos.AlignLeft)
	l.rule()

	// Title, number, date, place.
	w.Align(escpos.AlignCenter)
	w.Bold(true)
	w.Size(1, 2)
	l.wrap(d.Title)
	w.Size(1, 1)
	l.wrap("Nr " + d.Number)
	w.Bold(false)
	w.Align(escpos.AlignLeft)
	l.pair("Data wystawienia:", d.Date)
	if d.Place != "" {
		l.pair("Miejsce wystawienia:", d.Place)
	}
	if d.ModeLine != "" {
		l.wrap(d.ModeLine)
	}

	// Buyer.
	if len(d.Buyer) > 0 {
		l.rule()
		w.Bold(true)
		w.Line("Nabywca:")
		w.Bold(false)
		for _, b := range d.Buyer {
			l.wrap(b)
		}
	}

	// Lines.
	l.rule()
	for _, ln := range d.Lines {
		l.wrap(ln.Name)
		qty := strings.TrimSpace(strings.Join([]string{ln.Qty, ln.Unit}, " "))
		if ln.UnitPrice != "" {
			qty += " x " + ln.UnitPrice
		}
		l.pair(qty, strings.TrimSpace(ln.Value+" "+ln.Rate))
	}
	l.rule()

	// VAT summary.
	if len(d.VAT) > 0 {
		l.vatTable(d.VAT)
		l.rule()
	}

	// Totals and payment.
	if d.TotalNet != "" {
		l.pair("Razem netto", d.TotalNet)
	}
	if d.TotalVAT != "" {
		l.pair("Razem VAT", d.TotalVAT)
	}
	w.Bold(true)
	w.Size(1, 2)
	l.pair("DO ZAPŁATY", d.TotalGross+" "+d.Currency)
	w.Size(1, 1)
	w.Bold(false)
	if d.Payment != "" {
		l.wrap(d.Payment)
	}

	// KOD I and KOD II, or the line saying why there are none.
	if d.KOD1 == "" {
		w.LF()
		w.Align(escpos.AlignCenter)
		w.Bold(true)
		l.wrap(d.NoCodes)
		w.Bold(false)
		w.Align(escpos.AlignLeft)
	} else if err := l.qr("KOD I", d.KOD1, d.KOD1Label); err != nil {
		return err
	}
	if d.KOD2 != "" {
		if err := l.qr("KOD II", d.KOD2, LabelKOD2); err != nil {
			return err
		}
	}

	// Duplicate marker.
	if d.Duplicate != "" {
		w.LF()
		w.Align(escpos.AlignCenter)
		w.Bold(true)
		w.Size(2, 2)
		w.Line("DUPLIKAT")
		w.Size(1, 1)
		w.Bold(false)
		l.wrap("z dnia " + d.Duplicate)
		w.Align(escpos.AlignLeft)
	}

	if len(d.Footer) > 0 {
		w.LF()
		w.Align(escpos.AlignCenter)
		for _, f := range d.Footer {
			l.wrap(f)
		}
		w.Align(escpos.AlignLeft)
	}
	w.Cut()
	return nil
}

// vatTable prints the summary as a four-column table, or as one block per rate when
// an amount would not fit its column: amounts are never cut.
func (l *layout) vatTable(rows []VATRow) {
	amt := (l.cols - 5) / 3
	widths := []int{l.cols - 3*amt, amt, amt, amt}
	// Each cell keeps at least one space from its neighbour.
	cell := func(i int, s string) bool { return escpos.Width(l.cs.Printable(s)) < widths[i] }
	fits := true
	for _, r := range rows {
		fits = fits && cell(0, r.Rate) && cell(1, r.Net) && cell(2, r.VAT) && cell(3, r.Gross)
	}
	rateHdr := "Stawka"
	if widths[0] <= len(rateHdr) {
		rateHdr = "St."
	}
	l.w.Line("Podsumowanie VAT:")
	if fits {
		l.w.Line(escpos.Columns([]string{rateHdr, "Netto", "VAT", "Brutto"}, widths))
		for _, r := range rows {
			l.w.Line(escpos.Columns([]string{l.cs.Printable(r.Rate), l.cs.Printable(r.Net), l.cs.Printable(r.VAT), l.cs.Printable(r.Gross)}, widths))
		}
		return
	}
	for _, r := range rows {
		l.wrap("Stawka " + r.Rate + ":")
		if r.Net != "" {
			l.pair("netto", r.Net)
		}
		if r.VAT != "" {
			l.pair("VAT", r.VAT)
		}
		l.pair("brutto", r.Gross)
	}
}

// qr prints one code with its label below, falling back from EC M to L when the
// symbol does not fit the paper at M.
func (l *layout) qr(name, data, label string) error {
	var err error
	if pc := l.codes[data]; pc != nil {
		<-pc.done
		if err = pc.err; err == nil {
			_, err = l.w.QRRasterCode(pc.code, qrOptions)
		}
	} else {
		emit := l.w.QRRaster
		opt := qrOptions
		if l.mode == QRNative {
			emit = l.w.QRNative
		}
		_, err = emit(data, opt)
		if errors.Is(err, escpos.ErrQRTooLarge) {
			opt.EC = escpos.ECLow
			_, err = emit(data, opt)
		}
	}
	if err != nil {
		return fmt.Errorf("receipt: %s: %w", name, err)
	}
	l.w.Align(escpos.AlignCenter)
	l.w.Bold(true)
	l.wrap(label)
	l.w.Bold(false)
	l.w.Align(escpos.AlignLeft)
	return nil
}
