package escpos

import (
	"fmt"
	"slices"

	"golang.org/x/text/encoding/charmap"
)

// Charset names the character encoding behind an ESC t code page. The names are the
// encoding names of the escpos-printer-db capabilities data.
type Charset string

// Charsets that can print Polish text, plus the printers' power-on default.
const (
	CharsetCP852    Charset = "CP852"      // PC852 Latin-2, the safest default
	CharsetWPC1250  Charset = "CP1250"     // Windows-1250
	CharsetISO88592 Charset = "ISO_8859-2" // ISO 8859-2
	CharsetCP437    Charset = "CP437"      // USA, the power-on default of most printers
)

// charmap returns the x/text table for c, or nil for an unsupported charset.
func (c Charset) charmap() *charmap.Charmap {
	switch c {
	case CharsetCP852:
		return charmap.CodePage852
	case CharsetWPC1250:
		return charmap.Windows1250
	case CharsetISO88592:
		return charmap.ISO8859_2
	case CharsetCP437:
		return charmap.CodePage437
	}
	return nil
}

// CutMode says how a profile cuts paper.
type CutMode int

// Cut modes. Printers without a cutter get a feed so the receipt can be torn off.
const (
	CutNone    CutMode = iota // no cutter: feed only
	CutPartial                // GS V B n: feed to the cutter, partial cut
	CutFull                   // GS V A n: feed to the cutter, full cut
)

// CodePage is one ESC t n choice: the number and the charset it selects.
type CodePage struct {
	N       int
	Charset Charset
}

// Profile describes one printer model. Profiles are plain values: copy one from
// LookupProfile, override any field (a configuration layer does), then Validate it.
type Profile struct {
	ID     string // short key used in configuration, e.g. "tm-t88v"
	Name   string // model name
	Vendor string
	Source string // profile ID in escpos-printer-db the facts were taken from

	DotsPerLine int // printable width in dots
	DPI         int
	Columns     int // Font A characters per line

	CodePage int     // ESC t n number selecting Charset
	Charset  Charset // what CodePage maps to on this model

	// CodePages lists the code pages able to print Polish on this model, the
	// candidates a technician chooses from on the self-test page.
	CodePages []CodePage

	NativeQR    bool    // GS ( k QR codes print; false means raster only
	Cut         CutMode // how to cut paper
	CancelKanji bool    // send FS . after ESC @ (Chinese clones boot in Kanji mode)
}

// Validate checks every field a Writer relies on and returns a *ProfileError.
func (p Profile) Validate() error {
	bad := func(field string, v any) error {
		return &ProfileError{Profile: p.ID, Field: field, Value: v, Err: ErrInvalidProfile}
	}
	switch {
	case p.DotsPerLine < 8 || p.DotsPerLine > 4096 || p.DotsPerLine%8 != 0:
		// Raster rows are whole bytes; a width that is not a multiple of 8 is a typo.
		return bad("DotsPerLine", p.DotsPerLine)
	case p.Columns < 8 || p.Columns > p.DotsPerLine/4:
		return bad("Columns", p.Columns)
	case p.CodePage < 0 || p.CodePage > 255:
		return bad("CodePage", p.CodePage)
	case p.Charset.charmap() == nil:
		return bad("Charset", p.Charset)
	case p.Cut < CutNone || p.Cut > CutFull:
		return bad("Cut", p.Cut)
	case p.DPI < 0:
		return bad("DPI", p.DPI)
	}
	return nil
}

// The table below is derived from the ESC/POS printer database (escpos-printer-db),
// dist/capabilities.json at commit fe07c81155a6c49912379fdb960dc9155c8dfc89,
// © receipt-print-hq / escpos-printer-db contributors, licensed CC BY 4.0
// (https://creativecommons.org/licenses/by/4.0/). Modified: trimmed to four models
// and the Polish-capable code pages, renamed keys; the generic profiles take their
// facts from the named source model. profile_test.go cross-checks it against the
// copy in testdata/escpos/capabilities.json.
var profiles = []Profile{
	{
		ID: "generic-58", Name: "Generic 58 mm (POS-5890 class)", Vendor: "Generic", Source: "POS-5890",
		DotsPerLine: 384, DPI: 203, Columns: 32,
		CodePage: 18, Charset: CharsetCP852,
		CodePages:   []CodePage{{18, CharsetCP852}, {54, CharsetCP852}, {72, CharsetWPC1250}},
		NativeQR:    false,
		Cut:         CutNone,
		CancelKanji: true,
	},
	{
		ID: "generic-80", Name: "Generic Epson-compatible 80 mm", Vendor: "Generic", Source: "TM-T20II",
		DotsPerLine: 576, DPI: 203, Columns: 48,
		CodePage: 18, Charset: CharsetCP852,
		CodePages:   []CodePage{{18, CharsetCP852}, {39, CharsetISO88592}, {45, CharsetWPC1250}},
		NativeQR:    true,
		Cut:         CutPartial,
		CancelKanji: true,
	},
	{
		ID: "tm-t20iii", Name: "TM-T20III", Vendor: "Epson", Source: "TM-T20III",
		DotsPerLine: 576, DPI: 203, Columns: 48,
		CodePage: 18, Charset: CharsetCP852,
		CodePages:   []CodePage{{18, CharsetCP852}, {39, CharsetISO88592}, {45, CharsetWPC1250}},
		NativeQR:    true,
		Cut:         CutPartial,
		CancelKanji: true,
	},
	{
		ID: "tm-t88v", Name: "TM-T88V", Vendor: "Epson", Source: "TM-T88V",
		DotsPerLine: 512, DPI: 180, Columns: 42,
		CodePage: 18, Charset: CharsetCP852,
		CodePages:   []CodePage{{18, CharsetCP852}, {39, CharsetISO88592}, {45, CharsetWPC1250}},
		NativeQR:    true,
		Cut:         CutPartial,
		CancelKanji: true,
	},
}

// DefaultProfileID is the profile used when configuration names none.
const DefaultProfileID = "generic-58"

// Profiles returns copies of the curated profiles.
func Profiles() []Profile {
	out := make([]Profile, len(profiles))
	for i, p := range profiles {
		out[i] = p.clone()
	}
	return out
}

// LookupProfile returns a copy of the curated profile with the given ID.
func LookupProfile(id string) (Profile, error) {
	for _, p := range profiles {
		if p.ID == id {
			return p.clone(), nil
		}
	}
	return Profile{}, fmt.Errorf("%w: %q", ErrUnknownProfile, id)
}

func (p Profile) clone() Profile {
	p.CodePages = slices.Clone(p.CodePages)
	return p
}

// charsetFor maps an ESC t number to a charset for the interpreter; page 0 and
// unknown pages fall back to CP437, the power-on default.
func (p Profile) charsetFor(n int) Charset {
	if n == p.CodePage && p.Charset.charmap() != nil {
		return p.Charset
	}
	for _, cp := range p.CodePages {
		if cp.N == n && cp.Charset.charmap() != nil {
			return cp.Charset
		}
	}
	return CharsetCP437
}
