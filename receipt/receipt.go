package receipt

import (
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
	// TitleCorrectionPending titles the slip of a correction that waits for
	// its original's KSeF number: not an invoice.
	TitleCorrectionPending = "Zlecenie korekty (nie jest fakturą)"
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
	// Repeat is the time of the first attempt of a print repeated after a
	// restart (the first may have reached the paper), e.g.
	// "2026-11-21 10:42:13"; empty = not repeated, and left out of JSON.
	Repeat string `json:",omitempty"`
	Footer []string
}

// Marks of a print that is not the first original, printed first on the
// receipt, so a receipt cut short by a crash still shows it.
const (
	// MarkDuplicate heads a duplicate; art. 106l ust. 2 ustawy o VAT
	// requires the word DUPLIKAT and the duplicate's date on it.
	MarkDuplicate = "DUPLIKAT"
	// MarkRepeat heads a print repeated after a restart, with the first
	// attempt's time: the first may have come out, and two copies without
	// a mark could pass for two originals of one invoice (issue 16).
	MarkRepeat = "PONOWNY WYDRUK"
)

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
	case d.Title != TitleVAT && d.Title != TitleSimplified && d.Title != TitleCorrection && d.Title != TitleCorrectionPending:
		return bad("Title", fmt.Sprintf("%q is not one of %q, %q, %q, %q", d.Title, TitleVAT, TitleSimplified, TitleCorrection, TitleCorrectionPending))
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
// It is RenderParts with the two parts joined.
func Render(doc Doc, p escpos.Profile, mode QRMode) ([]byte, error) {
	head, tail, err := RenderParts(doc, p, mode)
	if err != nil {
		return nil, err
	}
	rest, err := tail()
	if err != nil {
		return nil, err
	}
	return append(head, rest...), nil
}

// RenderParts is Render split where a printer can start: head holds everything
// before the first QR code (the DUPLIKAT and PONOWNY WYDRUK marks included:
// they head the receipt) and is ready at once; tail returns the rest (codes,
// labels, footer, cut). In raster mode tail encodes the
// codes, all at once, which takes milliseconds: a printer calls it once the
// head is on its way, so the encoding overlaps the serial line instead of
// delaying the first byte or competing with it for the CPU. head+tail equals
// Render's bytes exactly. For a receipt without codes head is the whole
// receipt and tail returns no bytes.
//
// All validation and the QR fit checks (capacity table, no encoding) run
// before RenderParts returns, so a tail error means a broken encoder, not bad
// input. RenderParts starts nothing; tail waits for the encoders it starts.
// tail computes once: later calls, from any goroutine, return the same bytes
// (the caller must not modify them), and a tail never called costs nothing.
func RenderParts(doc Doc, p escpos.Profile, mode QRMode) (head []byte, tail func() ([]byte, error), err error) {
	mode, err = resolveMode(doc, p, mode)
	if err != nil {
		return nil, nil, err
	}
	codes, err := fitCodes(doc, p, mode)
	if err != nil {
		return nil, nil, err
	}
	out := &sink{}
	l := &layout{w: escpos.NewWriter(out, p), cs: p.Charset, cols: p.Columns, mode: mode, codes: codes}
	l.head(doc)
	if err := l.w.Err(); err != nil {
		return nil, nil, fmt.Errorf("receipt: %w", err)
	}
	head = out.take()
	tail = sync.OnceValues(func() ([]byte, error) {
		if mode == QRRaster {
			// The encoder tries all eight masks: one goroutine per code.
			var wg sync.WaitGroup
			for _, c := range codes {
				wg.Go(func() { c.code, c.err = escpos.EncodeQR(c.data, c.opt.EC) })
			}
			wg.Wait()
		}
		if err := l.tail(doc); err != nil {
			return nil, err
		}
		if err := l.w.Err(); err != nil {
			return nil, fmt.Errorf("receipt: %w", err)
		}
		return out.take(), nil
	})
	return head, tail, nil
}

// resolveMode validates doc, p and mode, and turns QRAuto into the mode the
// profile prints.
func resolveMode(doc Doc, p escpos.Profile, mode QRMode) (QRMode, error) {
	if err := doc.Validate(); err != nil {
		return 0, err
	}
	if err := p.Validate(); err != nil {
		return 0, fmt.Errorf("receipt: %w", err)
	}
	switch mode {
	case QRAuto:
		if p.NativeQR {
			return QRNative, nil
		}
		return QRRaster, nil
	case QRNative:
		if !p.NativeQR {
			return 0, fmt.Errorf("%w: %s", ErrNativeQRUnsupported, p.ID)
		}
		return mode, nil
	case QRRaster:
		return mode, nil
	}
	return 0, fmt.Errorf("receipt: unknown QR mode %d", int(mode))
}

