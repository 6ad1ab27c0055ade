package ksef

import (
	"fmt"
	"strings"
	"time"
)

// Seller is the issuer (Podmiot1), taken from configuration, with its
// standing annotations (Adnotacje) written on every invoice.
type Seller struct {
	NIP     string  `json:"nip" toml:"nip"`
	Name    string  `json:"name" toml:"name"`
	Address Address `json:"address" toml:"address"`
	// CashAccounting writes "metoda kasowa" (P_16=1): the seller's tax
	// point follows payment under art. 21 ust. 1 (small taxpayer) or
	// art. 19a ust. 5 pkt 1 ustawy o VAT.
	CashAccounting bool `json:"cash_accounting,omitempty" toml:"cash_accounting"`
	// MarginScheme is the margin procedure of the seller's margin rows
	// (VAT rate RateMargin): one of the MarginSchemes; empty for none.
	MarginScheme string `json:"margin_scheme,omitempty" toml:"margin_scheme"`
}

// Margin procedures (art. 119 and 120 ustawy o VAT) and the FA(3) flag each
// sets besides P_PMarzy=1.
const (
	MarginTravel    = "travel"     // art. 119: "procedura marży dla biur podróży" (P_PMarzy_2)
	MarginUsedGoods = "used_goods" // art. 120: "procedura marży - towary używane" (P_PMarzy_3_1)
	MarginArt       = "art"        // art. 120: "procedura marży - dzieła sztuki" (P_PMarzy_3_2)
	MarginAntiques  = "antiques"   // art. 120: "procedura marży - przedmioty kolekcjonerskie i antyki" (P_PMarzy_3_3)
)

// MarginSchemes lists the values Seller.MarginScheme accepts besides "".
var MarginSchemes = []string{MarginTravel, MarginUsedGoods, MarginArt, MarginAntiques}

var marginElems = map[string]string{
	MarginTravel: "P_PMarzy_2", MarginUsedGoods: "P_PMarzy_3_1", MarginArt: "P_PMarzy_3_2", MarginAntiques: "P_PMarzy_3_3",
}

// Correction turns an invoice into a correcting invoice (KOR) of an earlier one.
//
// With Before set, Before holds the original rows (written with StanPrzed=1)
// and the sale's lines are the rows after the correction; the amounts
// (P_13_x, P_14_x, P_15) are the differences after − before; no after rows
// at all cancels the original in full. With Before
// empty, the sale's lines are difference rows (quantities or prices may be
// negative) and the amounts are their sums.
type Correction struct {
	Reason string `json:"reason,omitempty"`
	// Type is TypKorekty: 1 effective at the original's date, 2 at the
	// correction's date, 3 other; 0 leaves it out.
	Type           int    `json:"type,omitempty"`
	OriginalNumber string `json:"original_number"`
	OriginalDate   Date   `json:"original_date"`
	// OriginalKSeF is the original's KSeF number; empty means the original is
	// not in KSeF and NrKSeFN=1 is written.
	OriginalKSeF string `json:"original_ksef,omitempty"`
	Before       []Line `json:"before,omitempty"`
}

// Invoice is a sale made into an FA(3) invoice: the seller, the number, the
// generation time and, for a KOR, the correction data.
type Invoice struct {
	Seller Seller `json:"seller"`
	Number string `json:"number"`
	// Kind is VAT, UPR or KOR; empty takes the sale's kind (VAT by default).
	Kind        string      `json:"kind,omitempty"`
	GeneratedAt time.Time   `json:"generated_at"`
	SystemInfo  string      `json:"system_info,omitempty"`
	Sale        Sale        `json:"sale"`
	Correction  *Correction `json:"correction,omitempty"`
}

// minGenerated is the earliest DataWytworzeniaFa FA(3) accepts.
var minGenerated = time.Date(2025, 9, 1, 0, 0, 0, 0, time.UTC)

func (inv *Invoice) kind() string {
	if inv.Kind != "" {
		return inv.Kind
	}
	return inv.Sale.kind()
}

