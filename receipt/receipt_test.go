package receipt_test

import (
	"encoding/json"
	"errors"
	"flag"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/posagent/posagent/escpos"
	"github.com/posagent/posagent/escpos/escpostest"
	"github.com/posagent/posagent/receipt"
)

var (
	update  = flag.Bool("update", false, "rewrite golden files in testdata")
	preview = flag.String("preview", "", "write a PNG preview of each printed receipt into this directory")
)

func loadDoc(t testing.TB, name string) receipt.Doc {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var d receipt.Doc
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func profile(t testing.TB, id string, native bool) escpos.Profile {
	t.Helper()
	p, err := escpos.LookupProfile(id)
	if err != nil {
		t.Fatal(err)
	}
	p.NativeQR = p.NativeQR || native // a 58 mm printer with firmware QR support
	return p
}

type receiptCase struct {
	name    string
	doc     string
	profile string
	native  bool // override NativeQR on
	mode    receipt.QRMode
}

var cases = []receiptCase{
	{"58mm-raster-rsa", "offline-rsa", "generic-58", false, receipt.QRRaster},
	{"58mm-native-rsa", "offline-rsa", "generic-58", true, receipt.QRNative},
	{"58mm-raster-ec-duplicate", "offline-ec-duplicate", "generic-58", false, receipt.QRRaster},
	{"58mm-native-ec-duplicate", "offline-ec-duplicate", "generic-58", true, receipt.QRNative},
	{"58mm-raster-online", "online", "generic-58", false, receipt.QRAuto},
	{"80mm-native-rsa", "offline-rsa", "generic-80", false, receipt.QRNative},
	{"80mm-raster-rsa", "offline-rsa", "generic-80", false, receipt.QRRaster},
	{"80mm-native-online", "online", "tm-t20iii", false, receipt.QRAuto},
	{"tm-t88v-native-ec-duplicate", "offline-ec-duplicate", "tm-t88v", false, receipt.QRNative},
	{"58mm-raster-correction", "correction-offline-rsa", "generic-58", false, receipt.QRRaster},
	{"tm-t88v-raster-correction", "correction-offline-rsa", "tm-t88v", false, receipt.QRRaster},
	{"58mm-total-failure", "total-failure", "generic-58", false, receipt.QRAuto},
	{"tm-t88v-total-failure", "total-failure", "tm-t88v", false, receipt.QRAuto},
	{"58mm-native-rsa-repeat", "offline-rsa-repeat", "generic-58", true, receipt.QRNative},
	{"80mm-raster-ec-duplicate-repeat", "offline-ec-duplicate-repeat", "generic-80", false, receipt.QRRaster},
}

// TestGolden compares each receipt with its golden byte stream.
func TestGolden(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := receipt.Render(loadDoc(t, tc.doc), profile(t, tc.profile, tc.native), tc.mode)
			if err != nil {
				t.Fatal(err)
			}
			escpostest.Golden(t, filepath.Join("testdata", tc.name+".golden.bin"), got, *update)
		})
	}
}

