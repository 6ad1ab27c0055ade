package escpos

import "fmt"

// qrDataCodewords[v-1] holds the data codewords of QR version v at EC L, M,
// Q, H (ISO/IEC 18004:2015 table 7: total codewords minus EC codewords).
var qrDataCodewords = [40][4]int16{
	{19, 16, 13, 9}, {34, 28, 22, 16}, {55, 44, 34, 26}, {80, 64, 48, 36},
	{108, 86, 62, 46}, {136, 108, 76, 60}, {156, 124, 88, 66}, {194, 154, 110, 86},
	{232, 182, 132, 100}, {274, 216, 154, 122}, {324, 254, 180, 140}, {370, 290, 206, 158},
	{428, 334, 244, 180}, {461, 365, 261, 197}, {523, 415, 295, 223}, {589, 453, 325, 253},
	{647, 507, 367, 283}, {721, 563, 397, 313}, {795, 627, 445, 341}, {861, 669, 485, 385},
	{932, 714, 512, 406}, {1006, 782, 568, 442}, {1094, 860, 614, 464}, {1174, 914, 664, 514},
	{1276, 1000, 718, 538}, {1370, 1062, 754, 596}, {1468, 1128, 808, 628}, {1531, 1193, 871, 661},
	{1631, 1267, 911, 701}, {1735, 1373, 985, 745}, {1843, 1455, 1033, 793}, {1955, 1541, 1115, 845},
	{2071, 1631, 1171, 901}, {2191, 1725, 1231, 961}, {2306, 1812, 1286, 986}, {2434, 1914, 1354, 1054},
	{2566, 1992, 1426, 1096}, {2702, 2102, 1502, 1142}, {2812, 2216, 1582, 1222}, {2956, 2334, 1666, 1276},
}

// column is the level's column in qrDataCodewords.
func (l ECLevel) column() int {
	switch l {
	case ECLow:
		return 0
	case ECQuartile:
		return 2
	case ECHigh:
		return 3
	}
	return 1
}

// qrByteCapacity is the number of bytes a byte-mode segment can carry in
// version v at level l: the data bits less the 4-bit mode indicator and the
// character count (8 bits up to version 9, 16 from version 10), in whole bytes.
func qrByteCapacity(v int, l ECLevel) int {
	cc := 8
	if v >= 10 {
		cc = 16
	}
	return (8*int(qrDataCodewords[v-1][l.column()]) - 4 - cc) / 8
}

// qrVersion returns the smallest version whose byte mode holds n bytes at
// level l, the version the encoder (byte mode, smallest version) produces,
// without building the symbol. It fails with ErrQRData past version 40.
func qrVersion(n int, l ECLevel) (int, error) {
	for v := 1; v <= 40; v++ {
		if n <= qrByteCapacity(v, l) {
			return v, nil
		}
	}
	return 0, fmt.Errorf("%w: %d bytes at EC %s, over the %d bytes of version 40", ErrQRData, n, l, qrByteCapacity(40, l))
}
