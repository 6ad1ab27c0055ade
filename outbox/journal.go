package outbox

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bJournal holds the announcements journal: id(8) -> JSON Announcement.
// It is created on first use, so older files need no migration.
var bJournal = []byte("journal")

// Sources of an Announcement.
const (
	SourceFeed     = "feed"     // the KSeF availability feed (Latarnia)
	SourceOperator = "operator" // recorded by the operator, with the MF announcement's reference
)

// Announcement is one announced KSeF unavailability or failure as the agent
// learned it: the legal period its upload deadlines follow (DESIGN §4), kept
// for good as the journal a tax office may ask for. For a total failure it
// also holds the attempts to reach KSeF that failed meanwhile.
type Announcement struct {
	ID         string    `json:"id"`
	Mode       string    `json:"mode"`          // offline, emergency or total_failure
	Start      string    `json:"start"`         // first day, YYYY-MM-DD (Europe/Warsaw)
	End        string    `json:"end,omitempty"` // last day; empty while it lasts
	Source     string    `json:"source"`        // SourceFeed or SourceOperator
	Reference  string    `json:"reference,omitempty"`
	RecordedAt time.Time `json:"recorded_at"`              // when the agent learned of it
	EndedAt    time.Time `json:"ended_at,omitzero"`        // when the agent learned of its end
	Probes     []Probe   `json:"probes,omitempty"`         // failed attempts, oldest first
	Dropped    int       `json:"probes_dropped,omitempty"` // failures beyond MaxProbes runs, not itemised
}

// Probe is a run of identical failures of one attempt to reach KSeF.
type Probe struct {
	Target string    `json:"target"` // what was asked: availability, authenticate, upload, …
	Error  string    `json:"error"`
	First  time.Time `json:"first"`
	Last   time.Time `json:"last"`
	Count  int       `json:"count"`
}

// MaxProbes bounds the runs kept per announcement; later failures that do
// not extend the last run are only counted (Dropped).
const MaxProbes = 500

// SaveAnnouncement records a or, when a.ID names a stored one, replaces its
// fields but keeps the probes stored with it (AddProbes owns those). A new
// announcement gets its id in a.ID.
func (s *Store) SaveAnnouncement(ctx context.Context, a *Announcement) error {
	switch {
	case a.Mode == "":
		return &RequestError{Field: "Announcement.Mode", Reason: "empty"}
	case a.Start == "":
		return &RequestError{Field: "Announcement.Start", Reason: "empty"}
	case a.Source != SourceFeed && a.Source != SourceOperator:
		return &RequestError{Field: "Announcement.Source", Reason: fmt.Sprintf("%q is not feed or operator", a.Source)}
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bJournal)
		if err != nil {
			return err
		}
		rec := *a
		if a.ID == "" {
			n, err := b.NextSequence()
			if err != nil {
				return err
			}
			rec.ID = formatID(n)
		} else {
			old, err := getAnnouncement(b, a.ID)
			if err != nil {
				return err
			}
			rec.Probes, rec.Dropped = old.Probes, old.Dropped
		}
		if err := putAnnouncement(b, &rec); err != nil {
			return err
		}
		tx.OnCommit(func() { a.ID = rec.ID })
		return nil
	})
}

// AddProbes appends failed attempts to the announcement id: a failure like
// the last run's (same target and error) extends that run.
func (s *Store) AddProbes(ctx context.Context, id string, probes []Probe) error {
	if len(probes) == 0 {
		return nil
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bJournal)
		if err != nil {
			return err
		}
		a, err := getAnnouncement(b, id)
		if err != nil {
			return err
		}
		for _, p := range probes {
			if n := len(a.Probes); n > 0 && a.Probes[n-1].Target == p.Target && a.Probes[n-1].Error == p.Error {
				last := &a.Probes[n-1]
				last.Last, last.Count = p.Last, last.Count+p.Count
				continue
			}
			if len(a.Probes) >= MaxProbes {
				a.Dropped += p.Count
				continue
			}
			a.Probes = append(a.Probes, p)
		}
		return putAnnouncement(b, a)
	})
}

// Announcements returns the journal, oldest first.
func (s *Store) Announcements(ctx context.Context) ([]Announcement, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []Announcement
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bJournal)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var a Announcement
			if err := json.Unmarshal(v, &a); err != nil {
				return fmt.Errorf("%w: announcement %s: %w", ErrCorrupt, keyID(k), err)
			}
			out = append(out, a)
			return nil
		})
	})
	return out, err
}

func getAnnouncement(b *bolt.Bucket, id string) (*Announcement, error) {
	key, err := parseID(id)
	if err != nil {
		return nil, err
	}
	v := b.Get(key)
	if v == nil {
		return nil, fmt.Errorf("%w: announcement %s", ErrNotFound, id)
	}
	a := new(Announcement)
	if err := json.Unmarshal(v, a); err != nil {
		return nil, fmt.Errorf("%w: announcement %s: %w", ErrCorrupt, id, err)
	}
	return a, nil
}

func putAnnouncement(b *bolt.Bucket, a *Announcement) error {
	key, err := parseID(a.ID)
	if err != nil {
		return err
	}
	v, err := json.Marshal(a)
	if err != nil {
		return err
	}
	return b.Put(key, v)
}
