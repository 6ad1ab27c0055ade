package main

import (
	"bufio"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/certstore"
	"github.com/posagent/posagent/certstore/certstoretest"
	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/internal/metrics"
	"github.com/posagent/posagent/internal/testutil"
	"github.com/posagent/posagent/ksef/ksefapi"
	"github.com/posagent/posagent/outbox"
)

// stackFamilies builds the stack `posagent run` builds and lists the metric
// families it registers.
func stackFamilies(t *testing.T) []metrics.Family {
	t.Helper()
	tm := newTestMain(t)
	cfg, err := config.Load(tm.writeConfig(t, testConfig{ksefURL: "http://127.0.0.1:1/v2"}))
	if err != nil {
		t.Fatal(err)
	}
	store, err := outbox.Open(filepath.Join(t.TempDir(), "outbox.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	logger := slog.New(slog.DiscardHandler)
	client, err := ksefClient(cfg, &ksefLogin{auth: ksefapi.TokenAuth{Token: "deploy-test"}, method: "token"}, time.Now, logger, nil)
	if err != nil {
		t.Fatal(err)
	}
	open, spec, err := opener(cfg.Printer)
	if err != nil {
		t.Fatal(err)
	}
	reg := metrics.NewRegistry()
	if _, err := newStack(stackConfig{cfg: cfg, store: store, signer: certstoretest.Cert(t, certstore.Offline, certstore.KeyEC),
		ksef: client, open: open, popts: spec.opts, logger: logger, metrics: reg}); err != nil {
		t.Fatal(err)
	}
	return reg.Families()
}

var (
	metricRe   = regexp.MustCompile(`\bposagent_[a-z0-9_]+`)
	recordedRe = regexp.MustCompile(`\b[a-z_]+:[a-z0-9_]+:[a-z0-9_:]+`) // level:metric:operation
	docRowRe   = regexp.MustCompile("^\\| `(posagent_[a-z0-9_]+)` \\| (counter|gauge|histogram) \\|")
)

// documentedMetrics reads the metric table of docs/OPERATIONS.md.
func documentedMetrics(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), "docs", "OPERATIONS.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := map[string]string{}
	for line := range strings.Lines(string(b)) {
		if m := docRowRe.FindStringSubmatch(line); m != nil {
			doc[m[1]] = m[2]
		}
	}
	if len(doc) == 0 {
		t.Fatal("docs/OPERATIONS.md has no metric table")
	}
	return doc
}

// The metrics the stack registers, the table in docs/OPERATIONS.md, and the
// names the Prometheus rules and the Grafana dashboard use agree: nothing in
// deploy/ reads a series no agent has.
func TestDeployMatchesMetrics(t *testing.T) {
	doc := documentedMetrics(t)
	registered := map[string]string{}
	for _, f := range stackFamilies(t) {
		registered[f.Name] = f.Type
		switch typ, ok := doc[f.Name]; {
		case !ok:
			t.Errorf("%s (%s) is not in docs/OPERATIONS.md's metric table", f.Name, f.Type)
		case typ != f.Type:
			t.Errorf("docs/OPERATIONS.md says %s is a %s; it is a %s", f.Name, typ, f.Type)
		}
	}
	for name := range doc {
		if _, ok := registered[name]; !ok {
			t.Errorf("docs/OPERATIONS.md lists %s, which the agent does not register", name)
		}
	}

	// known reports whether a name in a query is a documented metric; a
	// histogram's series carry suffixes.
	known := func(name string) bool {
		if _, ok := doc[name]; ok {
			return true
		}
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(name, suf); ok && doc[base] == "histogram" {
				return true
			}
		}
		return false
	}
	dir := filepath.Join(testutil.RepoRoot(), "deploy")
	rules := readRules(t, filepath.Join(dir, "prometheus"))
	queries := map[string][]string{} // file -> the text its queries live in
	for file, text := range rules.files {
		queries[file] = []string{text}
	}
	queries["grafana/posagent-fleet.json"] = dashboardQueries(t, filepath.Join(dir, "grafana", "posagent-fleet.json"))
	for file, qs := range queries {
		for _, q := range qs {
			// A recorded name holds a metric's name that is not one: instance:posagent_store_used:ratio.
			for _, name := range metricRe.FindAllString(recordedRe.ReplaceAllString(q, " "), -1) {
				if !known(name) {
					t.Errorf("%s reads %s, which is not an agent metric (docs/OPERATIONS.md)", file, name)
				}
			}
			for _, name := range recordedRe.FindAllString(q, -1) {
				if !rules.recorded[name] {
					t.Errorf("%s reads %s, which no recording rule records", file, name)
				}
			}
		}
	}
}

// promRules is what the tests need of deploy/prometheus: the rule files'
// text, the names they record, their alerts, and per alert whether a promtool
// test expects it to fire and one expects it quiet.
type promRules struct {
	files    map[string]string
	recorded map[string]bool
	alerts   []string
	fires    map[string]bool
	quiet    map[string]bool
}

var (
	recordRe    = regexp.MustCompile(`^\s*- record: (\S+)\s*$`)
	alertRe     = regexp.MustCompile(`^\s*- alert: (\S+)\s*$`)
	alertnameRe = regexp.MustCompile(`^\s*alertname: (\S+)\s*$`)
	expAlertsRe = regexp.MustCompile(`^\s*exp_alerts:\s*(\[\])?\s*$`)
)

