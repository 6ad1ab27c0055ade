package certstore_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/posagent/posagent/certstore"
	"github.com/posagent/posagent/certstore/certstoretest"
)

func TestRecord(t *testing.T) {
	s := certstoretest.NewStore(t, nil)
	r, err := s.Record(certstore.Offline)
	if err != nil || r != (certstore.Record{}) {
		t.Fatalf("Record of a new store = %+v, %v", r, err)
	}
	at := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	if err := s.UpdateRecord(certstore.Offline, func(r *certstore.Record) {
		r.Serial, r.State, r.Checked = "0321C82DA41B4362", certstore.StateRevoked, at
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateRecord(certstore.Offline, func(r *certstore.Record) { r.Enrollment = "20261205-EH-1B6C9EB000-4B15D3AEB9-89" }); err != nil {
		t.Fatal(err)
	}
	r, err = s.Record(certstore.Offline)
	if err != nil {
		t.Fatal(err)
	}
	want := certstore.Record{Serial: "0321C82DA41B4362", State: certstore.StateRevoked, Checked: at, Enrollment: "20261205-EH-1B6C9EB000-4B15D3AEB9-89"}
	if r != want {
		t.Fatalf("Record = %+v, want %+v", r, want)
	}
	tests := []struct {
		state, serial string
		unusable      bool
	}{
		{certstore.StateRevoked, "0321C82DA41B4362", true},
		{certstore.StateBlocked, "0321C82DA41B4362", true},
		{certstore.StateActive, "0321C82DA41B4362", false},
		{certstore.StateExpired, "0321C82DA41B4362", false}, // the validity window says so already
		{certstore.StateRevoked, "0000000000000001", false}, // about another certificate
	}
	for _, tt := range tests {
		if got := (certstore.Record{Serial: "0321C82DA41B4362", State: tt.state}).Unusable(tt.serial); got != tt.unusable {
			t.Errorf("Record{%s}.Unusable(%s) = %v, want %v", tt.state, tt.serial, got, tt.unusable)
		}
	}
	if r, err := s.Record(certstore.Authentication); err != nil || r != (certstore.Record{}) {
		t.Errorf("the authentication record = %+v, %v", r, err)
	}
	st, err := os.Stat(filepath.Join(s.Dir(), "offline.ksef.json"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("record file: %v, %v", st, err)
	}
	if err := os.WriteFile(filepath.Join(s.Dir(), "offline.ksef.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Record(certstore.Offline); !errors.Is(err, certstore.ErrCorrupt) {
		t.Errorf("Record of a broken file = %v, want ErrCorrupt", err)
	}
}

// TestLoadAnyTime: an expired certificate still loads for reporting, and
// ValidAt says why it may not sign; Load refuses it.
func TestLoadAnyTime(t *testing.T) {
	now := time.Now()
	clock := now
	s := certstoretest.NewStore(t, func() time.Time { return clock })
	certPEM, keyPEM, err := certstore.Generate(certstore.Offline, certstoretest.NIP, certstore.KeyEC, now.Add(-time.Hour), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Import(certstore.Offline, append(certPEM, keyPEM...), ""); err != nil {
		t.Fatal(err)
	}
	clock = now.Add(48 * time.Hour)
	if _, err := s.Load(certstore.Offline); !errors.Is(err, certstore.ErrExpired) {
		t.Fatalf("Load of an expired certificate = %v, want ErrExpired", err)
	}
	c, err := s.LoadAnyTime(certstore.Offline)
	if err != nil {
		t.Fatalf("LoadAnyTime: %v", err)
	}
	if err := c.ValidAt(clock); !errors.Is(err, certstore.ErrExpired) {
		t.Errorf("ValidAt(after) = %v, want ErrExpired", err)
	}
	if err := c.ValidAt(now); err != nil {
		t.Errorf("ValidAt(now) = %v", err)
	}
	if _, err := s.LoadAnyTime(certstore.Authentication); !errors.Is(err, certstore.ErrNotFound) {
		t.Errorf("LoadAnyTime(authentication) = %v, want ErrNotFound", err)
	}
}