// TestPrintedReceipt renders each receipt through the interpreter and checks what
// lands on paper: the QR codes decode to the links, the content comes in the
// required order, and no line is wider than the paper.
func TestPrintedReceipt(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := loadDoc(t, tc.doc)
			p := profile(t, tc.profile, tc.native)
			data, err := receipt.Render(doc, p, tc.mode)
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

			var want []string
			if doc.KOD1 != "" {
				want = append(want, doc.KOD1)
			}
			if doc.KOD2 != "" {
				want = append(want, doc.KOD2)
			}
			// Decoded from the page as printed: the quiet zone is paper,
			// checked free of ink, not white added around the symbol.
			var got []string
			for _, g := range page.Graphics {
				s, err := escpostest.DecodePrinted(page, g)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, s)
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("decoded QR codes = %q, want %q", got, want)
			}
			wantKind := escpos.GraphicRaster
			if tc.mode == receipt.QRNative || (tc.mode == receipt.QRAuto && p.NativeQR) {
				wantKind = escpos.GraphicNativeQR
			}
			for _, g := range page.Graphics {
				if g.Kind != wantKind {
					t.Errorf("graphic kind %d, want %d", g.Kind, wantKind)
				}
			}

			for _, l := range page.Lines {
				if n := len([]rune(l.Text)); n > p.Columns {
					t.Errorf("line %q has %d columns, paper has %d", l.Text, n, p.Columns)
				}
			}
			if page.Cuts+btoi(p.Cut == escpos.CutNone) != 1 {
				t.Errorf("cuts = %d", page.Cuts)
			}

			// Content order, by the top row of each element on the page.
			y := func(what string) int {
				t.Helper()
				for _, l := range page.Lines {
					if strings.Contains(l.Text, what) {
						return l.Y
					}
				}
				t.Errorf("%q not printed", what)
				return -1
			}
			type mark struct {
				what string
				y    int
			}
			// The marks of a print that is not the first original come first,
			// so a receipt cut short by a crash still shows them.
			var order, dates []mark
			if doc.Duplicate != "" {
				order = append(order, mark{"DUPLIKAT", y(receipt.MarkDuplicate)})
				dates = append(dates, mark{"duplicate date", y(doc.Duplicate)})
			} else if strings.Contains(string(data), receipt.MarkDuplicate) {
				t.Error("original printed DUPLIKAT")
			}
			if doc.Repeat != "" {
				order = append(order, mark{receipt.MarkRepeat, y(receipt.MarkRepeat)})
				dates = append(dates, mark{"first attempt", y(doc.Repeat)})
			} else if strings.Contains(string(data), receipt.MarkRepeat) {
				t.Error("a first print is marked as repeated")
			}
			order = append(order, dates...)
			order = append(order, []mark{
				{"seller", y("Piekarnia")},
				{"address", y("Źródlana")},
				{"NIP", y("NIP: " + doc.SellerNIP)},
				{"title", y(doc.Title)},
				{"number", y(doc.Number)},
				{"date", y(doc.Date)},
				{"place", y("Miejsce wystawienia")},
				{"mode", y("Tryb:")},
				{"buyer", y("Nabywca:")},
				{"line", y(strings.Fields(doc.Lines[0].Name)[0])},
				{"VAT summary", y("Podsumowanie VAT")},
				{"totals", y("DO ZAPŁATY")},
				{"payment", y(strings.Fields(doc.Payment)[0])},
			}...)
			if len(page.Graphics) != len(want) {
				t.Fatalf("printed %d QR codes, want %d", len(page.Graphics), len(want))
			}
			if doc.KOD1 == "" {
				order = append(order, mark{"no-codes line", y("bez kodów")})
			} else {
				order = append(order, mark{"KOD I", page.Graphics[0].Bounds.Min.Y},
					mark{"KOD I label", y(escpos.Wrap(doc.KOD1Label, p.Columns)[0])})
			}
			if doc.KOD2 != "" {
				order = append(order, mark{"KOD II", page.Graphics[1].Bounds.Min.Y}, mark{"CERTYFIKAT", y("CERTYFIKAT")})
			}
			if doc.KOD1 == "" && (strings.Contains(string(data), "OFFLINE") || strings.Contains(string(data), "CERTYFIKAT")) {
				t.Error("a receipt without codes printed a code label")
			}
			order = append(order, mark{"footer", y("Dziękujemy")})
			for i := 1; i < len(order); i++ {
				if order[i].y <= order[i-1].y {
					t.Errorf("%s (y=%d) does not follow %s (y=%d)", order[i].what, order[i].y, order[i-1].what, order[i-1].y)
				}
			}
		})
	}
}