// readRules reads the rule files and promtool tests line by line: they are
// this project's files in one layout, and the test fails on any line it
// cannot place rather than guess.
func readRules(t *testing.T, dir string) promRules {
	t.Helper()
	r := promRules{files: map[string]string{}, recorded: map[string]bool{}, fires: map[string]bool{}, quiet: map[string]bool{}}
	files, _ := filepath.Glob(filepath.Join(dir, "*.rules.yml"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		r.files["prometheus/"+filepath.Base(f)] = string(b)
		sc := bufio.NewScanner(strings.NewReader(string(b)))
		for sc.Scan() {
			if m := recordRe.FindStringSubmatch(sc.Text()); m != nil {
				r.recorded[m[1]] = true
			}
			if m := alertRe.FindStringSubmatch(sc.Text()); m != nil {
				r.alerts = append(r.alerts, m[1])
			}
		}
	}
	tests, _ := filepath.Glob(filepath.Join(dir, "tests", "*.test.yml"))
	for _, f := range tests {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := ""
		sc := bufio.NewScanner(strings.NewReader(string(b)))
		for n := 1; sc.Scan(); n++ {
			if m := alertnameRe.FindStringSubmatch(sc.Text()); m != nil {
				name = m[1]
			}
			if m := expAlertsRe.FindStringSubmatch(sc.Text()); m != nil {
				if name == "" {
					t.Fatalf("%s:%d: exp_alerts before any alertname", filepath.Base(f), n)
				}
				if m[1] == "" {
					r.fires[name] = true
				} else {
					r.quiet[name] = true
				}
				name = ""
			}
		}
	}
	if len(r.alerts) == 0 || len(tests) == 0 {
		t.Fatalf("no alerts or no promtool tests under %s", dir)
	}
	return r
}

// Every alert has a promtool test in which it fires and one in which it
// stays quiet; every threshold is read by an alert and guarded by
// PosagentThresholdsMissing.
func TestAlertsTested(t *testing.T) {
	r := readRules(t, filepath.Join(testutil.RepoRoot(), "deploy", "prometheus"))
	for _, a := range r.alerts {
		if !r.fires[a] {
			t.Errorf("alert %s has no promtool test where it fires", a)
		}
		if !r.quiet[a] {
			t.Errorf("alert %s has no promtool test where it stays quiet", a)
		}
	}
	for _, tested := range [](map[string]bool){r.fires, r.quiet} {
		for a := range tested {
			if !slices.Contains(r.alerts, a) {
				t.Errorf("promtool tests name alert %s, which no rule defines", a)
			}
		}
	}
	rules := r.files["prometheus/posagent.rules.yml"]
	guard := rules[strings.Index(rules, "- alert: PosagentThresholdsMissing"):]
	for name := range r.recorded {
		if !strings.HasPrefix(name, "posagent:threshold:") {
			continue
		}
		if !strings.Contains(guard, "absent("+name+")") {
			t.Errorf("PosagentThresholdsMissing does not check %s", name)
		}
		if strings.Count(rules, "scalar("+name+")") == 0 {
			t.Errorf("threshold %s is read by no alert", name)
		}
	}
}

// grafanaPanel is the part of a Grafana panel the checks read.
type grafanaPanel struct {
	ID      int            `json:"id"`
	Type    string         `json:"type"`
	Title   string         `json:"title"`
	Panels  []grafanaPanel `json:"panels"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

// dashboardQueries checks the dashboard's shape (valid JSON, unique panel
// ids, a fleet row and a terminal row, station and till variables) and
// returns its PromQL expressions with the variables' queries.
func dashboardQueries(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		UID        string         `json:"uid"`
		Panels     []grafanaPanel `json:"panels"`
		Templating struct {
			List []struct {
				Name       string `json:"name"`
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s is not valid JSON: %v", filepath.Base(path), err)
	}
	var exprs, rows []string
	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
		if v.Definition != "" {
			exprs = append(exprs, v.Definition)
		}
	}
	ids := map[int]bool{}
	var walk func([]grafanaPanel)
	walk = func(ps []grafanaPanel) {
		for _, p := range ps {
			if ids[p.ID] {
				t.Errorf("panel id %d (%q) is used twice", p.ID, p.Title)
			}
			ids[p.ID] = true
			if p.Type == "row" {
				rows = append(rows, p.Title)
			} else if len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, tg := range p.Targets {
				if strings.TrimSpace(tg.Expr) == "" {
					t.Errorf("panel %q has an empty query", p.Title)
				}
				exprs = append(exprs, tg.Expr)
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	if d.UID == "" || !vars["station"] || !vars["till"] || !vars["datasource"] {
		t.Errorf("dashboard uid %q, variables %v: want a uid and datasource, station and till", d.UID, vars)
	}
	if len(rows) != 2 || rows[0] != "Fleet" || !strings.HasPrefix(rows[1], "Terminal") {
		t.Errorf("dashboard rows %q, want the fleet view and then one terminal's", rows)
	}
	return exprs
}
