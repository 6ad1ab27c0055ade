package outbox

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // terminals often ship without zoneinfo; the period must not depend on it
)

// Reset is the policy that restarts a series' sequence at 1.
type Reset string

// Reset policies. The empty Reset means ResetNever.
const (
	ResetNever   Reset = "never"
	ResetMonthly Reset = "monthly"
	ResetYearly  Reset = "yearly"
)

// MaxNumberLen is the longest number the store issues (FA(3) P_2 allows 256 characters).
const MaxNumberLen = 256

// warsaw is the zone of every period: the numbering month is the Polish calendar month.
var warsaw = mustZone("Europe/Warsaw")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic("outbox: " + err.Error()) // time/tzdata is embedded, so this cannot happen
	}
	return loc
}

// Series is a terminal's numbering series: its number format and reset policy.
//
// Format placeholders: {terminal}, {yyyy}, {yy}, {mm}, {dd} (from the Europe/Warsaw
// date of the issue time) and exactly one of {seq} or {seq:0N} (N = 1..12, the
// sequence zero-padded to N digits; a longer sequence is printed in full). A
// monthly reset needs {mm} and a year; a yearly reset needs a year, so that no
// number can repeat across periods.
type Series struct {
	Terminal string // terminal id: 1-32 of A-Z a-z 0-9 - _ .
	Format   string // e.g. "{terminal}/{yyyy}/{mm}/{seq:06}"
	Reset    Reset
}

type segment struct {
	lit   string // literal text when ph == ""
	ph    string // placeholder name without braces and width
	width int    // zero-pad width for seq
}

// Validate reports whether the series can be used, as a *SeriesError.
func (s Series) Validate() error {
	_, err := s.parse()
	return err
}

func (s Series) parse() ([]segment, error) {
	bad := func(reason string) error { return &SeriesError{Format: s.Format, Reason: reason} }
	if err := validTerminal(s.Terminal); err != "" {
		return nil, bad("terminal " + err)
	}
	var segs []segment
	var seq, year, month bool
	rest := s.Format
	for rest != "" {
		i := strings.IndexAny(rest, "{}")
		if i < 0 {
			segs = append(segs, segment{lit: rest})
			break
		}
		if rest[i] == '}' {
			return nil, bad("unmatched '}'")
		}
		if i > 0 {
			segs = append(segs, segment{lit: rest[:i]})
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return nil, bad("unterminated placeholder")
		}
		name := rest[i+1 : i+j]
		rest = rest[i+j+1:]
		seg := segment{ph: name}
		switch {
		case name == "terminal", name == "dd":
		case name == "yyyy", name == "yy":
			year = true
		case name == "mm":
			month = true
		case name == "seq" || strings.HasPrefix(name, "seq:"):
			if seq {
				return nil, bad("{seq} appears more than once")
			}
			seq = true
			if w, ok := strings.CutPrefix(name, "seq:"); ok {
				n, err := strconv.Atoi(w)
				if err != nil || len(w) < 2 || w[0] != '0' || n < 1 || n > 12 {
					return nil, bad(fmt.Sprintf("width in {%s} must be 01..012", name))
				}
				seg.width = n
			}
			seg.ph = "seq"
		default:
			return nil, bad(fmt.Sprintf("unknown placeholder {%s}", name))
		}
		segs = append(segs, seg)
	}
	if !seq {
		return nil, bad("no {seq} placeholder")
	}
	switch s.Reset {
	case "", ResetNever:
	case ResetYearly:
		if !year {
			return nil, bad("a yearly reset needs {yyyy} or {yy}")
		}
	case ResetMonthly:
		if !year || !month {
			return nil, bad("a monthly reset needs {mm} and {yyyy} or {yy}")
		}
	default:
		return nil, bad(fmt.Sprintf("unknown reset policy %q", s.Reset))
	}
	return segs, nil
}

func validTerminal(t string) string {
	if t == "" || len(t) > 32 {
		return "must be 1-32 characters"
	}
	for _, r := range t {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
		if !ok {
			return fmt.Sprintf("has character %q (allowed: A-Z a-z 0-9 - _ .)", r)
		}
	}
	return ""
}

// Period returns the numbering period that t falls in: "all" for ResetNever,
// "2026" for ResetYearly and "2026-11" for ResetMonthly, from t's Europe/Warsaw date.
func (s Series) Period(t time.Time) string {
	t = t.In(warsaw)
	switch s.Reset {
	case ResetYearly:
		return t.Format("2006")
	case ResetMonthly:
		return t.Format("2006-01")
	}
	return "all"
}

// Render returns the number with sequence seq issued at t. It is pure and is what
// Issue uses after reserving seq.
func (s Series) Render(t time.Time, seq uint64) (string, error) {
	segs, err := s.parse()
	if err != nil {
		return "", err
	}
	if seq == 0 {
		return "", &RequestError{Field: "seq", Reason: "sequences start at 1"}
	}
	t = t.In(warsaw)
	var b strings.Builder
	for _, g := range segs {
		switch g.ph {
		case "":
			b.WriteString(g.lit)
		case "terminal":
			b.WriteString(s.Terminal)
		case "yyyy":
			fmt.Fprintf(&b, "%04d", t.Year())
		case "yy":
			fmt.Fprintf(&b, "%02d", t.Year()%100)
		case "mm":
			fmt.Fprintf(&b, "%02d", int(t.Month()))
		case "dd":
			fmt.Fprintf(&b, "%02d", t.Day())
		case "seq":
			fmt.Fprintf(&b, "%0*d", g.width, seq)
		}
	}
	n := b.String()
	if len(n) > MaxNumberLen {
		return "", &SeriesError{Format: s.Format, Reason: fmt.Sprintf("number %d characters long, limit %d", len(n), MaxNumberLen)}
	}
	return n, nil
}