// sink collects the bytes of one part of a receipt.
type sink struct{ b []byte }

func (s *sink) Write(p []byte) (int, error) {
	s.b = append(s.b, p...)
	return len(p), nil
}

// take hands over the bytes written so far; later writes start a new slice.
func (s *sink) take() []byte {
	b := s.b
	s.b = nil
	return b
}

type layout struct {
	w     *escpos.Writer
	cs    escpos.Charset
	cols  int
	mode  QRMode
	codes map[string]*code // the codes to print, by data
}

// code is one QR code of the receipt: its options, settled by the fit check,
// and in raster mode the symbol an encoding goroutine makes.
type code struct {
	data string
	opt  escpos.QROptions
	// Set by an encoding goroutine of tail, read after it is waited for.
	code *escpos.QRCode
	err  error
}

// qrOptions are the options of every code: EC M, falling back to L (see
// fitCodes); Scale2x applies to rasters only.
var qrOptions = escpos.QROptions{EC: escpos.ECMedium, Scale2x: true}

// fitCodes runs the fit check of each code at EC M, or at L when the symbol at
// M does not fit the paper: it sizes symbols from the capacity table without
// encoding them, so a raster code is encoded exactly once, at the level that
// fits.
func fitCodes(doc Doc, p escpos.Profile, mode QRMode) (map[string]*code, error) {
	codes := map[string]*code{}
	for _, c := range []struct{ name, data string }{{"KOD I", doc.KOD1}, {"KOD II", doc.KOD2}} {
		if c.data == "" || codes[c.data] != nil {
			continue
		}
		opt, fit := qrOptions, escpos.FitRasterQR
		if mode == QRNative {
			opt.Scale2x, fit = false, escpos.FitQR
		}
		_, err := fit(c.data, p.DotsPerLine, opt)
		if errors.Is(err, escpos.ErrQRTooLarge) {
			opt.EC = escpos.ECLow
			_, err = fit(c.data, p.DotsPerLine, opt)
		}
		if err != nil {
			return nil, fmt.Errorf("receipt: %s: %w", c.name, err)
		}
		codes[c.data] = &code{data: c.data, opt: opt}
	}
	return codes, nil
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

// Styles of the layout, each one ESC ! command.
const (
	plain    escpos.Style = 0
	bold                  = escpos.StyleBold
	emphasis              = escpos.StyleBold | escpos.StyleTall // title, number, total
	marker                = escpos.StyleBold | escpos.StyleTall | escpos.StyleWide
)

// head lays out everything before the first QR code. The layout spends few
// command bytes, since at 9600 baud each is a millisecond: one ESC ! per
// change of style, and justification switched only between blocks (the rules
// span the paper, so the header stays centred across one).
func (l *layout) head(d Doc) {
	w := l.w
	w.Init()

	// Seller, title, number: one centred block, after the marks of a print
	// that is not the first original.
	w.Align(escpos.AlignCenter)
	l.marks(d)
	l.seller(d.SellerName, d.SellerAddress, d.SellerNIP)
	w.Style(emphasis)
	l.wrap(d.Title)
	l.wrap("Nr " + d.Number)
	w.Style(plain)
	w.Align(escpos.AlignLeft)

	// Date, place, mode.
	l.pair("Data wystawienia:", d.Date)
	if d.Place != "" {
		l.pair("Miejsce wystawienia:", d.Place)
	}
	if d.ModeLine != "" {
		l.wrap(d.ModeLine)
	}

	l.buyer(d.Buyer)

	// Lines.
	l.rule()
	l.items(d.Lines, true)
	l.rule()

	// VAT summary.
	if len(d.VAT) > 0 {
		l.vatTable(d.VAT)
		l.rule()
	}

	l.totals(d.TotalNet, d.TotalVAT, d.TotalGross, d.Currency, d.Payment)

	// From here to the cut everything is centred: codes, labels, footer
	// (the marks head the receipt). The next job's ESC @ resets the
	// justification.
	w.Align(escpos.AlignCenter)
	if d.KOD1 == "" {
		l.noCodes(d)
	}
}

// seller prints the seller's name, address and NIP centred, and a rule; the
// justification stays centred for the title.
func (l *layout) seller(name string, address []string, nip string) {
	w := l.w
	w.Style(bold)
	l.wrap(name)
	w.Style(plain)
	for _, a := range address {
		l.wrap(a)
	}
	l.wrap("NIP: " + nip)
	l.rule()
}

// buyer prints the buyer block after a rule; nothing for no lines.
func (l *layout) buyer(lines []string) {
	if len(lines) == 0 {
		return
	}
	l.rule()
	l.w.Style(bold)
	l.w.Line("Nabywca:")
	l.w.Style(plain)
	for _, b := range lines {
		l.wrap(b)
	}
}

// items prints each line's name and its quantity, price and value, with its
// VAT rate when withRate.
func (l *layout) items(lines []Line, withRate bool) {
	for _, ln := range lines {
		l.wrap(ln.Name)
		qty := strings.TrimSpace(strings.Join([]string{ln.Qty, ln.Unit}, " "))
		if ln.UnitPrice != "" {
			qty += " x " + ln.UnitPrice
		}
		value := ln.Value
		if withRate {
			value = strings.TrimSpace(value + " " + ln.Rate)
		}
		l.pair(qty, value)
	}
}

// totals prints the net and VAT totals when given, the total to pay
// emphasised, and the payment.
func (l *layout) totals(net, vat, gross, currency, payment string) {
	if net != "" {
		l.pair("Razem netto", net)
	}
	if vat != "" {
		l.pair("Razem VAT", vat)
	}
	l.w.Style(emphasis)
	l.pair("DO ZAPŁATY", gross+" "+currency)
	l.w.Style(plain)
	if payment != "" {
		l.wrap(payment)
	}
}

// noCodes prints, where the codes would be, the line saying why there are
// none, and finishes the receipt: without codes the whole receipt is the head.
func (l *layout) noCodes(d Doc) {
	l.w.LF()
	l.w.Style(bold)
	l.wrap(d.NoCodes)
	l.w.Style(plain)
	l.end(d)
}

// tail lays out KOD I and KOD II and the rest of the receipt, centred; the
// raster encodes are done when it runs.
func (l *layout) tail(d Doc) error {
	if d.KOD1 == "" {
		return nil
	}
	if err := l.qr("KOD I", d.KOD1, d.KOD1Label); err != nil {
		return err
	}
	if d.KOD2 != "" {
		if err := l.qr("KOD II", d.KOD2, LabelKOD2); err != nil {
			return err
		}
	}
	l.end(d)
	return nil
}

// marks lays out, centred, the marks of a duplicate and of a repeated print:
// one marker-styled block for the words, the dates under it in plain.
func (l *layout) marks(d Doc) {
	if d.Duplicate == "" && d.Repeat == "" {
		return
	}
	w := l.w
	w.Style(marker)
	if d.Duplicate != "" {
		w.Line(MarkDuplicate)
	}
	if d.Repeat != "" {
		w.Line(MarkRepeat)
	}
	w.Style(plain)
	if d.Duplicate != "" {
		l.wrap("z dnia " + d.Duplicate)
	}
	if d.Repeat != "" {
		l.wrap("pierwsza próba wydruku " + d.Repeat)
		l.wrap("oryginał mógł już zostać wydrukowany")
	}
	l.rule()
}

// end lays out the footer and the cut, centred.
func (l *layout) end(d Doc) {
	w := l.w
	if len(d.Footer) > 0 {
		w.LF()
		for _, f := range d.Footer {
			l.wrap(f)
		}
	}
	w.Cut()
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

// qr prints one code, fitted beforehand, with its label below.
func (l *layout) qr(name, data, label string) error {
	c := l.codes[data]
	var err error
	switch {
	case c == nil:
		err = errors.New("no fit check") // fitCodes covers KOD1 and KOD2
	case l.mode == QRNative:
		_, err = l.w.QRNative(data, c.opt)
	case c.err != nil:
		err = c.err
	default:
		_, err = l.w.QRRasterCode(c.code, c.opt)
	}
	if err != nil {
		return fmt.Errorf("receipt: %s: %w", name, err)
	}
	// Plain: the label sits under its own code, and ESC E costs 6 bytes.
	l.wrap(label)
	return nil
}
