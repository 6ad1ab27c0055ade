//go:build linux

package e2e

import (
	"bytes"
	"testing"
)

func TestFakePrinterAnswers(t *testing.T) {
	tests := []struct {
		name string
		cond condition
		in   []byte
		want []byte
	}{
		{"healthy DLE EOT 1 2 4", healthy, []byte{0x10, 0x04, 1, 0x10, 0x04, 2, 0x10, 0x04, 4}, []byte{0x12, 0x12, 0x12}},
		{"paper out", paperOut, []byte{0x10, 0x04, 1, 0x10, 0x04, 2, 0x10, 0x04, 4, 0x1D, 0x72, 0x31}, []byte{0x1A, 0x32, 0x7E, 0x0F}},
		{"cover open", coverOpen, []byte{0x10, 0x04, 1, 0x10, 0x04, 2, 0x10, 0x04, 4}, []byte{0x1A, 0x16, 0x12}},
		{"GS r 1 after text", healthy, []byte("Paragon\n\x1dr1"), []byte{0x00}},
		{"DLE EOT 5 is not a status query", healthy, []byte{0x10, 0x04, 5}, nil},
		{"split query kept for the next read", healthy, []byte{'a', 0x10, 0x04}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &fakePrinter{cond: tt.cond}
			if got := p.take(tt.in); !bytes.Equal(got, tt.want) {
				t.Errorf("take(% x) = % x, want % x", tt.in, got, tt.want)
			}
			if got := p.bytes(); !bytes.Equal(got, tt.in) {
				t.Errorf("recorded % x, want % x", got, tt.in)
			}
		})
	}
}

// FuzzFakePrinterSplit checks that the fake printer answers the same
// queries however the host's bytes are split across reads, as a pty may
// split them anywhere.
func FuzzFakePrinterSplit(f *testing.F) {
	f.Add([]byte{0x10, 0x04, 1, 0x1D, 0x72, 0x31}, uint16(1))
	f.Add([]byte("abc\x10\x04\x02\x10\x04\x04xyz"), uint16(4))
	f.Add([]byte{0x10, 0x10, 0x04, 0x01, 0x1D, 0x1D, 0x72, 0x01}, uint16(2))
	f.Fuzz(func(t *testing.T, data []byte, cut uint16) {
		for _, cond := range []condition{healthy, paperOut, coverOpen} {
			whole := &fakePrinter{cond: cond}
			want := whole.take(data)
			split := &fakePrinter{cond: cond}
			at := 0
			if len(data) > 0 {
				at = int(cut) % (len(data) + 1)
			}
			got := append(split.take(data[:at]), split.take(data[at:])...)
			if !bytes.Equal(got, want) {
				t.Fatalf("cond %d, cut at %d: answers % x, in one read % x", cond, at, got, want)
			}
			if r, q := split.counts(); r != len(data) || q != len(want) {
				t.Fatalf("recorded %d bytes and %d queries, want %d and %d", r, q, len(data), len(want))
			}
		}
	})
}
