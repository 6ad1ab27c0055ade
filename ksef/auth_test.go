package ksef_test

import (
	"testing"
	"time"

	"github.com/posagent/posagent/ksef"
)

// TestTokenAuthEnd: tokens authenticate until 2026-12-31 inclusive, Warsaw
// time (§ 13 ust. 1 pkt 1 of the KSeF regulation of 12.12.2025).
func TestTokenAuthEnd(t *testing.T) {
	tests := []struct {
		at       time.Time
		ended    bool
		daysLeft int
	}{
		{time.Date(2026, 12, 5, 9, 0, 0, 0, ksef.Warsaw), false, 26},
		{time.Date(2026, 12, 31, 23, 59, 59, 0, ksef.Warsaw), false, 0},
		// 23:30 UTC on 31 December is already 2027 in Warsaw.
		{time.Date(2026, 12, 31, 23, 30, 0, 0, time.UTC), true, -1},
		{time.Date(2027, 1, 1, 0, 0, 0, 0, ksef.Warsaw), true, -1},
		{time.Date(2027, 1, 1, 0, 1, 0, 0, ksef.Warsaw), true, -1},
		{time.Date(2027, 3, 1, 12, 0, 0, 0, ksef.Warsaw), true, -60},
	}
	for _, tt := range tests {
		if got := ksef.TokenAuthEnded(tt.at); got != tt.ended {
			t.Errorf("TokenAuthEnded(%v) = %v, want %v", tt.at, got, tt.ended)
		}
		if got := ksef.TokenDaysLeft(tt.at); got != tt.daysLeft {
			t.Errorf("TokenDaysLeft(%v) = %d, want %d", tt.at, got, tt.daysLeft)
		}
	}
}
