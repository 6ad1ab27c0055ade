package ksef

import (
	"fmt"
	"slices"
)

// LineAmounts are the exact amounts of one line. VAT is the line's share of
// its rate group's VAT: the shares of a group add up to the group VAT exactly.
type LineAmounts struct {
	Net, VAT, Gross Amount
}

// RateTotal is one rate group (P_13_x/P_14_x). VATPLN is the VAT converted to
// PLN (P_14_xW) for invoices in another currency, and zero otherwise.
type RateTotal struct {
	Rate            Rate
	Net, VAT, Gross Amount
	VATPLN          Amount
}

// Totals are the exact sums of an invoice. Gross is P_15. Groups are in FA(3)
// order (23, 8, 5, 0 KR, 0 WDT, 0 EX, zw, np I, np II, oo) and hold only the
// rates that occur.
type Totals struct {
	Groups          []RateTotal
	Lines           []LineAmounts
	Net, VAT, Gross Amount
	VATPLN          Amount
}

// Label returns a short rate label for receipts: "23%", "0% KR", "zw", "np I".
func (r Rate) Label() string {
	switch r {
	case Rate23, Rate8, Rate5:
		return string(r) + "%"
	case Rate0KR, Rate0WDT, Rate0EX:
		return "0%" + string(r[1:])
	case RateMargin:
		return "marża"
	}
	return string(r)
}

// LineValue is the line's value in its price mode before VAT is split off:
// quantity × unit price rounded half-up to the grosz, less the discount.
func LineValue(l Line) (Amount, error) {
	v, err := mulDivRound(int64(l.Quantity), int64(l.UnitPrice), QuantityScale)
	if err != nil {
		return 0, err
	}
	return Amount(v) - l.Discount, nil
}

// ComputeTotals computes line, group and invoice amounts. With gross prices
// each group's VAT is gross × rate / (100 + rate); with net prices it is
// net × rate / 100; both rounded half-up to the grosz. Exempt, zero and
// not-taxable rates have no VAT.
func ComputeTotals(mode PriceMode, lines []Line) (Totals, error) {
	if mode == "" {
		mode = PriceGross
	}
	if mode != PriceGross && mode != PriceNet {
		return Totals{}, fmt.Errorf("ksef: unknown price mode %q", mode)
	}
	t := Totals{Lines: make([]LineAmounts, len(lines))}
	values := make([]Amount, len(lines))
	for i, l := range lines {
		if !l.VATRate.Valid() {
			return Totals{}, fmt.Errorf("ksef: line %d: unknown rate %q", i, l.VATRate)
		}
		v, err := LineValue(l)
		if err != nil {
			return Totals{}, fmt.Errorf("line %d: %w", i, err)
		}
		values[i] = v
	}
	for _, r := range rates {
		var idx []int
		var sum Amount
		for i, l := range lines {
			if l.VATRate == r {
				idx = append(idx, i)
				sum += values[i]
			}
		}
		if len(idx) == 0 {
			continue
		}
		g, err := groupTotal(mode, r, sum)
		if err != nil {
			return Totals{}, err
		}
		if err := allocate(mode, r, g.VAT, idx, values, t.Lines); err != nil {
			return Totals{}, err
		}
		t.Groups = append(t.Groups, g)
		t.Net += g.Net
		t.VAT += g.VAT
		t.Gross += g.Gross
	}
	return t, nil
}

// vatOf returns the VAT contained in (gross mode) or due on (net mode) v.
func vatOf(mode PriceMode, p int64, v Amount) (Amount, error) {
	if p == 0 {
		return 0, nil
	}
	den := int64(100)
	if mode == PriceGross {
		den += p
	}
	x, err := mulDivRound(int64(v), p, den)
	return Amount(x), err
}

func groupTotal(mode PriceMode, r Rate, sum Amount) (RateTotal, error) {
	vat, err := vatOf(mode, r.Percent(), sum)
	if err != nil {
		return RateTotal{}, err
	}
	if mode == PriceGross {
		return RateTotal{Rate: r, Net: sum - vat, VAT: vat, Gross: sum}, nil
	}
	return RateTotal{Rate: r, Net: sum, VAT: vat, Gross: sum + vat}, nil
}

// allocate splits a group's VAT over its lines: each line gets its own
// rounded VAT, and the few grosze of rounding difference go one by one to the
// largest lines, so the shares add up exactly.
func allocate(mode PriceMode, r Rate, groupVAT Amount, idx []int, values []Amount, out []LineAmounts) error {
	var sum Amount
	for _, i := range idx {
		vat, err := vatOf(mode, r.Percent(), values[i])
		if err != nil {
			return err
		}
		out[i].VAT = vat
		sum += vat
	}
	if diff := groupVAT - sum; diff != 0 {
		order := slices.Clone(idx)
		slices.SortStableFunc(order, func(a, b int) int {
			return cmpInt64(abs(values[b]), abs(values[a]))
		})
		step := Amount(1)
		if diff < 0 {
			step = -1
		}
		for k := 0; diff != 0; k++ {
			out[order[k%len(order)]].VAT += step
			diff -= step
		}
	}
	for _, i := range idx {
		if mode == PriceGross {
			out[i].Gross = values[i]
			out[i].Net = values[i] - out[i].VAT
		} else {
			out[i].Net = values[i]
			out[i].Gross = values[i] + out[i].VAT
		}
	}
	return nil
}

func abs(a Amount) Amount {
	if a < 0 {
		return -a
	}
	return a
}

func cmpInt64(a, b Amount) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Totals computes the sale's totals, including P_14_xW (VAT in PLN, half-up)
// when the currency is not PLN.
func (s *Sale) Totals() (Totals, error) {
	t, err := ComputeTotals(s.priceMode(), s.Lines)
	if err != nil {
		return Totals{}, err
	}
	return t, t.convert(s)
}

func (t *Totals) convert(s *Sale) error {
	t.VATPLN = 0
	if s.currency() == "PLN" {
		return nil
	}
	for i := range t.Groups {
		x, err := mulDivRound(int64(t.Groups[i].VAT), int64(s.ExchangeRate), QuantityScale)
		if err != nil {
			return err
		}
		t.Groups[i].VATPLN = Amount(x)
		t.VATPLN += Amount(x)
	}
	return nil
}

// Sub returns the difference t − before per rate group, as a correction
// (KOR) with before/after rows reports it. Lines are left empty.
func (t Totals) Sub(before Totals) Totals {
	var out Totals
	for _, r := range rates {
		a, okA := t.group(r)
		b, okB := before.group(r)
		if !okA && !okB {
			continue
		}
		g := RateTotal{Rate: r, Net: a.Net - b.Net, VAT: a.VAT - b.VAT, Gross: a.Gross - b.Gross, VATPLN: a.VATPLN - b.VATPLN}
		out.Groups = append(out.Groups, g)
		out.Net += g.Net
		out.VAT += g.VAT
		out.Gross += g.Gross
		out.VATPLN += g.VATPLN
	}
	return out
}

func (t Totals) group(r Rate) (RateTotal, bool) {
	for _, g := range t.Groups {
		if g.Rate == r {
			return g, true
		}
	}
	return RateTotal{}, false
}
