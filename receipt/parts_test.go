package receipt_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/posagent/posagent/escpos"
	"github.com/posagent/posagent/escpos/escpostest"
	"github.com/posagent/posagent/receipt"
)

// qrStart is the offset of the first QR command (GS ( k or GS v 0) in b, or -1.
func qrStart(b []byte) int {
	i, j := bytes.Index(b, []byte{0x1d, '(', 'k'}), bytes.Index(b, []byte{0x1d, 'v', '0'})
	switch {
	case i < 0:
		return j
	case j < 0:
		return i
	}
	return min(i, j)
}

// quietFeed reports whether b is only the feeds that make a code's top quiet
// zone (LF, ESC J n).
func quietFeed(b []byte) bool {
	for len(b) > 0 {
		switch {
		case b[0] == '\n':
			b = b[1:]
		case len(b) >= 3 && b[0] == 0x1b && b[1] == 'J':
			b = b[3:]
		default:
			return false
		}
	}
	return true
}

// TestRenderParts checks, for every golden, that head+tail is the golden
// stream, that head ends where the first code's block begins, and that tail
// returns the same bytes however often and from whichever goroutine it is
// called.
func TestRenderParts(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := loadDoc(t, tc.doc)
			head, tail, err := receipt.RenderParts(doc, profile(t, tc.profile, tc.native), tc.mode)
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			var rest [3][]byte
			var errs [3]error
			for i := range rest {
				wg.Go(func() { rest[i], errs[i] = tail() })
			}
			wg.Wait()
			for i := range rest {
				if errs[i] != nil {
					t.Fatalf("tail call %d: %v", i, errs[i])
				}
				if !bytes.Equal(rest[i], rest[0]) {
					t.Errorf("tail call %d returned %d bytes, call 0 %d", i, len(rest[i]), len(rest[0]))
				}
			}
			again, err := tail()
			if err != nil || !bytes.Equal(again, rest[0]) {
				t.Errorf("tail again = %d bytes, %v; want the same %d bytes", len(again), err, len(rest[0]))
			}
			whole := append(bytes.Clone(head), rest[0]...)
			escpostest.Golden(t, filepath.Join("testdata", tc.name+".golden.bin"), whole, false)

			if qrStart(head) >= 0 {
				t.Errorf("head holds a QR command at offset %d", qrStart(head))
			}
			if doc.KOD1 == "" {
				if len(rest[0]) != 0 {
					t.Errorf("receipt without codes: tail = %d bytes, want none", len(rest[0]))
				}
				return
			}
			i := qrStart(rest[0])
			if i < 0 {
				t.Fatal("tail holds no QR command")
			}
			if !quietFeed(rest[0][:i]) {
				t.Errorf("tail starts with % x before its first QR command, want only its quiet-zone feed", rest[0][:i])
			}
		})
	}
}

// A receipt whose code cannot fit the paper fails in RenderParts itself,
// before anything is laid out or encoded.
func TestRenderPartsFitError(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*receipt.Doc)
		mode    receipt.QRMode
		native  bool
		wantErr error
	}{
		{"raster KOD II too large", func(d *receipt.Doc) { d.KOD2 = strings.Repeat("https://x/", 140) }, receipt.QRRaster, false, escpos.ErrQRTooLarge},
		{"native KOD I too large", func(d *receipt.Doc) { d.KOD1 = strings.Repeat("https://x/", 140) }, receipt.QRNative, true, escpos.ErrQRTooLarge},
		{"raster KOD I beyond capacity", func(d *receipt.Doc) { d.KOD1 = strings.Repeat("x", 3000) }, receipt.QRRaster, false, escpos.ErrQRData},
		{"invalid doc", func(d *receipt.Doc) { d.Number = "" }, receipt.QRRaster, false, receipt.ErrInvalidDoc},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := loadDoc(t, "offline-rsa")
			tt.edit(&d)
			head, tail, err := receipt.RenderParts(d, profile(t, "generic-58", tt.native), tt.mode)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("RenderParts error = %v, want %v", err, tt.wantErr)
			}
			if head != nil || tail != nil {
				t.Errorf("RenderParts = %d bytes of head, tail %v; want none", len(head), tail != nil)
			}
		})
	}
}
