package ksef_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/internal/testutil"
	"github.com/posagent/posagent/ksef"
)

// officialKSeFNumbers reads the three CRC-8 vectors from the official sample file.
func officialKSeFNumbers(t testing.TB) []string {
	t.Helper()
	f, err := os.Open(testutil.Official("ksef/samples/qr-kod2-test-vector.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 0 && len(fields[0]) == 35 && strings.Count(fields[0], "-") == 3 {
			out = append(out, fields[0])
		}
	}
	if len(out) != 3 {
		t.Fatalf("found %d KSeF numbers in the vector file, want 3", len(out))
	}
	return out
}

func TestParseKSeFNumberOfficial(t *testing.T) {
	for _, s := range officialKSeFNumbers(t) {
		k, err := ksef.ParseKSeFNumber(s)
		if err != nil {
			t.Fatalf("ParseKSeFNumber(%q): %v", s, err)
		}
		if got := k.String(); got != s {
			t.Errorf("String() = %q, want %q", got, s)
		}
		if k.NIP != "5265877635" {
			t.Errorf("NIP = %q", k.NIP)
		}
	}
}

func TestParseKSeFNumberErrors(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		{"5265877635-20250826-0100001AF629-AE", ksef.ErrKSeFChecksum},
		{"5265877635-20250826-0100001AF629-af", ksef.ErrKSeFNumber},
		{"5265877635-20250826-0100001af629-AF", ksef.ErrKSeFNumber},
		{"5265877635-20251326-0100001AF629-AF", ksef.ErrKSeFNumber},
		{"526587763X-20250826-0100001AF629-AF", ksef.ErrKSeFNumber},
		{"5265877635-20250826-0100001AF629AF", ksef.ErrKSeFNumber},
		{"", ksef.ErrKSeFNumber},
	}
	for _, tt := range tests {
		if _, err := ksef.ParseKSeFNumber(tt.in); !errors.Is(err, tt.want) {
			t.Errorf("ParseKSeFNumber(%q) err = %v, want %v", tt.in, err, tt.want)
		}
	}
}

func TestNewKSeFNumber(t *testing.T) {
	day := time.Date(2025, 8, 26, 10, 0, 0, 0, ksef.Warsaw)
	got := ksef.NewKSeFNumber("5265877635", day, [6]byte{0x01, 0x00, 0x00, 0x1A, 0xF6, 0x29})
	if want := "5265877635-20250826-0100001AF629-AF"; got != want {
		t.Errorf("NewKSeFNumber = %q, want %q", got, want)
	}
	// 23:30 UTC on 25 Aug is already 26 Aug in Warsaw.
	got = ksef.NewKSeFNumber("5265877635", time.Date(2025, 8, 25, 23, 30, 0, 0, time.UTC), [6]byte{0x01, 0, 0, 0x1A, 0xF6, 0x29})
	if _, err := ksef.ParseKSeFNumber(got); err != nil || !strings.Contains(got, "-20250826-") {
		t.Errorf("NewKSeFNumber across midnight = %q, %v", got, err)
	}
}

// xsdKSeFNumber is the TNumerKSeF pattern read from the FA(3) XSD in
// testdata, anchored as XSD patterns are.
func xsdKSeFNumber(tb testing.TB) *regexp.Regexp {
	tb.Helper()
	b, err := os.ReadFile(testutil.Official("ksef/schema/schemat_FA(3)_v1-0E.xsd"))
	if err != nil {
		tb.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)<xsd:simpleType name="TNumerKSeF">.*?<xsd:pattern value="([^"]+)"`).FindSubmatch(b)
	if m == nil {
		tb.Fatal("TNumerKSeF pattern not found in the FA(3) XSD")
	}
	return regexp.MustCompile(`^(?:` + string(m[1]) + `)$`)
}

// withCRC appends the CRC-8 of the canonical form (dash of the 36-character
// form removed) to head, which ends in the hex part.
func withCRC(head string) string {
	canon := head
	if len(head) == 33 {
		canon = head[:26] + head[27:]
	}
	return head + "-" + crcHex(canon)
}

func crcHex(s string) string {
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
	return fmt.Sprintf("%02X", c)
}