// Validate checks the whole invoice. Sale fields keep their JSON paths
// ("lines[0].vat_rate"); the others are prefixed ("seller.nip",
// "correction.original_number").
func (inv *Invoice) Validate() error {
	v := &validator{}
	if err := CheckNIP(inv.Seller.NIP); err != nil {
		v.add("seller.nip", "invalid NIP %q", inv.Seller.NIP)
	}
	v.text("seller.name", inv.Seller.Name, true, maxText512)
	validateAddress(v, "seller.address", inv.Seller.Address)
	v.text("number", inv.Number, true, maxText)
	if inv.Sale.Number != "" && inv.Sale.Number != inv.Number {
		v.add("number", "differs from the sale's number %q", inv.Sale.Number)
	}
	if inv.GeneratedAt.Before(minGenerated) || inv.GeneratedAt.Year() > 2049 {
		v.add("generated_at", "%v outside 2025-09-01..2049", inv.GeneratedAt.UTC().Format(time.RFC3339))
	}
	v.text("system_info", inv.SystemInfo, false, maxText)
	if inv.Sale.IssueDate.IsZero() {
		v.add("issue_date", "required")
	}
	if m := inv.Seller.MarginScheme; m != "" && marginElems[m] == "" {
		v.add("seller.margin_scheme", "unknown margin scheme %q (want %s)", m, strings.Join(MarginSchemes, ", "))
	}
	inv.validateMarginRows(v)

	var rules lineRules
	switch k := inv.kind(); k {
	case KindVAT, KindUPR:
		if inv.Correction != nil {
			v.add("correction", "only a KOR invoice has correction data")
		}
	case KindKOR:
		if inv.Sale.Kind == KindUPR {
			v.add("kind", "a correction of a UPR is not supported")
		}
		if inv.Correction == nil {
			v.add("correction", "required for a KOR invoice")
			break
		}
		rules.diffRows = len(inv.Correction.Before) == 0
		rules.allowEmpty = !rules.diffRows
		rules.before = inv.Correction.Before
		inv.Correction.validate(v, &inv.Sale)
	default:
		v.add("kind", "unknown kind %q (want VAT, UPR or KOR)", k)
	}
	inv.Sale.validate(v, rules)
	return v.err()
}

func (c *Correction) validate(v *validator, s *Sale) {
	v.text("correction.reason", c.Reason, false, maxText)
	if c.Type < 0 || c.Type > 3 {
		v.add("correction.type", "want 1, 2 or 3, got %d", c.Type)
	}
	v.text("correction.original_number", c.OriginalNumber, true, maxText)
	v.date("correction.original_date", c.OriginalDate, true, minDate)
	if c.OriginalKSeF != "" {
		if _, err := ParseKSeFNumber(c.OriginalKSeF); err != nil {
			v.add("correction.original_ksef", "not a valid KSeF number %q", c.OriginalKSeF)
		}
	}
	if len(c.Before) == 0 {
		return
	}
	before := Sale{Buyer: s.Buyer, PriceMode: s.PriceMode, Lines: c.Before, Currency: s.Currency,
		ExchangeRate: s.ExchangeRate, IssueDate: s.IssueDate, ExemptionBasis: s.ExemptionBasis}
	sub := &validator{}
	before.validateLines(sub, lineRules{})
	for _, e := range sub.errs {
		v.add("correction.before"+trimPrefix(e.Field, "lines"), "%s", e.Reason)
	}
}

// validateMarginRows allows margin rows only to a seller with a margin
// scheme: their invoice must name the procedure (art. 106e ust. 1 pkt 24
// lit. a-c and pkt 20 ustawy o VAT), which FA(3) does in PMarzy.
func (inv *Invoice) validateMarginRows(v *validator) {
	if inv.Seller.MarginScheme != "" {
		return
	}
	check := func(path string, lines []Line) {
		for i, l := range lines {
			if l.VATRate == RateMargin {
				v.add(fmt.Sprintf("%s[%d].vat_rate", path, i), "margin rows (%q) need the seller's margin scheme (seller.margin_scheme)", RateMargin)
			}
		}
	}
	check("lines", inv.Sale.Lines)
	if inv.Correction != nil {
		check("correction.before", inv.Correction.Before)
	}
}

func trimPrefix(s, p string) string {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}

// Totals returns the invoice amounts: the sale's totals, or for a KOR with
// before rows the difference after − before.
func (inv *Invoice) Totals() (Totals, error) {
	after, err := inv.Sale.Totals()
	if err != nil {
		return Totals{}, err
	}
	if inv.kind() != KindKOR || inv.Correction == nil || len(inv.Correction.Before) == 0 {
		return after, nil
	}
	b := inv.Sale
	b.Lines = inv.Correction.Before
	before, err := b.Totals()
	if err != nil {
		return Totals{}, fmt.Errorf("correction before rows: %w", err)
	}
	return after.Sub(before), nil
}
