package escpos

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Replacement stands for a character that neither the code page nor the
// transliteration table can express. It is deliberately not '?', which cashiers
// read as a printer fault.
const Replacement = '_'

// translit holds ASCII spellings for characters that some code pages lack. Letters
// with diacritics not listed here fall back to their base letter via NFD.
var translit = map[rune]string{
	'ł': "l", 'Ł': "L", 'ß': "ss", 'æ': "ae", 'Æ': "AE", 'ø': "o", 'Ø': "O", 'đ': "d", 'Đ': "D",
	'€': "EUR", '£': "GBP", '¥': "JPY", '§': "par.", '©': "(c)", '®': "(R)", '™': "TM",
	'„': `"`, '”': `"`, '“': `"`, '«': `"`, '»': `"`, '‚': "'", '‘': "'", '’': "'", '′': "'", '″': `"`,
	'–': "-", '—': "-", '‑': "-", '−': "-", '…': "...", '•': "*", '·': ".", '×': "x", '÷': ":",
	'\u00a0': " ", '\u2007': " ", '\u2009': " ", '\u202f': " ", '°': "st.", '±': "+/-", '½': "1/2",
	'¼': "1/4", '¾': "3/4", '²': "2", '³': "3", '¹': "1",
}

// Printable returns s as the printer will show it under charset c: characters the
// code page lacks are transliterated, tabs become spaces and other control
// characters except '\n' are dropped. Widths computed on the result are exact, one
// rune per column. Printable is idempotent.
func (c Charset) Printable(s string) string {
	cm := c.charmap()
	if cm == nil {
		cm = CharsetCP437.charmap()
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == '\n':
			b.WriteByte('\n')
			continue
		case r == '\t':
			b.WriteByte(' ')
			continue
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == utf8.RuneError:
			continue
		}
		if _, ok := cm.EncodeRune(r); ok {
			b.WriteRune(r)
			continue
		}
		if t, ok := translit[r]; ok {
			b.WriteString(t)
			continue
		}
		b.WriteString(decompose(r, cm))
	}
	return b.String()
}

type runeEncoder interface{ EncodeRune(rune) (byte, bool) }

// decompose keeps the encodable parts of r's canonical decomposition (ą → a),
// dropping combining marks, and yields Replacement when nothing survives.
func decompose(r rune, cm runeEncoder) string {
	var out []rune
	for _, d := range norm.NFKD.String(string(r)) {
		if unicode.Is(unicode.Mn, d) {
			continue
		}
		if _, ok := cm.EncodeRune(d); ok && d >= 0x20 {
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		return string(Replacement)
	}
	return string(out)
}

// encode appends the code page bytes of printable text s.
func (c Charset) encode(dst []byte, s string) []byte {
	cm := c.charmap()
	for _, r := range c.Printable(s) {
		if b, ok := cm.EncodeRune(r); ok {
			dst = append(dst, b)
		} else {
			dst = append(dst, Replacement)
		}
	}
	return dst
}

// Width returns the number of columns s occupies once printable.
func Width(s string) int { return utf8.RuneCountInString(s) }

// Wrap breaks s into lines of at most width columns, at spaces where it can; a word
// longer than a line breaks after its last fitting '-' or '/', or else anywhere. Explicit '\n' starts a new line. An empty s gives
// one empty line.
func Wrap(s string, width int) []string {
	if width < 1 {
		width = 1
	}
	var lines []string
	for _, para := range strings.Split(s, "\n") {
		var cur []rune
		for _, word := range strings.Fields(para) {
			w := []rune(word)
			for len(w) > 0 {
				room := width - len(cur)
				if len(cur) > 0 {
					room-- // the separating space
				}
				switch {
				case len(w) <= room:
					if len(cur) > 0 {
						cur = append(cur, ' ')
					}
					cur = append(cur, w...)
					w = nil
				case len(cur) > 0:
					lines = append(lines, string(cur))
					cur = nil
				default: // a word longer than a whole line: break after - or / if possible
					cut := width
					for k := width - 1; k > 0; k-- {
						if w[k] == '-' || w[k] == '/' {
							cut = k + 1
							break
						}
					}
					lines = append(lines, string(w[:cut]))
					w = w[cut:]
				}
			}
		}
		lines = append(lines, string(cur))
	}
	return lines
}

// Pair lays out left and right on lines of width columns: left is wrapped and right
// is right-aligned on its last line when at least one space separates them, or on a
// line of its own otherwise. It is the item/price and label/amount helper.
func Pair(left, right string, width int) []string {
	rw := Width(right)
	lines := Wrap(left, width)
	if rw == 0 {
		return lines
	}
	last := lines[len(lines)-1]
	if lw := Width(last); lw+1+rw <= width {
		lines[len(lines)-1] = last + strings.Repeat(" ", width-lw-rw) + right
		return lines
	}
	if rw >= width {
		return append(lines, Wrap(right, width)...)
	}
	return append(lines, strings.Repeat(" ", width-rw)+right)
}

// Columns lays out cells in fixed-width columns: each cell is right-aligned in its
// width, except the first, which is left-aligned. Over-long cells are cut so the row
// never exceeds the sum of widths; callers size columns for their data.
func Columns(cells []string, widths []int) string {
	var b strings.Builder
	for i, c := range cells {
		if i >= len(widths) {
			break
		}
		w := widths[i]
		r := []rune(c)
		if len(r) > w {
			r = r[:w]
		}
		pad := strings.Repeat(" ", w-len(r))
		if i == 0 {
			b.WriteString(string(r) + pad)
		} else {
			b.WriteString(pad + string(r))
		}
	}
	return b.String()
}
