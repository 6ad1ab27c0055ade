package escpos_test

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"

	"github.com/posagent/posagent/escpos"
)

func mustProfile(t testing.TB, id string) escpos.Profile {
	t.Helper()
	p, err := escpos.LookupProfile(id)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// textBytes encodes s alone, without Init.
func textBytes(t *testing.T, p escpos.Profile, s string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := escpos.NewWriter(&buf, p)
	w.Text(s)
	if err := w.Err(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestPolishCodePages checks the byte table of escpos.md §2.4.
func TestPolishCodePages(t *testing.T) {
	const polish = "ąćęłńóśźżĄĆĘŁŃÓŚŹŻ"
	tests := []struct {
		charset escpos.Charset
		want    string
	}{
		{escpos.CharsetCP852, "a586a988e4a298abbea48fa89de3e0978dbd"},
		{escpos.CharsetWPC1250, "b9e6eab3f1f39c9fbfa5c6caa3d1d38c8faf"},
		{escpos.CharsetISO88592, "b1e6eab3f1f3b6bcbfa1c6caa3d1d3a6acaf"},
	}
	for _, tt := range tests {
		t.Run(string(tt.charset), func(t *testing.T) {
			p := mustProfile(t, "generic-80")
			p.Charset = tt.charset
			if got := hex.EncodeToString(textBytes(t, p, polish)); got != tt.want {
				t.Errorf("Text(%q) = %s, want %s", polish, got, tt.want)
			}
		})
	}
}

func TestPrintable(t *testing.T) {
	tests := []struct {
		charset  escpos.Charset
		in, want string
	}{
		{escpos.CharsetCP852, "Cena: 10 €", "Cena: 10 EUR"},
		{escpos.CharsetCP852, "„Żółw” – 2…3", `"Żółw" - 2...3`},
		{escpos.CharsetWPC1250, "„Żółw” – 10 €", "„Żółw” – 10 €"}, // CP1250 has them all
		{escpos.CharsetCP437, "Zażółć gęślą jaźń", "Zazólc gesla jazn"},
		{escpos.CharsetCP852, "tab\there\x1b@\x00bell\a", "tab here@bell"},
		{escpos.CharsetCP852, "日本", "__"},
		{escpos.CharsetCP852, "Ǆ ﬁ", "DZ fi"},
		{escpos.CharsetCP852, "a\nb", "a\nb"},
	}
	for _, tt := range tests {
		got := tt.charset.Printable(tt.in)
		if got != tt.want {
			t.Errorf("%s.Printable(%q) = %q, want %q", tt.charset, tt.in, got, tt.want)
		}
		if again := tt.charset.Printable(got); again != got {
			t.Errorf("Printable not idempotent: %q → %q", got, again)
		}
	}
}

func TestTextNeverQuestionMark(t *testing.T) {
	p := mustProfile(t, "generic-58")
	in := "Ąą€„”–—…日本\u00a0ß✓"
	if got := textBytes(t, p, in); bytes.ContainsRune(got, '?') {
		t.Errorf("Text(%q) = % x contains '?'", in, got)
	}
	// Control bytes cannot be injected through text.
	if got := textBytes(t, p, "x\x1b@\x1dV\x00\x10\x04"); bytes.ContainsAny(got, "\x1b\x1d\x10\x00\x04") {
		t.Errorf("control bytes leaked: % x", got)
	}
}

func TestWrap(t *testing.T) {
	tests := []struct {
		in    string
		width int
		want  []string
	}{
		{"", 10, []string{""}},
		{"ala ma kota", 20, []string{"ala ma kota"}},
		{"ala ma kota", 6, []string{"ala ma", "kota"}},
		{"abcdefghij", 4, []string{"abcd", "efgh", "ij"}},
		{"a abcdefghij", 4, []string{"a", "abcd", "efgh", "ij"}},
		{"ąę śż", 2, []string{"ąę", "śż"}},
		{"x\ny", 5, []string{"x", "y"}},
		{"1111111111-20261121-0100A0B0C0D0-4F", 32, []string{"1111111111-20261121-", "0100A0B0C0D0-4F"}},
		{"FV/2026/11/000123", 12, []string{"FV/2026/11/", "000123"}},
	}
	for _, tt := range tests {
		if got := escpos.Wrap(tt.in, tt.width); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Wrap(%q, %d) = %q, want %q", tt.in, tt.width, got, tt.want)
		}
	}
}

func TestPair(t *testing.T) {
	tests := []struct {
		left, right string
		width       int
		want        []string
	}{
		{"Chleb", "4,99 A", 16, []string{"Chleb     4,99 A"}},
		{"Chleb żytni razowy", "4,99 A", 16, []string{"Chleb żytni", "razowy    4,99 A"}},
		{"Chleb żytni 500g", "4,99 A", 16, []string{"Chleb żytni 500g", "          4,99 A"}},
		{"", "9,99", 8, []string{"    9,99"}},
		{"Suma", "", 8, []string{"Suma"}},
		{"Suma", "1234567890", 8, []string{"Suma", "12345678", "90"}},
	}
	for _, tt := range tests {
		got := escpos.Pair(tt.left, tt.right, tt.width)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Pair(%q, %q, %d) = %q, want %q", tt.left, tt.right, tt.width, got, tt.want)
		}
		for _, l := range got {
			if escpos.Width(l) > tt.width {
				t.Errorf("Pair line %q wider than %d", l, tt.width)
			}
		}
	}
}

func TestColumns(t *testing.T) {
	got := escpos.Columns([]string{"23%", "100,00", "23,00", "123,00"}, []int{5, 9, 9, 9})
	want := "23%     100,00    23,00   123,00"
	if got != want {
		t.Errorf("Columns = %q, want %q", got, want)
	}
	if n := len(strings.TrimRight(got, " ")); n != 32 {
		t.Errorf("row width %d, want 32", n)
	}
}
