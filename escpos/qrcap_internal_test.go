package escpos

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/boombuler/barcode/qr"
)

// TestQRByteCapacity pins well-known byte-mode capacities (ISO/IEC 18004
// table 7) so a typo in the codeword table shows up without an encoder.
func TestQRByteCapacity(t *testing.T) {
	tests := []struct {
		v    int
		ec   ECLevel
		want int
	}{
		{1, ECLow, 17}, {1, ECMedium, 14}, {1, ECQuartile, 11}, {1, ECHigh, 7},
		{9, ECMedium, 180}, {10, ECLow, 271}, {10, ECMedium, 213},
		{20, ECQuartile, 482}, {27, ECHigh, 625},
		{40, ECLow, 2953}, {40, ECMedium, 2331}, {40, ECQuartile, 1663}, {40, ECHigh, 1273},
	}
	for _, tt := range tests {
		if got := qrByteCapacity(tt.v, tt.ec); got != tt.want {
			t.Errorf("qrByteCapacity(%d, %s) = %d, want %d", tt.v, tt.ec, got, tt.want)
		}
	}
	// Capacity grows with the version and falls with the level.
	for v := 1; v <= 40; v++ {
		for _, ec := range []ECLevel{ECLow, ECMedium, ECQuartile} {
			next := map[ECLevel]ECLevel{ECLow: ECMedium, ECMedium: ECQuartile, ECQuartile: ECHigh}[ec]
			if qrByteCapacity(v, ec) <= qrByteCapacity(v, next) {
				t.Errorf("version %d: %s holds %d, %s %d", v, ec, qrByteCapacity(v, ec), next, qrByteCapacity(v, next))
			}
		}
		if v > 1 && qrByteCapacity(v, ECHigh) <= qrByteCapacity(v-1, ECHigh) {
			t.Errorf("version %d at H holds no more than version %d", v, v-1)
		}
	}
}

// TestQRVersionMatchesEncoder encodes the boundary lengths of every version
// up to 15 and a few larger ones at each level: the last length the table
// gives version v must encode at v, the next one at v+1.
func TestQRVersionMatchesEncoder(t *testing.T) {
	versions := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 20, 26, 27}
	if !testing.Short() {
		versions = append(versions, 33, 39, 40)
	}
	start := time.Now()
	for _, ec := range []ECLevel{ECLow, ECMedium, ECQuartile, ECHigh} {
		for _, v := range versions {
			lengths := []int{qrByteCapacity(v, ec)}
			if v < 40 {
				lengths = append(lengths, qrByteCapacity(v, ec)+1)
			}
			for _, n := range lengths {
				// Digits: boombuler's Unicode mode still encodes them as bytes.
				data := strings.Repeat("7", n)
				code, err := qr.Encode(data, ec.boombuler(), qr.Unicode)
				if err != nil {
					t.Fatalf("qr.Encode(%d bytes, %s): %v", n, ec, err)
				}
				gotV := (code.Bounds().Dx() - 17) / 4
				wantV, err := qrVersion(n, ec)
				if err != nil || gotV != wantV {
					t.Errorf("%d bytes at %s: encoder chose version %d, qrVersion = %d, %v", n, ec, gotV, wantV, err)
				}
			}
		}
	}
	t.Logf("%d encodes in %v", 4*2*len(versions), time.Since(start).Round(time.Millisecond))
	for _, ec := range []ECLevel{ECLow, ECMedium, ECQuartile, ECHigh} {
		n := qrByteCapacity(40, ec) + 1
		if _, err := qrVersion(n, ec); !errors.Is(err, ErrQRData) {
			t.Errorf("qrVersion(%d, %s) = %v, want ErrQRData", n, ec, err)
		}
	}
}
