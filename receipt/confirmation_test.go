package receipt_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/posagent/posagent/escpos"
	"github.com/posagent/posagent/escpos/escpostest"
	"github.com/posagent/posagent/receipt"
)

func loadConfirmation(t testing.TB, name string) receipt.Confirmation {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var c receipt.Confirmation
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	return c
}

var confirmationCases = []struct {
	name    string
	profile string
	dup     string
}{
	{"58mm-confirmation", "generic-58", ""},
	{"tm-t88v-confirmation", "tm-t88v", ""},
	{"80mm-confirmation-duplicate", "generic-80", "2027-01-05"},
}

// TestConfirmationGolden compares each confirmation with its golden bytes.
func TestConfirmationGolden(t *testing.T) {
	for _, tc := range confirmationCases {
		t.Run(tc.name, func(t *testing.T) {
			c := loadConfirmation(t, "confirmation")
			c.Duplicate = tc.dup
			got, err := receipt.RenderConfirmation(c, profile(t, tc.profile, false))
			if err != nil {
				t.Fatal(err)
			}
			escpostest.Golden(t, filepath.Join("testdata", tc.name+".golden.bin"), got, *update)
		})
	}
}

// TestPrintedConfirmation renders each confirmation through the interpreter
// and reads the paper: it is no invoice (its title, no invoice title, no QR
// code on the PNG), and it names the invoice, the buyer's NIP, the amounts
// and where the invoice will be, in that order, within the paper's width.
func TestPrintedConfirmation(t *testing.T) {
	for _, tc := range confirmationCases {
		t.Run(tc.name, func(t *testing.T) {
			c := loadConfirmation(t, "confirmation")
			c.Duplicate = tc.dup
			p := profile(t, tc.profile, false)
			data, err := receipt.RenderConfirmation(c, p)
			if err != nil {
				t.Fatal(err)
			}
			page, err := escpos.Render(data, p)
			if err != nil {
				t.Fatalf("interpreter: %v", err)
			}
			if *preview != "" {
				writePNG(t, filepath.Join(*preview, tc.name+".png"), page.Image)
			}
			if len(page.Graphics) != 0 {
				t.Errorf("%d graphics printed, want none", len(page.Graphics))
			}
			// The PNG as a till's preview would show it holds no QR code.
			var buf bytes.Buffer
			if err := png.Encode(&buf, page.Image); err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(&buf)
			if err != nil {
				t.Fatal(err)
			}
			bmp, err := gozxing.NewBinaryBitmapFromImage(img)
			if err != nil {
				t.Fatal(err)
			}
			if res, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true}); err == nil {
				t.Errorf("a QR code decodes from the confirmation: %q", res.GetText())
			}

			var text []string
			for _, l := range page.Lines {
				text = append(text, l.Text)
				if n := len([]rune(l.Text)); n > p.Columns {
					t.Errorf("line %q has %d columns, paper has %d", l.Text, n, p.Columns)
				}
				for _, title := range []string{receipt.TitleVAT, receipt.TitleSimplified, receipt.TitleCorrection, "OFFLINE", receipt.LabelKOD2} {
					if strings.Contains(l.Text, title) {
						t.Errorf("line %q carries %q: a confirmation is not an invoice", l.Text, title)
					}
				}
			}
			if page.Cuts+btoi(p.Cut == escpos.CutNone) != 1 {
				t.Errorf("cuts = %d", page.Cuts)
			}
			all := strings.Join(text, "\n")
			y := func(what string) int {
				t.Helper()
				for _, l := range page.Lines {
					if strings.Contains(l.Text, what) {
						return l.Y
					}
				}
				t.Errorf("%q not printed:\n%s", what, all)
				return -1
			}
			order := []struct {
				what string
				y    int
			}{
				{"seller", y("Piekarnia")},
				{"seller NIP", y("NIP: " + c.SellerNIP)},
				{"title", y(receipt.TitleConfirmation)},
				{"not an invoice", y(receipt.NotAnInvoice)},
				{"invoice number", y(c.Invoice)},
				{"date", y(c.Date)},
				{"buyer", y("Nabywca:")},
				{"buyer NIP", y("NIP: " + c.BuyerNIP)},
				{"line", y("Chleb")},
				{"net", y("85,52")},
				{"VAT", y("17,45")},
				{"total", y("102,97 PLN")},
				{"notice", y("KSeF")},
			}
			if tc.dup != "" {
				// The mark heads the receipt, as on the invoice: one cut short
				// by a crash still shows it.
				order = append([]struct {
					what string
					y    int
				}{{"duplicate", y("DUPLIKAT")}}, order...)
			}
			order = append(order, struct {
				what string
				y    int
			}{"footer", y("Dziękujemy")})
			for i := 1; i < len(order); i++ {
				if order[i].y <= order[i-1].y {
					t.Errorf("%s (y=%d) does not follow %s (y=%d)", order[i].what, order[i].y, order[i-1].what, order[i-1].y)
				}
			}
			if strings.Contains(all, "23%") || strings.Contains(all, "Podsumowanie VAT") {
				t.Error("a confirmation prints VAT rates: those are the invoice's")
			}
		})
	}
}

func TestConfirmationErrors(t *testing.T) {
	p := profile(t, "generic-58", false)
	tests := []struct {
		name  string
		edit  func(*receipt.Confirmation)
		field string
	}{
		{"no seller", func(c *receipt.Confirmation) { c.SellerName = "" }, "SellerName"},
		{"no invoice number", func(c *receipt.Confirmation) { c.Invoice = " " }, "Invoice"},
		{"no buyer NIP", func(c *receipt.Confirmation) { c.BuyerNIP = "" }, "BuyerNIP"},
		{"no lines", func(c *receipt.Confirmation) { c.Lines = nil }, "Lines"},
		{"line without value", func(c *receipt.Confirmation) { c.Lines[1].Value = "" }, "Lines[1]"},
		{"no total", func(c *receipt.Confirmation) { c.TotalGross = "" }, "TotalGross"},
		{"no notice", func(c *receipt.Confirmation) { c.Notice = []string{" "} }, "Notice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := loadConfirmation(t, "confirmation")
			tt.edit(&c)
			out, err := receipt.RenderConfirmation(c, p)
			var fe *receipt.FieldError
			if out != nil || !errors.Is(err, receipt.ErrInvalidDoc) || !errors.As(err, &fe) || fe.Field != tt.field {
				t.Errorf("RenderConfirmation = %d bytes, %v; want a FieldError on %s", len(out), err, tt.field)
			}
		})
	}
	if _, err := receipt.RenderConfirmation(loadConfirmation(t, "confirmation"), escpos.Profile{ID: "broken"}); !errors.Is(err, escpos.ErrInvalidProfile) {
		t.Errorf("broken profile: %v", err)
	}
}
