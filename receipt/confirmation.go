package receipt

import (
	"fmt"
	"slices"
	"strings"

	"github.com/posagent/posagent/escpos"
)

// TitleConfirmation is the title of a transaction confirmation.
const TitleConfirmation = "POTWIERDZENIE TRANSAKCJI"

// NotAnInvoice is printed under TitleConfirmation.
const NotAnInvoice = "Dokument nie jest fakturą"

// Confirmation is a transaction confirmation ("potwierdzenie transakcji"):
// what a domestic business buyer is handed while its invoice, issued
// offline, waits for its KSeF number. It is not an invoice: it has no
// invoice title and no QR codes, and it names the invoice (number, date),
// the amounts and the buyer's NIP, with a notice saying where the invoice
// will be. Every field is preformatted, as in Doc.
type Confirmation struct {
	SellerName    string
	SellerAddress []string
	SellerNIP     string

	Invoice string // number of the invoice confirmed
	Date    string // its date of issue
	Place   string // optional

	BuyerNIP string   // required: only a buyer with a NIP gets one
	Buyer    []string // name and address lines; optional

	Lines      []Line // the rate is not printed: the invoice carries the VAT
	TotalNet   string // optional
	TotalVAT   string // optional
	TotalGross string
	Currency   string
	Payment    string // optional

	// Notice says that, and when, the invoice will be in KSeF; required.
	Notice    []string
	Duplicate string // date of a duplicate (DUPLIKAT); empty = first
	Repeat    string // first attempt of a print a restart repeats (PONOWNY WYDRUK); empty = none
	Footer    []string
}

// Validate checks that every required field is present.
func (c Confirmation) Validate() error {
	bad := func(field, reason string) error {
		return &FieldError{Field: field, Reason: reason, Err: ErrInvalidDoc}
	}
	blank := func(s string) bool { return strings.TrimSpace(s) == "" }
	switch {
	case blank(c.SellerName):
		return bad("SellerName", "missing")
	case blank(c.SellerNIP):
		return bad("SellerNIP", "missing")
	case blank(c.Invoice):
		return bad("Invoice", "missing")
	case blank(c.Date):
		return bad("Date", "missing")
	case blank(c.BuyerNIP):
		return bad("BuyerNIP", "missing")
	case len(c.Lines) == 0:
		return bad("Lines", "no lines")
	case blank(c.TotalGross):
		return bad("TotalGross", "missing")
	case blank(c.Currency):
		return bad("Currency", "missing")
	case blank(strings.Join(c.Notice, "")):
		return bad("Notice", "missing: say where the invoice will be")
	}
	for i, l := range c.Lines {
		if blank(l.Name) || blank(l.Value) {
			return bad(fmt.Sprintf("Lines[%d]", i), "name and value are required")
		}
	}
	return nil
}

// RenderConfirmation lays c out for profile p and returns the ESC/POS bytes,
// ending with a cut. It prints no graphics, so it has no parts to split.
func RenderConfirmation(c Confirmation, p escpos.Profile) ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("receipt: %w", err)
	}
	out := &sink{}
	l := &layout{w: escpos.NewWriter(out, p), cs: p.Charset, cols: p.Columns}
	l.confirmation(c)
	if err := l.w.Err(); err != nil {
		return nil, fmt.Errorf("receipt: %w", err)
	}
	return out.take(), nil
}

// confirmation lays out a Confirmation with the invoice's layout and styles.
func (l *layout) confirmation(c Confirmation) {
	w := l.w
	w.Init()
	// Marks first, as on the invoice: a receipt cut short still shows them.
	w.Align(escpos.AlignCenter)
	l.marks(Doc{Duplicate: c.Duplicate, Repeat: c.Repeat})
	l.seller(c.SellerName, c.SellerAddress, c.SellerNIP)
	w.Style(emphasis)
	l.wrap(TitleConfirmation)
	w.Style(plain)
	l.wrap(NotAnInvoice)
	w.Align(escpos.AlignLeft)
	l.rule()

	l.pair("Nr faktury:", c.Invoice)
	l.pair("Data wystawienia:", c.Date)
	if c.Place != "" {
		l.pair("Miejsce wystawienia:", c.Place)
	}
	l.buyer(append(slices.Clip(c.Buyer), "NIP: "+c.BuyerNIP))

	l.rule()
	l.items(c.Lines, false)
	l.rule()
	l.totals(c.TotalNet, c.TotalVAT, c.TotalGross, c.Currency, c.Payment)
	l.rule()

	w.Align(escpos.AlignCenter)
	for _, n := range c.Notice {
		l.wrap(n)
	}
	l.end(Doc{Footer: c.Footer})
}
