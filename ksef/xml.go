package ksef

import (
	"bytes"
	"fmt"
	"strconv"
	"time"
)

// Namespace is the FA(3) target namespace.
const Namespace = "http://crd.gov.pl/wzor/2025/06/25/13775/"

// XML validates the invoice and writes it as FA(3) (1-0E). The output is
// deterministic: UTF-8 without a BOM, no XML declaration or processing
// instructions, elements in schema order, text with xsd:token whitespace
// collapsed, tab indentation and "\n" line ends.
func (inv *Invoice) XML() ([]byte, error) {
	if err := inv.Validate(); err != nil {
		return nil, err
	}
	tot, err := inv.Totals()
	if err != nil {
		return nil, fmt.Errorf("ksef xml: %w", err)
	}
	w := &xmlWriter{}
	s := &inv.Sale
	w.open(`Faktura xmlns="` + Namespace + `"`)

	w.open("Naglowek")
	w.raw(`<KodFormularza kodSystemowy="FA (3)" wersjaSchemy="1-0E">FA</KodFormularza>`)
	w.elem("WariantFormularza", "3")
	w.elem("DataWytworzeniaFa", inv.GeneratedAt.UTC().Truncate(time.Second).Format("2006-01-02T15:04:05Z"))
	w.text("SystemInfo", inv.SystemInfo)
	w.close("Naglowek")

	w.open("Podmiot1")
	w.open("DaneIdentyfikacyjne")
	w.elem("NIP", inv.Seller.NIP)
	w.text("Nazwa", inv.Seller.Name)
	w.close("DaneIdentyfikacyjne")
	w.address("Adres", inv.Seller.Address)
	w.close("Podmiot1")

	w.buyer(&s.Buyer)

	w.open("Fa")
	w.elem("KodWaluty", s.currency())
	w.elem("P_1", s.IssueDate.String())
	w.text("P_1M", s.Place)
	w.text("P_2", inv.Number)
	if !s.SaleDate.IsZero() && s.SaleDate != s.IssueDate {
		w.elem("P_6", s.SaleDate.String())
	}
	foreign := s.currency() != "PLN"
	for _, g := range tot.Groups {
		switch g.Rate {
		case Rate23, Rate8, Rate5:
			n := map[Rate]string{Rate23: "1", Rate8: "2", Rate5: "3"}[g.Rate]
			w.elem("P_13_"+n, g.Net.String())
			w.elem("P_14_"+n, g.VAT.String())
			if foreign {
				w.elem("P_14_"+n+"W", g.VATPLN.String())
			}
		default:
			w.elem(zeroGroupElem[g.Rate], g.Net.String())
		}
	}
	w.elem("P_15", tot.Gross.String())
	w.adnotacje(inv)
	w.elem("RodzajFaktury", inv.kind())
	if c := inv.Correction; inv.kind() == KindKOR && c != nil {
		w.text("PrzyczynaKorekty", c.Reason)
		if c.Type != 0 {
			w.elem("TypKorekty", strconv.Itoa(c.Type))
		}
		w.open("DaneFaKorygowanej")
		w.elem("DataWystFaKorygowanej", c.OriginalDate.String())
		w.text("NrFaKorygowanej", c.OriginalNumber)
		if c.OriginalKSeF != "" {
			w.elem("NrKSeF", "1")
			w.elem("NrKSeFFaKorygowanej", c.OriginalKSeF)
		} else {
			w.elem("NrKSeFN", "1")
		}
		w.close("DaneFaKorygowanej")
	}
	n := 0
	if c := inv.Correction; inv.kind() == KindKOR && c != nil && len(c.Before) > 0 {
		for _, l := range c.Before {
			n++
			w.line(n, s, l, true)
		}
	}
	for _, l := range s.Lines {
		n++
		w.line(n, s, l, false)
	}
	w.payment(s)
	w.close("Fa")
	w.close("Faktura")
	return w.buf.Bytes(), nil
}

// zeroGroupElem maps the rates without VAT onto their P_13 element.
var zeroGroupElem = map[Rate]string{
	Rate0KR: "P_13_6_1", Rate0WDT: "P_13_6_2", Rate0EX: "P_13_6_3",
	RateZW: "P_13_7", RateNPI: "P_13_8", RateNPII: "P_13_9", RateOO: "P_13_10", RateMargin: "P_13_11",
}

type xmlWriter struct {
	buf   bytes.Buffer
	depth int
}

func (w *xmlWriter) indent() {
	for range w.depth {
		w.buf.WriteByte('\t')
	}
}

func (w *xmlWriter) open(tag string) {
	w.indent()
	w.buf.WriteString("<" + tag + ">\n")
	w.depth++
}

func (w *xmlWriter) close(tag string) {
	w.depth--
	w.indent()
	w.buf.WriteString("</" + tag + ">\n")
}

func (w *xmlWriter) raw(s string) {
	w.indent()
	w.buf.WriteString(s + "\n")
}

// elem writes a value the package formatted itself (numbers, dates, codes).
func (w *xmlWriter) elem(tag, value string) {
	w.indent()
	w.buf.WriteString("<" + tag + ">")
	escapeTo(&w.buf, value)
	w.buf.WriteString("</" + tag + ">\n")
}