func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestRenderErrors(t *testing.T) {
	good := loadDoc(t, "offline-rsa")
	p58 := profile(t, "generic-58", false)
	tests := []struct {
		name    string
		edit    func(*receipt.Doc)
		p       escpos.Profile
		mode    receipt.QRMode
		field   string
		wantErr error
	}{
		{"no seller", func(d *receipt.Doc) { d.SellerName = " " }, p58, receipt.QRAuto, "SellerName", receipt.ErrInvalidDoc},
		{"no NIP", func(d *receipt.Doc) { d.SellerNIP = "" }, p58, receipt.QRAuto, "SellerNIP", receipt.ErrInvalidDoc},
		{"bad title", func(d *receipt.Doc) { d.Title = "Paragon" }, p58, receipt.QRAuto, "Title", receipt.ErrInvalidDoc},
		{"no lines", func(d *receipt.Doc) { d.Lines = nil }, p58, receipt.QRAuto, "Lines", receipt.ErrInvalidDoc},
		{"line without value", func(d *receipt.Doc) { d.Lines[1].Value = "" }, p58, receipt.QRAuto, "Lines[1].Value", receipt.ErrInvalidDoc},
		{"VAT row without gross", func(d *receipt.Doc) { d.VAT[0].Gross = "" }, p58, receipt.QRAuto, "VAT[0]", receipt.ErrInvalidDoc},
		{"no KOD I", func(d *receipt.Doc) { d.KOD1 = "" }, p58, receipt.QRAuto, "KOD1", receipt.ErrInvalidDoc},
		{"no KOD I label", func(d *receipt.Doc) { d.KOD1Label = "" }, p58, receipt.QRAuto, "KOD1Label", receipt.ErrInvalidDoc},
		{"no codes but KOD II", func(d *receipt.Doc) { d.KOD1, d.KOD1Label, d.NoCodes = "", "", "x" }, p58, receipt.QRAuto, "KOD2", receipt.ErrInvalidDoc},
		{"no codes but a label", func(d *receipt.Doc) { d.KOD1, d.KOD2, d.NoCodes = "", "", "x" }, p58, receipt.QRAuto, "KOD1Label", receipt.ErrInvalidDoc},
		{"no-codes line with KOD I", func(d *receipt.Doc) { d.NoCodes = receipt.NoCodesTotalFailure }, p58, receipt.QRAuto, "NoCodes", receipt.ErrInvalidDoc},
		{"blank no-codes line", func(d *receipt.Doc) { d.KOD1, d.KOD1Label, d.KOD2, d.NoCodes = "", "", "", " " }, p58, receipt.QRAuto, "KOD1", receipt.ErrInvalidDoc},
		{"no currency", func(d *receipt.Doc) { d.Currency = "" }, p58, receipt.QRAuto, "Currency", receipt.ErrInvalidDoc},
		{"native on a raster-only printer", func(*receipt.Doc) {}, p58, receipt.QRNative, "", receipt.ErrNativeQRUnsupported},
		{"KOD II too large for 58 mm", func(d *receipt.Doc) { d.KOD2 = strings.Repeat("https://x/", 140) }, p58, receipt.QRRaster, "", escpos.ErrQRTooLarge},
		{"KOD II beyond QR capacity", func(d *receipt.Doc) { d.KOD2 = strings.Repeat("x", 3000) }, p58, receipt.QRRaster, "", escpos.ErrQRData},
		{"invalid profile", func(*receipt.Doc) {}, escpos.Profile{ID: "broken"}, receipt.QRRaster, "", escpos.ErrInvalidProfile},
		{"unknown mode", func(*receipt.Doc) {}, p58, receipt.QRMode(9), "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := loadDoc(t, "offline-rsa")
			tt.edit(&d)
			out, err := receipt.Render(d, tt.p, tt.mode)
			if err == nil || out != nil {
				t.Fatalf("Render = %d bytes, %v; want an error and no bytes", len(out), err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("Render error = %v, want %v", err, tt.wantErr)
			}
			var fe *receipt.FieldError
			if tt.field != "" && (!errors.As(err, &fe) || fe.Field != tt.field) {
				t.Errorf("Render error = %v, want FieldError on %s", err, tt.field)
			}
		})
	}
	if _, err := receipt.Render(good, p58, receipt.QRAuto); err != nil {
		t.Errorf("good doc: %v", err)
	}
}

// Amounts too wide for the VAT table switch to a stacked layout and are never cut.
func TestVATSummaryWideAmounts(t *testing.T) {
	d := loadDoc(t, "online")
	d.VAT = []receipt.VATRow{{Rate: "23%", Net: "1 234 567,89", VAT: "283 950,61", Gross: "1 518 518,50"}}
	p := profile(t, "generic-58", false)
	data, err := receipt.Render(d, p, receipt.QRRaster)
	if err != nil {
		t.Fatal(err)
	}
	page, err := escpos.Render(data, p)
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	for _, l := range page.Lines {
		text.WriteString(l.Text + "\n")
	}
	for _, amount := range []string{"1 234 567,89", "283 950,61", "1 518 518,50"} {
		if !strings.Contains(text.String(), amount) {
			t.Errorf("amount %q not printed whole:\n%s", amount, text.String())
		}
	}
}
