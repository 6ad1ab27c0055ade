package ksef

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// KSeFNumber is a parsed KSeF invoice number,
// "NNNNNNNNNN-YYYYMMDD-XXXXXXXXXXXX-CC": the seller's NIP, the day KSeF
// received the invoice, 12 uppercase hex digits assigned by KSeF, and a CRC-8
// of the first 32 characters.
type KSeFNumber struct {
	NIP    string
	Date   Date
	Unique string // 12 uppercase hex digits
	CRC    byte
}

// String returns the canonical 35-character form.
func (k KSeFNumber) String() string {
	return fmt.Sprintf("%s-%04d%02d%02d-%s-%02X", k.NIP, k.Date.Year, int(k.Date.Month), k.Date.Day, k.Unique, k.CRC)
}

// crc8 is CRC-8 with polynomial 0x07, init 0, no reflection, no final XOR.
func crc8(s string) byte {
	var c byte
	for i := 0; i < len(s); i++ {
		c ^= s[i]
		for range 8 {
			if c&0x80 != 0 {
				c = c<<1 ^ 0x07
			} else {
				c <<= 1
			}
		}
	}
	return c
}

// ParseKSeFNumber parses and checks a KSeF number. It checks the layout, the
// date and the CRC-8, but not the NIP checksum: the test environment issues
// numbers for NIPs that fail it.
func ParseKSeFNumber(s string) (KSeFNumber, error) {
	if len(s) != 35 || s[10] != '-' || s[19] != '-' || s[32] != '-' {
		return KSeFNumber{}, fmt.Errorf("%w %q: want NIP-YYYYMMDD-XXXXXXXXXXXX-CC", ErrKSeFNumber, s)
	}
	nip, day, uniq, sum := s[:10], s[11:19], s[20:32], s[33:]
	if !allDigits(nip) {
		return KSeFNumber{}, fmt.Errorf("%w %q: NIP part is not 10 digits", ErrKSeFNumber, s)
	}
	if !allDigits(day) {
		return KSeFNumber{}, fmt.Errorf("%w %q: bad date part", ErrKSeFNumber, s)
	}
	d, err := ParseDate(day[:4] + "-" + day[4:6] + "-" + day[6:])
	if err != nil {
		return KSeFNumber{}, fmt.Errorf("%w %q: bad date part", ErrKSeFNumber, s)
	}
	if !upperHex(uniq) || !upperHex(sum) {
		return KSeFNumber{}, fmt.Errorf("%w %q: want uppercase hex", ErrKSeFNumber, s)
	}
	var c [1]byte
	if _, err := hex.Decode(c[:], []byte(sum)); err != nil {
		return KSeFNumber{}, fmt.Errorf("%w %q: bad checksum part", ErrKSeFNumber, s)
	}
	if want := crc8(s[:32]); want != c[0] {
		return KSeFNumber{}, fmt.Errorf("%w: %q has %02X, want %02X", ErrKSeFChecksum, s, c[0], want)
	}
	return KSeFNumber{NIP: nip, Date: d, Unique: uniq, CRC: c[0]}, nil
}

// NewKSeFNumber builds a KSeF number with a correct CRC-8; the simulator uses
// it. The day is taken in Europe/Warsaw.
func NewKSeFNumber(nip string, day time.Time, unique [6]byte) string {
	d := DateOf(day)
	head := fmt.Sprintf("%s-%04d%02d%02d-%s", nip, d.Year, int(d.Month), d.Day, strings.ToUpper(hex.EncodeToString(unique[:])))
	return fmt.Sprintf("%s-%02X", head, crc8(head))
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func upperHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return s != ""
}