// text writes free text with whitespace collapsed; empty text is left out.
func (w *xmlWriter) text(tag, value string) {
	if v := collapse(value); v != "" {
		w.elem(tag, v)
	}
}

func escapeTo(b *bytes.Buffer, s string) {
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		default:
			b.WriteRune(r)
		}
	}
}

func (w *xmlWriter) address(tag string, a Address) {
	w.open(tag)
	w.elem("KodKraju", a.Country)
	w.text("AdresL1", a.Line1)
	w.text("AdresL2", a.Line2)
	w.close(tag)
}

func (w *xmlWriter) buyer(b *Buyer) {
	w.open("Podmiot2")
	w.open("DaneIdentyfikacyjne")
	switch b.Kind {
	case BuyerNIP:
		w.elem("NIP", b.NIP)
	case BuyerEU:
		w.elem("KodUE", b.EUCode)
		w.elem("NrVatUE", b.EUVAT)
	case BuyerForeign:
		if b.Country != "" {
			w.elem("KodKraju", b.Country)
		}
		w.text("NrID", b.ID)
	default:
		w.elem("BrakID", "1")
	}
	w.text("Nazwa", b.Name)
	w.close("DaneIdentyfikacyjne")
	if b.Address != nil {
		w.address("Adres", *b.Address)
	}
	// Not a JST sub-unit and not a VAT-group member: a till cannot know either.
	w.elem("JST", "2")
	w.elem("GV", "2")
	w.close("Podmiot2")
}

func (w *xmlWriter) adnotacje(inv *Invoice) {
	zw, oo, margin := false, false, false
	all := inv.Sale.Lines
	if inv.Correction != nil {
		all = append(append([]Line(nil), inv.Correction.Before...), all...)
	}
	for _, l := range all {
		zw = zw || l.VATRate == RateZW
		oo = oo || l.VATRate == RateOO
		margin = margin || l.VATRate == RateMargin
	}
	w.open("Adnotacje")
	// P_16 "metoda kasowa" is the seller's standing (art. 106e ust. 1 pkt 16).
	w.elem("P_16", yesNo(inv.Seller.CashAccounting))
	w.elem("P_17", "2")
	w.elem("P_18", yesNo(oo))
	w.elem("P_18A", yesNo(inv.Sale.SplitPayment))
	w.open("Zwolnienie")
	if zw {
		w.elem("P_19", "1")
		w.text("P_19A", inv.Sale.ExemptionBasis)
	} else {
		w.elem("P_19N", "1")
	}
	w.close("Zwolnienie")
	w.open("NoweSrodkiTransportu")
	w.elem("P_22N", "1")
	w.close("NoweSrodkiTransportu")
	w.elem("P_23", "2")
	w.open("PMarzy")
	if margin {
		// art. 106e ust. 1 pkt 20 and pkt 24 ustawy o VAT: the procedure is named.
		w.elem("P_PMarzy", "1")
		w.elem(marginElems[inv.Seller.MarginScheme], "1")
	} else {
		w.elem("P_PMarzyN", "1")
	}
	w.close("PMarzy")
	w.close("Adnotacje")
}

func yesNo(b bool) string {
	if b {
		return "1"
	}
	return "2"
}

func (w *xmlWriter) line(n int, s *Sale, l Line, before bool) {
	// Validation ran first, so LineValue cannot fail here.
	value, _ := LineValue(l)
	w.open("FaWiersz")
	w.elem("NrWierszaFa", strconv.Itoa(n))
	w.text("P_7", l.Name)
	w.text("P_8A", l.Unit)
	w.elem("P_8B", l.Quantity.String())
	if s.priceMode() == PriceNet {
		w.elem("P_9A", l.UnitPrice.String())
	} else {
		w.elem("P_9B", l.UnitPrice.String())
	}
	if l.Discount != 0 {
		w.elem("P_10", l.Discount.String())
	}
	if s.priceMode() == PriceNet {
		w.elem("P_11", value.String())
	} else {
		w.elem("P_11A", value.String())
	}
	if l.VATRate != RateMargin {
		w.elem("P_12", string(l.VATRate))
	}
	if l.GTU != "" {
		w.elem("GTU", l.GTU)
	}
	if s.currency() != "PLN" {
		w.elem("KursWaluty", s.ExchangeRate.String())
	}
	if before {
		w.elem("StanPrzed", "1")
	}
	w.close("FaWiersz")
}

func (w *xmlWriter) payment(s *Sale) {
	p := s.Payment
	if p == nil {
		return
	}
	w.open("Platnosc")
	if p.Paid {
		d := p.Date
		if d.IsZero() {
			d = s.IssueDate
		}
		w.elem("Zaplacono", "1")
		w.elem("DataZaplaty", d.String())
	} else if !p.Date.IsZero() {
		w.open("TerminPlatnosci")
		w.elem("Termin", p.Date.String())
		w.close("TerminPlatnosci")
	}
	w.elem("FormaPlatnosci", strconv.Itoa(p.Form.code()))
	w.close("Platnosc")
}
