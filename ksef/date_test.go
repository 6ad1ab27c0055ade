package ksef_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/posagent/posagent/ksef"
)

func TestParseDate(t *testing.T) {
	tests := []struct {
		in      string
		want    ksef.Date
		wantErr bool
	}{
		{"2026-11-21", ksef.Date{Year: 2026, Month: time.November, Day: 21}, false},
		{"2028-02-29", ksef.Date{Year: 2028, Month: time.February, Day: 29}, false},
		{"2026-02-29", ksef.Date{}, true},
		{"2026-13-01", ksef.Date{}, true},
		{"2026-1-01", ksef.Date{}, true},
		{"21-11-2026", ksef.Date{}, true},
		{"2026-+1-01", ksef.Date{}, true},
		{"0000-01-01", ksef.Date{}, true},
		{"", ksef.Date{}, true},
	}
	for _, tt := range tests {
		got, err := ksef.ParseDate(tt.in)
		if tt.wantErr {
			if !errors.Is(err, ksef.ErrDate) {
				t.Errorf("ParseDate(%q) = %v, %v; want ErrDate", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want || got.String() != tt.in {
			t.Errorf("ParseDate(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestDateJSON(t *testing.T) {
	var v struct {
		D ksef.Date `json:"d"`
		Z ksef.Date `json:"z,omitzero"`
	}
	if err := json.Unmarshal([]byte(`{"d":"2026-11-21"}`), &v); err != nil || v.D != d("2026-11-21") {
		t.Fatalf("Unmarshal = %v, %v", v.D, err)
	}
	b, _ := json.Marshal(v)
	if got, want := string(b), `{"d":"2026-11-21"}`; got != want {
		t.Errorf("Marshal = %s, want %s", got, want)
	}
	if err := json.Unmarshal([]byte(`{"d":"2026-02-30"}`), &v); !errors.Is(err, ksef.ErrDate) {
		t.Errorf("Unmarshal(bad) = %v, want ErrDate", err)
	}
}

func TestDateArithmetic(t *testing.T) {
	if got := d("2026-12-31").AddDays(1); got != d("2027-01-01") {
		t.Errorf("AddDays = %v", got)
	}
	if got := d("2026-03-01").AddDays(-1); got != d("2026-02-28") {
		t.Errorf("AddDays(-1) = %v", got)
	}
	if !d("2026-01-02").After(d("2025-12-31")) || d("2026-01-02").Before(d("2026-01-02")) {
		t.Error("Before/After wrong")
	}
	if got := d("2026-11-21").DMY(); got != "21-11-2026" {
		t.Errorf("DMY = %q", got)
	}
	// Spring forward: 2026-03-29 in Warsaw is 23 hours long.
	if got := d("2026-03-29").End().Sub(d("2026-03-29").Start()); got != 23*time.Hour-time.Nanosecond {
		t.Errorf("length of 2026-03-29 = %v", got)
	}
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2026-11-21", "2028-02-29", "2026-02-29", "0001-01-01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		dt, err := ksef.ParseDate(s)
		if err != nil {
			return
		}
		if dt.String() != s || !dt.Valid() {
			t.Fatalf("ParseDate(%q) = %v", s, dt)
		}
		if got := dt.AddDays(1).AddDays(-1); got != dt {
			t.Fatalf("AddDays round trip %v -> %v", dt, got)
		}
	})
}
