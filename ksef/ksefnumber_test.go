package ksef_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
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

func FuzzParseKSeFNumber(f *testing.F) {
	for _, s := range []string{"5265877635-20250826-0100001AF629-AF", "5265877635-20250626-010080DD2B5E-26", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ksef.ParseKSeFNumber(s)
		if err != nil {
			return
		}
		if k.String() != s {
			t.Fatalf("round trip %q -> %q", s, k.String())
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
