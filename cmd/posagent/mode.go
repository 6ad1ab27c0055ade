package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// modeOverrides are the values `posagent mode MODE` accepts; auto clears the
// override.
var modeOverrides = []string{"auto", "online", "offline24", "offline", "emergency", "total_failure"}

// modeState is the mode part of GET /v1/status.
type modeState struct {
	Current  string `json:"current"`
	Override string `json:"override,omitempty"`
	Policy   string `json:"policy"`
	Running  bool   `json:"running"`
}

func runMode(ctx context.Context, m *Main, args []string) error {
	f := m.newFlags("mode", "[--json] [auto|online|offline24|offline|emergency|total_failure]",
		"Shows the mode new sales are issued in, or overrides it on the running agent through\n"+
			"its till API (POST /v1/mode). offline and emergency open an announced KSeF outage\n"+
			"today (deadlines count from its end); auto returns to the policy and the\n"+
			"availability feed. The override lives in the running agent's memory: a restart\n"+
			"returns to auto, so a forgotten override cannot outlive the outage. Without a\n"+
			"running agent only the configured policy is shown.").withConfig().withJSON()
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usagef("mode: at most one mode")
	}
	if len(pos) == 1 && !slices.Contains(modeOverrides, pos[0]) {
		return usagef("mode: %q is not one of %s", pos[0], strings.Join(modeOverrides, ", "))
	}
	cfg, err := f.loadConfig()
	if err != nil {
		return err
	}
	tc := m.tillClient(cfg)
	if len(pos) == 1 {
		if err := tc.do(ctx, http.MethodPost, "/v1/mode", nil, map[string]string{"mode": pos[0]}, nil); err != nil {
			if notRunning(err) {
				return &exitError{code: exitCheckFailed, err: fmt.Errorf("mode: %w; start it first (posagent start)", err)}
			}
			return fmt.Errorf("mode: %w", err)
		}
	}
	var st struct {
		Mode modeState `json:"mode"`
	}
	err = tc.do(ctx, http.MethodGet, "/v1/status", nil, nil, &st)
	switch {
	case err == nil:
		st.Mode.Running = true
	case notRunning(err):
		st.Mode = modeState{Policy: cfg.Policy.Mode}
	default:
		return fmt.Errorf("mode: %w", err)
	}
	if f.json {
		return printJSON(m.Stdout, st.Mode)
	}
	if !st.Mode.Running {
		fmt.Fprintf(m.Stdout, "agent not running; policy %s (mode overrides need the running agent)\n", st.Mode.Policy)
		return nil
	}
	over := st.Mode.Override
	if over == "" {
		over = "auto"
	}
	fmt.Fprintf(m.Stdout, "mode %s (override %s, policy %s)\n", st.Mode.Current, over, st.Mode.Policy)
	return nil
}
