package escpos_test

import (
	"bytes"
	"errors"
	"image"
	"testing"

	"github.com/posagent/posagent/escpos"
)

func lineTexts(p *escpos.Page) []string {
	var out []string
	for _, l := range p.Lines {
		out = append(out, l.Text)
	}
	return out
}

func TestRenderText(t *testing.T) {
	p := mustProfile(t, "generic-58")
	tests := []struct {
		name string
		in   []byte
		want []string
	}{
		{"cp852 polish", append([]byte("\x1b@\x1c.\x1bt\x12"), 0xa5, 0x86, 0xa9, 0x88, 0xe4, 0xa2, 0x98, 0xab, 0xbe, '\n'), []string{"ąćęłńóśźż"}},
		{"wpc1250 page 72", append([]byte("\x1b@\x1bt\x48"), 0xb9, 0x9c, 0xaf, '\n'), []string{"ąśŻ"}},
		{"cp437 at power on", []byte{0x82, '\n'}, []string{"é"}},
		{"unknown page is cp437", append([]byte("\x1bt\x63"), 0x82, '\n'), []string{"é"}},
		{"blank feeds", []byte("a\n\n\x1bd\x02b\n"), []string{"a", "", "", "", "b"}},
		{"wraps at 32 columns", bytes.Repeat([]byte("x"), 40), []string{string(bytes.Repeat([]byte("x"), 32)), "xxxxxxxx"}},
		{"double width halves columns", append([]byte("\x1d!\x10"), bytes.Repeat([]byte("y"), 20)...), []string{string(bytes.Repeat([]byte("y"), 16)), "yyyy"}},
		{"unknown commands skipped by length", []byte("\x1bc3\x00\x1b\x44\x08\x10\x00\x1d(L\x02\x000E\x1d(A\x02\x00\x00\x01\x1b*\x00\x02\x00\xff\xffok\n"), []string{"ok"}},
		{"CAN clears the line", []byte("gone\x18kept\n"), []string{"kept"}},
		{"tab to column 8", []byte("ab\tc\n"), []string{"ab      c"}},
		{"status requests are not text", []byte("\x10\x04\x01\x1dr\x01\x1da\x0fz\n"), []string{"z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := escpos.Render(tt.in, p)
			if err != nil {
				t.Fatal(err)
			}
			got := lineTexts(page)
			if len(got) != len(tt.want) {
				t.Fatalf("lines = %q, want %q", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("line %d = %q, want %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestRenderCounters(t *testing.T) {
	p := mustProfile(t, "generic-80")
	page, err := escpos.Render([]byte("\x1d\x56\x42\x03\x1dV\x01\x1bp\x00\x32\xfa\x10\x14\x01\x00\x01\x10\x04\x02\x1dr\x01"), p)
	if err != nil {
		t.Fatal(err)
	}
	if page.Cuts != 2 || page.Pulses != 2 || page.StatusRequests != 2 {
		t.Errorf("cuts %d pulses %d status %d, want 2 2 2", page.Cuts, page.Pulses, page.StatusRequests)
	}
}

func TestRenderInk(t *testing.T) {
	p := mustProfile(t, "generic-58")
	ink := func(img *image.Gray, r image.Rectangle) int {
		n := 0
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				if img.GrayAt(x, y).Y < 0x80 {
					n++
				}
			}
		}
		return n
	}
	page, err := escpos.Render([]byte("\x1ba\x02R\n\x1ba\x00L\n\x1bE\x01L\n"), p)
	if err != nil {
		t.Fatal(err)
	}
	img := page.Image
	left, right := image.Rect(0, 0, 12, 30), image.Rect(372, 0, 384, 30)
	if ink(img, left) != 0 || ink(img, right) == 0 {
		t.Errorf("right-aligned R: ink left %d, right %d", ink(img, left), ink(img, right))
	}
	plain, bold := ink(img, image.Rect(0, 30, 12, 60)), ink(img, image.Rect(0, 60, 14, 90))
	if plain == 0 || bold <= plain {
		t.Errorf("bold ink %d, plain %d: want bold heavier", bold, plain)
	}
}

func TestRenderRasterScaling(t *testing.T) {
	p := mustProfile(t, "generic-80")
	// 2 bytes × 2 rows, all black, printed 2×2: a 32×4 block.
	page, err := escpos.Render([]byte("\x1dv0\x03\x02\x00\x02\x00\xff\xff\xff\xff"), p)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Graphics) != 1 {
		t.Fatalf("graphics = %d, want 1", len(page.Graphics))
	}
	if got, want := page.Graphics[0].Bounds, image.Rect(0, 0, 32, 4); got != want {
		t.Errorf("bounds = %v, want %v", got, want)
	}
	if page.Image.GrayAt(31, 3).Y != 0 || page.Image.GrayAt(32, 3).Y != 0xff {
		t.Error("raster pixels not where expected")
	}
}

func TestRenderErrors(t *testing.T) {
	p := mustProfile(t, "generic-58")
	tests := []struct {
		name    string
		in      []byte
		wantErr error
		offset  int
	}{
		{"truncated raster", []byte("ok\n\x1dv0\x00\x02\x00\x05\x00\xff"), escpos.ErrTruncated, 3},
		{"truncated GS ( k", []byte("\x1d(k\x10\x00\x31\x50\x30ab"), escpos.ErrTruncated, 0},
		{"lone ESC at end", []byte("x\x1b"), escpos.ErrTruncated, 1},
		{"too tall", bytes.Repeat([]byte("\x1bd\xff"), 100), escpos.ErrRenderTooLarge, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := escpos.Render(tt.in, p)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Render error = %v, want %v", err, tt.wantErr)
			}
			var se *escpos.SyntaxError
			if tt.offset >= 0 && (!errors.As(err, &se) || se.Offset != tt.offset) {
				t.Errorf("error = %v, want SyntaxError at %d", err, tt.offset)
			}
			if page == nil || page.Image == nil {
				t.Fatal("no partial page returned")
			}
		})
	}
	bad := p
	bad.Columns = 0
	if _, err := escpos.Render(nil, bad); !errors.Is(err, escpos.ErrInvalidProfile) {
		t.Errorf("Render(bad profile) = %v, want ErrInvalidProfile", err)
	}
}

// A native symbol wider than the paper prints nothing, as on a real printer.
func TestRenderNativeQRTooWide(t *testing.T) {
	p := mustProfile(t, "generic-58")
	var buf bytes.Buffer
	buf.WriteString("\x1d(k\x03\x001C\x10") // module size 16
	data := bytes.Repeat([]byte("hello"), 20)
	buf.Write([]byte{0x1d, '(', 'k', byte(len(data) + 3), 0, '1', 'P', '0'})
	buf.Write(data)
	buf.WriteString("\x1d(k\x03\x001Q0")
	page, err := escpos.Render(buf.Bytes(), p)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Graphics) != 0 {
		t.Errorf("graphics = %v, want none", page.Graphics)
	}
}

// Render shares only the parsed font; concurrent renders must not race (go test -race).
func TestRenderConcurrent(t *testing.T) {
	p := mustProfile(t, "generic-58")
	var buf bytes.Buffer
	w := escpos.NewWriter(&buf, p)
	w.Init()
	w.Line("Zażółć gęślą jaźń")
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			page, err := escpos.Render(buf.Bytes(), p)
			if err == nil && page.Lines[0].Text != "Zażółć gęślą jaźń" {
				err = errors.New("wrong text " + page.Lines[0].Text)
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
