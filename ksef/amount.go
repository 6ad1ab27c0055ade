package ksef

import (
	"bytes"
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// Amount is an exact amount of money in grosze (1/100 of the currency unit).
// The zero value is 0.00. JSON carries it as a decimal string ("12.34"); a JSON
// number is accepted too and parsed from its text, never through float64.
type Amount int64

// Quantity is an exact quantity in millionths of a unit (up to 6 decimals).
// JSON rules are the same as for Amount.
type Quantity int64

// Scales of the fixed-point types.
const (
	AmountScale   = 100
	QuantityScale = 1_000_000
)

// MaxAmount bounds the absolute value of amounts accepted from input
// (10^13 units), far below the int64 range so that sums cannot overflow.
const MaxAmount Amount = 1_000_000_000_000_000

// MaxQuantity bounds input quantities (10^9 units).
const MaxQuantity Quantity = 1_000_000_000 * QuantityScale

// ParseAmount parses a decimal such as "12.34", "-0.5" or "7": at most 2
// significant decimals (trailing zeros beyond them are accepted), no
// exponent, no grouping, no leading "+" or zeros.
func ParseAmount(s string) (Amount, error) {
	v, err := parseFixed(s, 2, int64(MaxAmount))
	if err != nil {
		return 0, fmt.Errorf("%w %q: %w", ErrAmount, s, err)
	}
	return Amount(v), nil
}

// MustParseAmount is ParseAmount for constants in tests and examples; it panics on error.
func MustParseAmount(s string) Amount {
	a, err := ParseAmount(s)
	if err != nil {
		panic(err)
	}
	return a
}

// String formats the amount with exactly two decimals, e.g. "-12.30".
func (a Amount) String() string { return formatFixed(int64(a), 2, 2) }

// MarshalJSON writes the amount as a decimal string.
func (a Amount) MarshalJSON() ([]byte, error) { return []byte(`"` + a.String() + `"`), nil }

// UnmarshalJSON accepts a decimal string or a JSON number.
func (a *Amount) UnmarshalJSON(b []byte) error {
	s, ok, err := jsonDecimalText(b)
	if err != nil || !ok {
		if err != nil {
			return fmt.Errorf("%w: %w", ErrAmount, err)
		}
		return nil
	}
	v, err := ParseAmount(s)
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// ParseQuantity parses a decimal with at most 6 decimals, e.g. "1.5" or "0.125".
func ParseQuantity(s string) (Quantity, error) {
	v, err := parseFixed(s, 6, int64(MaxQuantity))
	if err != nil {
		return 0, fmt.Errorf("%w %q: %w", ErrQuantity, s, err)
	}
	return Quantity(v), nil
}

// MustParseQuantity is ParseQuantity for constants; it panics on error.
func MustParseQuantity(s string) Quantity {
	q, err := ParseQuantity(s)
	if err != nil {
		panic(err)
	}
	return q
}

// String formats the quantity with as few decimals as needed: "2", "1.5", "0.333333".
func (q Quantity) String() string { return formatFixed(int64(q), 6, 0) }

// MarshalJSON writes the quantity as a decimal string.
func (q Quantity) MarshalJSON() ([]byte, error) { return []byte(`"` + q.String() + `"`), nil }

// UnmarshalJSON accepts a decimal string or a JSON number.
func (q *Quantity) UnmarshalJSON(b []byte) error {
	s, ok, err := jsonDecimalText(b)
	if err != nil || !ok {
		if err != nil {
			return fmt.Errorf("%w: %w", ErrQuantity, err)
		}
		return nil
	}
	v, err := ParseQuantity(s)
	if err != nil {
		return err
	}
	*q = v
	return nil
}

// jsonDecimalText returns the decimal text of a JSON string or number; ok is
// false for null, which leaves the target unchanged like encoding/json does.
func jsonDecimalText(b []byte) (s string, ok bool, err error) {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		return "", false, nil
	case len(b) > 0 && b[0] == '"':
		// Decimal text never needs escapes, so strconv's Go-syntax unquoting
		// is enough; anything it rejects is not a decimal anyway.
		str, err := strconv.Unquote(string(b))
		if err != nil {
			return "", false, fmt.Errorf("bad JSON string %s", b)
		}
		return str, true, nil
	default:
		return string(b), true, nil
	}
}

// parseFixed parses an optionally signed decimal with at most scale decimals
// into an integer of 10^-scale units, bounded by max in absolute value.
func parseFixed(s string, scale int, max int64) (int64, error) {
	if s == "" {
		return 0, fmt.Errorf("empty")
	}
	neg := false
	rest := s
	if rest[0] == '-' {
		neg = true
		rest = rest[1:]
	}
	intPart, frac, hasDot := strings.Cut(rest, ".")
	if intPart == "" || (hasDot && frac == "") {
		return 0, fmt.Errorf("not a decimal number")
	}
	for _, part := range []string{intPart, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return 0, fmt.Errorf("not a decimal number")
			}
		}
	}
	if len(intPart) > 1 && intPart[0] == '0' {
		return 0, fmt.Errorf("leading zero")
	}
	if len(frac) > scale {
		// Trailing zeros lose nothing ("12.340"); any other digit would.
		if strings.Trim(frac[scale:], "0") != "" {
			return 0, fmt.Errorf("more than %d decimals", scale)
		}
		frac = frac[:scale]
	}
	if len(intPart) > 18 {
		return 0, ErrOutOfRange
	}
	var v int64
	for i := 0; i < len(intPart); i++ {
		v = v*10 + int64(intPart[i]-'0')
	}
	pow := int64(1)
	for range scale {
		pow *= 10
	}
	if v > max/pow {
		return 0, ErrOutOfRange
	}
	v *= pow
	var f int64
	p := pow
	for i := 0; i < len(frac); i++ {
		p /= 10
		f += int64(frac[i]-'0') * p
	}
	v += f
	if v > max {
		return 0, ErrOutOfRange
	}
	if neg {
		v = -v
	}
	return v, nil
}

// formatFixed prints v/10^scale with at least minFrac decimals and trailing
// zeros trimmed beyond that.
func formatFixed(v int64, scale, minFrac int) string {
	neg := v < 0
	u := uint64(v)
	if neg {
		u = -u // two's complement negation is also right for math.MinInt64
	}
	digits := strconv.FormatUint(u, 10)
	if len(digits) <= scale {
		digits = strings.Repeat("0", scale-len(digits)+1) + digits
	}
	ip, fp := digits[:len(digits)-scale], digits[len(digits)-scale:]
	for len(fp) > minFrac && fp[len(fp)-1] == '0' {
		fp = fp[:len(fp)-1]
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	b.WriteString(ip)
	if fp != "" {
		b.WriteByte('.')
		b.WriteString(fp)
	}
	return b.String()
}

// mulDivRound returns a*b/c rounded half away from zero (half-up on the
// magnitude), computed exactly; c must be positive.
func mulDivRound(a, b, c int64) (int64, error) {
	if c <= 0 {
		return 0, fmt.Errorf("%w: divisor %d", ErrOverflow, c)
	}
	n := new(big.Int).Mul(big.NewInt(a), big.NewInt(b))
	neg := n.Sign() < 0
	n.Abs(n)
	d := big.NewInt(c)
	q, r := new(big.Int).QuoRem(n, d, new(big.Int))
	if r.Lsh(r, 1).Cmp(d) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	if !q.IsInt64() {
		return 0, ErrOverflow
	}
	v := q.Int64()
	if neg {
		v = -v
	}
	return v, nil
}
