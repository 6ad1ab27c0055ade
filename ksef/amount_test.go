package ksef_test

import (
	"encoding/json"
	"errors"
	"math"
	"testing"

	"github.com/posagent/posagent/ksef"
)

func TestParseAmount(t *testing.T) {
	tests := []struct {
		in      string
		want    ksef.Amount
		wantStr string
		wantErr bool
	}{
		{"12.34", 1234, "12.34", false},
		{"12.3", 1230, "12.30", false},
		{"7", 700, "7.00", false},
		{"0", 0, "0.00", false},
		{"-0.05", -5, "-0.05", false},
		{"-12", -1200, "-12.00", false},
		{"10000000000000", 1_000_000_000_000_000, "10000000000000.00", false},
		{"10000000000000.01", 0, "", true},
		{"12.345", 0, "", true},
		{"12.340", 1234, "12.34", false},
		{"12.3400000", 1234, "12.34", false},
		{"12.3401", 0, "", true},
		{"", 0, "", true},
		{"1e3", 0, "", true},
		{"+1", 0, "", true},
		{".5", 0, "", true},
		{"5.", 0, "", true},
		{"01", 0, "", true},
		{"1,5", 0, "", true},
		{" 1", 0, "", true},
		{"--1", 0, "", true},
		{"99999999999999999999", 0, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ksef.ParseAmount(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ksef.ErrAmount) {
					t.Fatalf("ParseAmount(%q) err = %v, want ErrAmount", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseAmount(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseAmount(%q) = %d, want %d", tt.in, got, tt.want)
			}
			if s := got.String(); s != tt.wantStr {
				t.Errorf("String() = %q, want %q", s, tt.wantStr)
			}
		})
	}
}

func TestParseQuantity(t *testing.T) {
	tests := []struct {
		in      string
		want    ksef.Quantity
		wantStr string
		wantErr bool
	}{
		{"1", 1_000_000, "1", false},
		{"1.5", 1_500_000, "1.5", false},
		{"0.333333", 333_333, "0.333333", false},
		{"0.000001", 1, "0.000001", false},
		{"2.500", 2_500_000, "2.5", false},
		{"-1", -1_000_000, "-1", false},
		{"0.0000001", 0, "", true},
		{"0.0000010", 1, "0.000001", false},
		{"abc", 0, "", true},
		{"1000000001", 0, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ksef.ParseQuantity(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ksef.ErrQuantity) {
					t.Fatalf("ParseQuantity(%q) err = %v, want ErrQuantity", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseQuantity(%q): %v", tt.in, err)
			}
			if got != tt.want || got.String() != tt.wantStr {
				t.Errorf("ParseQuantity(%q) = %d (%s), want %d (%s)", tt.in, got, got, tt.want, tt.wantStr)
			}
		})
	}
}

func TestAmountJSON(t *testing.T) {
	type doc struct {
		A ksef.Amount   `json:"a"`
		Q ksef.Quantity `json:"q"`
	}
	tests := []struct {
		in      string
		want    doc
		wantErr bool
	}{
		{`{"a":"12.34","q":"1.5"}`, doc{1234, 1_500_000}, false},
		{`{"a":12.34,"q":2}`, doc{1234, 2_000_000}, false},
		// 0.1+0.2 style values survive because no float64 is involved.
		{`{"a":0.30,"q":0.000003}`, doc{30, 3}, false},
		{`{"a":null}`, doc{}, false},
		{`{"a":1e2}`, doc{}, true},
		{`{"a":"1.234"}`, doc{}, true},
		{`{"q":"0.0000001"}`, doc{}, true},
		{`{"a":true}`, doc{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var got doc
			err := json.Unmarshal([]byte(tt.in), &got)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Unmarshal(%s) = %+v, want error", tt.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Unmarshal(%s): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("Unmarshal(%s) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
	b, err := json.Marshal(doc{-5, 1_250_000})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"a":"-0.05","q":"1.25"}`; got != want {
		t.Errorf("Marshal = %s, want %s", got, want)
	}
}

func TestNIP(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"5265877635", true},
		{"1111111111", true},
		{"7740001454", true},
		{"5265877636", false},
		{"526587763", false},
		{"52658776350", false},
		{"526-587-76-35", false},
		{"PL5265877635", false},
		{"0000000000", false},
		{"123456789a", false},
		{"1234567890", false}, // checksum would be 10
	}
	for _, tt := range tests {
		if got := ksef.ValidNIP(tt.in); got != tt.want {
			t.Errorf("ValidNIP(%q) = %v, want %v", tt.in, got, tt.want)
		}
		if err := ksef.CheckNIP(tt.in); (err == nil) != tt.want || (err != nil && !errors.Is(err, ksef.ErrNIP)) {
			t.Errorf("CheckNIP(%q) = %v", tt.in, err)
		}
	}
}

func TestEnvironment(t *testing.T) {
	tests := []struct {
		in      string
		want    ksef.Environment
		api, qr string
	}{
		{"test", ksef.EnvTest, "https://api-test.ksef.mf.gov.pl/v2", "qr-test.ksef.mf.gov.pl"},
		{"DEMO", ksef.EnvDemo, "https://api-demo.ksef.mf.gov.pl/v2", "qr-demo.ksef.mf.gov.pl"},
		{"prd", ksef.EnvProd, "https://api.ksef.mf.gov.pl/v2", "qr.ksef.mf.gov.pl"},
	}
	for _, tt := range tests {
		got, err := ksef.ParseEnvironment(tt.in)
		if err != nil || got != tt.want {
			t.Fatalf("ParseEnvironment(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
		if got.APIBase() != tt.api || got.QRHost() != tt.qr {
			t.Errorf("%v: APIBase %q QRHost %q", got, got.APIBase(), got.QRHost())
		}
	}
	if _, err := ksef.ParseEnvironment("staging"); !errors.Is(err, ksef.ErrEnvironment) {
		t.Errorf("ParseEnvironment(staging) err = %v, want ErrEnvironment", err)
	}
}

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"12.34", "-0.05", "7", "1e3", "12.340"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ksef.ParseAmount(s)
		if err != nil {
			return
		}
		back, err := ksef.ParseAmount(a.String())
		if err != nil || back != a {
			t.Fatalf("%q -> %v -> %v, %v", s, a, back, err)
		}
		q, err := ksef.ParseQuantity(s)
		if err == nil {
			if back, err := ksef.ParseQuantity(q.String()); err != nil || back != q {
				t.Fatalf("quantity %q -> %v -> %v, %v", s, q, back, err)
			}
		}
	})
}

func TestAmountStringExtremes(t *testing.T) {
	if got, want := ksef.Amount(math.MinInt64).String(), "-92233720368547758.08"; got != want {
		t.Errorf("String(MinInt64) = %q, want %q", got, want)
	}
	if got, want := ksef.Quantity(math.MaxInt64).String(), "9223372036854.775807"; got != want {
		t.Errorf("String(MaxInt64) = %q, want %q", got, want)
	}
}

// TestParseOutOfRange: a well-formed decimal beyond the bounds is told apart
// from a malformed one, so the till can answer quantity_out_of_range and
// price_out_of_range as documented.
func TestParseOutOfRange(t *testing.T) {
	for _, s := range []string{"1000000000.000001", "-1000000001", "1234567890123456789012"} {
		if _, err := ksef.ParseQuantity(s); !errors.Is(err, ksef.ErrQuantity) || !errors.Is(err, ksef.ErrOutOfRange) {
			t.Errorf("ParseQuantity(%s) = %v, want ErrQuantity and ErrOutOfRange", s, err)
		}
	}
	if _, err := ksef.ParseAmount("10000000000000.01"); !errors.Is(err, ksef.ErrAmount) || !errors.Is(err, ksef.ErrOutOfRange) {
		t.Errorf("ParseAmount beyond 10^13 = %v, want ErrAmount and ErrOutOfRange", err)
	}
	for _, s := range []string{"1e3", "12.345", "abc", "1000000000"} {
		if _, err := ksef.ParseQuantity(s); errors.Is(err, ksef.ErrOutOfRange) {
			t.Errorf("ParseQuantity(%s) = %v, not a range error", s, err)
		}
	}
}
