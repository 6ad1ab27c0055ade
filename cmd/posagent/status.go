package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
)

// statusResult is what `status --json` prints.
type statusResult struct {
	State string          `json:"state"` // not-installed, stopped, running
	Unit  string          `json:"unit,omitempty"`
	Agent json.RawMessage `json:"agent,omitempty"` // GET /v1/status of the running agent
	Note  string          `json:"note,omitempty"`
}

func runStatus(ctx context.Context, m *Main, args []string) error {
	f := m.newFlags("status", "[--root DIR] [--json]",
		"Tells whether posagent is installed (a unit file exists), and if so whether it runs;\n"+
			"for a running agent it shows the link, KSeF availability, printer, backlog and\n"+
			"earliest deadline from its till API. Exit status: 0 running, 3 stopped,\n"+
			"4 not installed.").withConfig().withJSON().withRoot()
	if _, err := f.parseN(args, 0); err != nil {
		return err
	}
	res := statusResult{State: "not-installed", Unit: m.installedUnit()}
	if res.Unit != "" {
		res.State = "stopped"
		if m.realRoot() {
			// is-active exits non-zero for a unit that is not running: the
			// answer is in its output, and the till API below has the last word.
			if out, err := m.runSystemctl(ctx, "is-active", "posagent.service"); err == nil && strings.HasPrefix(string(out), "active") {
				res.State = "running"
			}
		}
		if cfg, err := f.loadConfig(); err != nil {
			res.Note = "configuration: " + firstLine(err.Error())
		} else {
			var raw json.RawMessage
			err := m.tillClient(cfg).do(ctx, http.MethodGet, "/v1/status", nil, nil, &raw)
			switch {
			case err == nil:
				res.State, res.Agent = "running", raw
			case !notRunning(err):
				res.Note = err.Error()
			}
		}
	}
	if f.json {
		if err := printJSON(m.Stdout, res); err != nil {
			return err
		}
	} else {
		switch res.State {
		case "not-installed":
			fmt.Fprintln(m.Stdout, "posagent: not installed (no unit file; run posagent install or apt install posagent)")
		default:
			fmt.Fprintf(m.Stdout, "posagent: %s (unit %s)\n", res.State, res.Unit)
		}
		if len(res.Agent) > 0 {
			printFlat(m.Stdout, res.Agent)
		}
		if res.Note != "" {
			fmt.Fprintln(m.Stdout, "note:", res.Note)
		}
	}
	switch res.State {
	case "not-installed":
		return &exitError{code: exitNotInstalled, err: errSilent}
	case "stopped":
		return &exitError{code: exitCheckFailed, err: errSilent}
	}
	return nil
}

// printFlat prints a JSON object as a FIELD/VALUE table, nested keys dotted;
// what is not JSON prints nothing (the --json form shows it raw).
func printFlat(w io.Writer, raw json.RawMessage) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return
	}
	flat := map[string]string{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, vv := range x {
				key := k
				if prefix != "" {
					key = prefix + "." + k
				}
				walk(key, vv)
			}
		default:
			b, _ := json.Marshal(x)
			flat[prefix] = strings.Trim(string(b), `"`)
		}
	}
	walk("", v)
	t := newTable(w, "  FIELD", "VALUE")
	for _, k := range slices.Sorted(maps.Keys(flat)) {
		t.row("  "+k, flat[k])
	}
	_ = t.flush()
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
