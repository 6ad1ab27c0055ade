package certstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"time"
)

// KSeF certificate states, as POST /certificates/query reports them
// (CertificateListItemStatus), plus Unknown for a certificate KSeF does not
// know (a qualified seal, a self-signed test certificate) or was never asked
// about.
const (
	StateUnknown = ""
	StateActive  = "Active"
	StateBlocked = "Blocked" // suspended, on the way to revocation
	StateRevoked = "Revoked"
	StateExpired = "Expired"
)

// Record is what the agent last learned from KSeF about the certificate of a
// usage, and its enrollment in flight. It holds no secret.
type Record struct {
	// Serial is the certificate the state is about; a record whose serial
	// is not the installed certificate's says nothing about it.
	Serial  string    `json:"serial,omitempty"`
	State   string    `json:"state,omitempty"` // StateActive, StateBlocked, …
	Checked time.Time `json:"checked,omitzero"`
	// Enrollment is the KSeF reference of a request sent for the pending
	// key of this usage, so a restart resumes it instead of spending
	// another enrollment.
	Enrollment string    `json:"enrollment,omitempty"`
	Enrolled   time.Time `json:"enrolled,omitzero"`
	// LastAttempt is when an enrollment or renewal was last tried.
	LastAttempt time.Time `json:"last_attempt,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
}

// Unusable reports whether KSeF says the certificate serial may not be used:
// revoked or blocked (suspended).
func (r Record) Unusable(serial string) bool {
	return r.Serial == serial && (r.State == StateRevoked || r.State == StateBlocked)
}

func recordFile(u Usage) string { return u.String() + ".ksef.json" }

// maxRecord bounds a record file read back.
const maxRecord = 64 << 10

// Record returns the record of usage; a missing one is the zero Record.
func (s *Store) Record(usage Usage) (Record, error) {
	if err := usage.check(); err != nil {
		return Record{}, err
	}
	var r Record
	b, err := readStoreFile(s.dir, recordFile(usage))
	if errors.Is(err, fs.ErrNotExist) {
		return r, nil
	}
	if err != nil {
		return r, err
	}
	if len(b) > maxRecord || json.Unmarshal(b, &r) != nil {
		return Record{}, fmt.Errorf("%w: %s", ErrCorrupt, recordFile(usage))
	}
	return r, nil
}

// SetRecord replaces the record of usage (atomically, mode 0600).
func (s *Store) SetRecord(usage Usage, r Record) error {
	if err := usage.check(); err != nil {
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("certstore: encode %s: %w", recordFile(usage), err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return writeFileAtomic(s.dir, recordFile(usage), append(b, '\n'))
}

// UpdateRecord reads the record of usage, lets fn change it and writes it
// back; concurrent updates are serialised, so none is lost.
func (s *Store) UpdateRecord(usage Usage, fn func(*Record)) error {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	r, err := s.Record(usage)
	if err != nil {
		return err
	}
	fn(&r)
	return s.SetRecord(usage, r)
}

// LoadAnyTime is Load without the validity check: it returns the certificate
// of usage with its key even when it has expired or is not valid yet, so a
// caller can keep reporting it (and refuse to use it) rather than stop.
// Check the window with Cert.ValidAt.
func (s *Store) LoadAnyTime(usage Usage) (*Cert, error) {
	return s.load(usage, false)
}

// ValidAt returns nil when t is inside the certificate's validity window, or
// a *ValidityError (ErrExpired or ErrNotYetValid).
func (c *Cert) ValidAt(t time.Time) error { return checkValidity(c.cert, t) }