// TestParseKSeFNumberXSD: everything the FA(3) type TNumerKSeF allows is
// accepted (the 36-character form, the M and three-letter identifiers, any
// year from 2020, surrounding whitespace of an xsd:token), and what it does
// not allow is refused, as the XSD's own pattern decides.
func TestParseKSeFNumberXSD(t *testing.T) {
	xsd := xsdKSeFNumber(t)
	tests := []struct {
		name  string
		in    string
		canon string // "" = refused
	}{
		{"35 characters", withCRC("5265877635-20250826-0100001AF629"), withCRC("5265877635-20250826-0100001AF629")},
		{"36 characters", withCRC("5265877635-20250826-010000-1AF629"), withCRC("5265877635-20250826-0100001AF629")},
		{"M identifier", withCRC("M123456789-20261205-ABCDEF012345"), withCRC("M123456789-20261205-ABCDEF012345")},
		{"three letters", withCRC("ABC1234567-20261205-ABCDEF-012345"), withCRC("ABC1234567-20261205-ABCDEF012345")},
		{"year 9999", withCRC("5265877635-99991231-000000000000"), withCRC("5265877635-99991231-000000000000")},
		{"token whitespace", " \t" + withCRC("5265877635-20250826-0100001AF629") + "\n", withCRC("5265877635-20250826-0100001AF629")},
		{"year 2019", withCRC("5265877635-20191231-000000000000"), ""},
		{"NIP 0 first", withCRC("0265877635-20250826-0100001AF629"), ""},
		{"NIP 00 second and third", withCRC("5005877635-20250826-0100001AF629"), ""},
		{"month 13", withCRC("5265877635-20251326-0100001AF629"), ""},
		{"lower-case hex", withCRC("5265877635-20250826-0100001af629"), ""},
		{"dash in the wrong place", withCRC("5265877635-20250826-01000-01AF629"), ""},
		{"two letters", withCRC("AB12345678-20250826-0100001AF629"), ""},
		{"inner space", withCRC("5265877635-20250826 0100001AF629"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			trimmed := strings.Trim(tt.in, " \t\r\n")
			if got, want := xsd.MatchString(trimmed), tt.canon != ""; got != want {
				t.Fatalf("the XSD pattern matches %q: %v, the case says %v", trimmed, got, want)
			}
			k, err := ksef.ParseKSeFNumber(tt.in)
			if tt.canon == "" {
				if !errors.Is(err, ksef.ErrKSeFNumber) {
					t.Fatalf("ParseKSeFNumber(%q) = %v, want ErrKSeFNumber", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseKSeFNumber(%q) = %v", tt.in, err)
			}
			if got := k.String(); got != tt.canon {
				t.Errorf("String() = %q, want %q", got, tt.canon)
			}
		})
	}
	good := withCRC("5265877635-20250826-010000-1AF629")
	wrong := "00"
	if strings.HasSuffix(good, wrong) {
		wrong = "01"
	}
	if _, err := ksef.ParseKSeFNumber(good[:len(good)-2] + wrong); !errors.Is(err, ksef.ErrKSeFChecksum) {
		t.Errorf("36 characters with a wrong checksum: %v, want ErrKSeFChecksum", err)
	}
}

// FuzzParseKSeFNumber: a number is accepted only if the XSD's pattern
// matches it, and its canonical form parses back to the same number.
func FuzzParseKSeFNumber(f *testing.F) {
	for _, s := range []string{"5265877635-20250826-0100001AF629-AF", "5265877635-20250626-010080DD2B5E-26", "x",
		withCRC("5265877635-20250826-010000-1AF629"), withCRC("M123456789-20261205-ABCDEF012345")} {
		f.Add(s)
	}
	xsd := xsdKSeFNumber(f)
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ksef.ParseKSeFNumber(s)
		if err != nil {
			return
		}
		if !xsd.MatchString(strings.Trim(s, " \t\r\n")) {
			t.Fatalf("accepted %q, which TNumerKSeF does not allow", s)
		}
		again, err := ksef.ParseKSeFNumber(k.String())
		if err != nil || again != k {
			t.Fatalf("round trip %q -> %q -> %+v, %v", s, k.String(), again, err)
		}
	})
}

func ExampleParseKSeFNumber() {
	k, err := ksef.ParseKSeFNumber("5265877635-20250826-0100001AF629-AF")
	if err != nil {
		panic(err)
	}
	fmt.Println(k.NIP, k.Date, k.Unique)
	// Output: 5265877635 2025-08-26 0100001AF629
}
