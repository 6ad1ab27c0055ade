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
	f := m.newFlags("mode", "[--json] [--reference REF] [auto|online|offline24|offline|emergency|total_failure]",
		"Shows the mode new sales are issued in, or overrides it on the running agent through\n"+
			"its till API (POST /v1/mode). An override changes how sales are issued, not the\n"+
			"legal period: offline, emergency and total_failure apply while the availability\n"+
			"feed announces them, and sales are offline24 otherwise. When MF announced the\n"+
			"outage where the feed does not show it (BIP MF, the media), record it with\n"+
			"--reference: the period starts today, its deadlines follow it, and it ends, on\n"+
			"that day, when you leave the mode. Announcements go into the journal\n"+
			"(posagent invoices journal). auto returns to the policy and the feed. Without a\n"+
			"running agent only the configured policy is shown.").withConfig().withJSON()
	ref := f.String("reference", "", "the MF announcement of an offline, emergency or total_failure period (`REF`)")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if *ref != "" && (len(pos) != 1 || !slices.Contains([]string{"offline", "emergency", "total_failure"}, pos[0])) {
		return usagef("mode: --reference goes with offline, emergency or total_failure")
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
		body := map[string]string{"mode": pos[0]}
		if *ref != "" {
			body["reference"] = *ref
		}
		if err := tc.do(ctx, http.MethodPost, "/v1/mode", nil, body, nil); err != nil {
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
