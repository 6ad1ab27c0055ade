package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/outbox"
)

// modeState is what StateFile keeps across restarts: the operator's
// override. Periods is read from files written before the journal held the
// announced periods.
type modeState struct {
	V        int           `json:"v"`
	Override string        `json:"override,omitempty"`
	Periods  []ksef.Period `json:"periods,omitempty"`
}

// loadState reads StateFile; a missing file is an empty state.
func (a *Agent) loadState() error {
	if a.opts.StateFile == "" {
		return nil
	}
	b, err := os.ReadFile(a.opts.StateFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("agent: read state: %w", err)
	}
	var st modeState
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("agent: state file %s: %w", a.opts.StateFile, err)
	}
	switch st.Override {
	case OverrideAuto, OverrideOnline, OverrideOffline24, OverrideOffline, OverrideEmergency, OverrideTotalFailure:
	default:
		return fmt.Errorf("agent: state file %s: %w: %q", a.opts.StateFile, ErrInvalidMode, st.Override)
	}
	for _, p := range st.Periods {
		okMode := p.Mode == ksef.ModeOffline || p.Mode == ksef.ModeEmergency || p.Mode == ksef.ModeTotalFailure
		if !okMode || !p.Announced.Valid() || (!p.End.IsZero() && !p.End.Valid()) {
			return fmt.Errorf("agent: state file %s: invalid period %+v", a.opts.StateFile, p)
		}
	}
	a.override = st.Override
	return a.importPeriods(st.Periods)
}

// importPeriods moves the periods of an older state file into the journal,
// unless it already holds announcements (the move was done).
func (a *Agent) importPeriods(ps []ksef.Period) error {
	if len(ps) == 0 {
		return nil
	}
	ctx := context.Background()
	have, err := a.store.Announcements(ctx)
	if err != nil || len(have) > 0 {
		return err
	}
	for _, p := range ps {
		an := outbox.Announcement{Mode: p.Mode.String(), Start: p.Announced.String(), Source: outbox.SourceFeed, RecordedAt: a.now().UTC()}
		if !p.End.IsZero() {
			an.End = p.End.String()
		}
		if err := a.store.SaveAnnouncement(ctx, &an); err != nil {
			return err
		}
	}
	return nil
}

// saveStateLocked writes StateFile atomically (temp file, fsync, rename);
// called with a.mu held after the override changed.
func (a *Agent) saveStateLocked() {
	if a.opts.StateFile == "" {
		return
	}
	if err := writeAtomic(a.opts.StateFile, modeState{V: 2, Override: a.override}); err != nil {
		a.log.Error("save mode state", "error", err)
		a.noteErrLocked("state", err)
	}
}

func writeAtomic(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".agent-state-*")
	if err != nil {
		return fmt.Errorf("agent: save state: %w", err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("agent: save state: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("agent: save state: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("agent: save state: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("agent: save state: %w", err)
	}
	return nil
}
