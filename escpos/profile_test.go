package escpos_test

import (
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"testing"

	"github.com/posagent/posagent/escpos"
	"github.com/posagent/posagent/internal/testutil"
)

type capsProfile struct {
	Name     string `json:"name"`
	Vendor   string `json:"vendor"`
	Features struct {
		QRCode       bool `json:"qrCode"`
		PaperFullCut bool `json:"paperFullCut"`
		PaperPartCut bool `json:"paperPartCut"`
	} `json:"features"`
	Fonts map[string]struct {
		Columns int `json:"columns"`
	} `json:"fonts"`
	Media struct {
		DPI   json.RawMessage `json:"dpi"`
		Width struct {
			Pixels json.RawMessage `json:"pixels"`
		} `json:"width"`
	} `json:"media"`
	CodePages map[string]string `json:"codePages"`
}

// TestProfilesMatchCapabilities cross-checks the curated table against the
// escpos-printer-db data it was derived from.
func TestProfilesMatchCapabilities(t *testing.T) {
	raw, err := os.ReadFile(testutil.Official("escpos/capabilities.json"))
	if err != nil {
		t.Fatal(err)
	}
	var caps struct {
		Profiles map[string]capsProfile `json:"profiles"`
	}
	if err := json.Unmarshal(raw, &caps); err != nil {
		t.Fatal(err)
	}
	num := func(m json.RawMessage) int {
		n, err := strconv.Atoi(string(m))
		if err != nil {
			t.Fatalf("not a number: %s", m)
		}
		return n
	}
	for _, p := range escpos.Profiles() {
		t.Run(p.ID, func(t *testing.T) {
			src, ok := caps.Profiles[p.Source]
			if !ok {
				t.Fatalf("Source %q not in capabilities.json", p.Source)
			}
			if err := p.Validate(); err != nil {
				t.Fatal(err)
			}
			if got, want := p.DotsPerLine, num(src.Media.Width.Pixels); got != want {
				t.Errorf("DotsPerLine = %d, want %d", got, want)
			}
			if got, want := p.DPI, num(src.Media.DPI); got != want {
				t.Errorf("DPI = %d, want %d", got, want)
			}
			if got, want := p.Columns, src.Fonts["0"].Columns; got != want {
				t.Errorf("Columns = %d, want %d", got, want)
			}
			if got, want := p.NativeQR, src.Features.QRCode; got != want {
				t.Errorf("NativeQR = %v, want %v", got, want)
			}
			wantCut := escpos.CutNone
			if src.Features.PaperPartCut {
				wantCut = escpos.CutPartial
			} else if src.Features.PaperFullCut {
				wantCut = escpos.CutFull
			}
			if p.Cut != wantCut {
				t.Errorf("Cut = %d, want %d", p.Cut, wantCut)
			}
			if got := src.CodePages[strconv.Itoa(p.CodePage)]; got != string(p.Charset) {
				t.Errorf("ESC t %d is %q in the data, profile says %q", p.CodePage, got, p.Charset)
			}
			for _, cp := range p.CodePages {
				if got := src.CodePages[strconv.Itoa(cp.N)]; got != string(cp.Charset) {
					t.Errorf("CodePages: ESC t %d is %q in the data, profile says %q", cp.N, got, cp.Charset)
				}
			}
			// Every Polish-capable page in the data is offered.
			for n, name := range src.CodePages {
				switch escpos.Charset(name) {
				case escpos.CharsetCP852, escpos.CharsetWPC1250, escpos.CharsetISO88592:
					found := false
					for _, cp := range p.CodePages {
						found = found || strconv.Itoa(cp.N) == n
					}
					if !found {
						t.Errorf("CodePages lacks ESC t %s (%s)", n, name)
					}
				}
			}
		})
	}
}

func TestLookupProfile(t *testing.T) {
	p, err := escpos.LookupProfile("tm-t88v")
	if err != nil {
		t.Fatal(err)
	}
	if p.DotsPerLine != 512 || p.Columns != 42 {
		t.Errorf("tm-t88v = %d dots, %d columns, want 512, 42", p.DotsPerLine, p.Columns)
	}
	// Overrides change the copy only.
	p.CodePages[0].N = 99
	p.DotsPerLine = 400
	again, _ := escpos.LookupProfile("tm-t88v")
	if again.CodePages[0].N == 99 || again.DotsPerLine != 512 {
		t.Error("LookupProfile returned shared state")
	}
	if _, err := escpos.LookupProfile("nope"); !errors.Is(err, escpos.ErrUnknownProfile) {
		t.Errorf("LookupProfile(nope) error = %v, want ErrUnknownProfile", err)
	}
	if _, err := escpos.LookupProfile(escpos.DefaultProfileID); err != nil {
		t.Errorf("default profile: %v", err)
	}
}

func TestProfileValidate(t *testing.T) {
	base, _ := escpos.LookupProfile("generic-80")
	tests := []struct {
		name  string
		edit  func(*escpos.Profile)
		field string
	}{
		{"ok", func(*escpos.Profile) {}, ""},
		{"dots zero", func(p *escpos.Profile) { p.DotsPerLine = 0 }, "DotsPerLine"},
		{"dots not byte aligned", func(p *escpos.Profile) { p.DotsPerLine = 570 }, "DotsPerLine"},
		{"columns", func(p *escpos.Profile) { p.Columns = 500 }, "Columns"},
		{"code page", func(p *escpos.Profile) { p.CodePage = 256 }, "CodePage"},
		{"charset", func(p *escpos.Profile) { p.Charset = "UTF-8" }, "Charset"},
		{"cut", func(p *escpos.Profile) { p.Cut = 7 }, "Cut"},
		{"override to WPC1250", func(p *escpos.Profile) { p.CodePage, p.Charset = 45, escpos.CharsetWPC1250 }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := base
			tt.edit(&p)
			err := p.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var pe *escpos.ProfileError
			if !errors.As(err, &pe) || pe.Field != tt.field || !errors.Is(err, escpos.ErrInvalidProfile) {
				t.Fatalf("Validate() = %v, want ProfileError on %s", err, tt.field)
			}
		})
	}
}
