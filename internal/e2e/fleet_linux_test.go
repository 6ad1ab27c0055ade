//go:build linux

package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/posagent/posagent/certstore"
	"github.com/posagent/posagent/internal/testutil"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/till"
)

// The fleet rehearsal's dates (Europe/Warsaw), given to every process with
// --date so the test means the same on any day: a sale on Thursday
// 2026-12-03 must reach KSeF by the end of Friday (offline24); on Monday it
// is overdue. Both are before the KSeF token cut-off.
const (
	fleetIssueDay = "2026-12-03T10:00"
	fleetLaterDay = "2026-12-07T10:00"
	fleetKSeFTok  = "fleet-e2e-ksef-token-not-a-secret"
	fleetTillTok  = "fleet-e2e-till-token-not-a-secret"
	fleetMetrics  = "fleet-e2e-metrics-token-not-a-secret"
)

// fleetQuietAllowed are the alerts a healthy rehearsal agent may raise: it
// logs in with a KSeF token, which the simulator's 2026 dates still accept.
var fleetQuietAllowed = map[string]bool{"PosagentTokenAuthConfigured": true}

// TestFleetPrometheus is deploy/prometheus end to end: a real Prometheus,
// configured from prometheus.example.yml with the shipped rules and a file_sd
// list made by file-sd-from-csv.sh, scrapes three real `posagent run`
// processes on their metrics listeners with a token. Each agent has its own
// store, virtual printer and loopback `posagent ksefsim`. One agent's
// simulator refuses every API call, and the agent is restarted over the same
// store with a date past its invoices' deadline. The test waits for
// PosagentInvoicesOverdue to fire for that till in Prometheus's own API,
// checks that the two healthy agents, scraped and evaluated all along, raise
// nothing, and runs every dashboard query. scripts/test.sh runs it in stage
// prom (POSAGENT_E2E_PROMETHEUS=1): with its build it takes 20-30 s, too long
// for every go test run.
func TestFleetPrometheus(t *testing.T) {
	if os.Getenv("POSAGENT_E2E_PROMETHEUS") != "1" {
		t.Skip("set POSAGENT_E2E_PROMETHEUS=1 (scripts/test.sh stage prom runs it)")
	}
	promBin := testutil.RequireTool(t, "prometheus")
	root := testutil.RepoRoot()
	dir := t.TempDir()
	bin := filepath.Join(dir, "posagent")
	if out, err := exec.Command("go", "build", "-o", bin, filepath.Join(root, "cmd", "posagent")).CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	// The certificates first (each import derives a key for a while): the
	// simulators' clocks and the agents' then start within seconds of each
	// other, well inside the clock-skew threshold.
	tills := []*fleetAgent{
		newFleetAgent(t, bin, dir, "S0001", "1"),
		newFleetAgent(t, bin, dir, "S0001", "2"),
		newFleetAgent(t, bin, dir, "S0002", "1"),
	}
	late := tills[2]
	healthySim := startSim(t, bin, "sim-ok")
	failingSim := startSim(t, bin, "sim-refusing")
	// KSeF refuses every API call of the third till: its link is down to the
	// agent, while the availability feed (not under /v2) says AVAILABLE.
	postJSON(t, failingSim+"/admin/faults", `{"kind":"503","count":-1,"pathPrefix":"/v2"}`)
	for _, a := range tills {
		sim := healthySim
		if a == late {
			sim = failingSim
		}
		a.writeConfig(t, sim)
		a.start(t, fleetIssueDay)
	}
	var waiting []string
	for i, a := range tills {
		for n := range 2 {
			v := a.sell(t, fmt.Sprintf("fleet-%d-%d", i, n), fleetIssueDay[:10])
			if a == late {
				waiting = append(waiting, v.ID)
			} else {
				a.waitUpload(t, v.ID, "accepted")
			}
		}
	}
	for _, id := range waiting {
		if v := late.invoice(t, id); v.Upload != "queued" {
			t.Fatalf("invoice %s of the refused till is %s, want queued", id, v.Upload)
		}
	}

	prom := startPrometheus(t, promBin, root, dir, tills)
	prom.waitQuery(t, "every agent scraped", `count(up{job="posagent"} == 1)`, "3")
	// Prometheus got in with its token; nobody gets in without.
	if resp, err := http.Get("http://" + late.metrics + "/metrics"); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("scrape without the token: %v, %v; want 401", resp, err)
	} else {
		resp.Body.Close()
	}
	prom.waitQuery(t, "every till evaluated, nothing overdue yet", `count(posagent_invoices_overdue == 0)`, "3")

	// Monday over the same store: Friday's deadline has passed, and KSeF
	// still refuses the uploads.
	late.stop(t)
	late.start(t, fleetLaterDay)
	alert := prom.waitAlert(t, "PosagentInvoicesOverdue", "firing", late)
	if got := alert.Labels["severity"]; got != "critical" {
		t.Errorf("overdue alert severity = %q, want critical", got)
	}
	for _, id := range waiting {
		if v := late.invoice(t, id); !v.Overdue || v.Upload != "queued" {
			t.Errorf("invoice %s: overdue %v, upload %s; want overdue and still queued (never dropped)", id, v.Overdue, v.Upload)
		}
	}
	// The healthy tills have been scraped and evaluated alongside: nothing for them.
	for _, a := range prom.alerts(t) {
		if a.Labels["station"] == late.station && a.Labels["till"] == late.till {
			continue
		}
		if !fleetQuietAllowed[a.Labels["alertname"]] {
			t.Errorf("alert %s is %s for a healthy till (labels %v)", a.Labels["alertname"], a.State, a.Labels)
		}
	}
	prom.checkDashboard(t, filepath.Join(root, "deploy", "grafana", "posagent-fleet.json"), late)
	lintMetrics(t, tills[0])
	prom.logSeries(t)
}

// legacyMetricNames are names promtool's lint flags that stay for existing
// users: the days gauge predates the Unix-seconds expiry timestamp.
var legacyMetricNames = []string{"posagent_offline_cert_days_left"}

// lintMetrics runs `promtool check metrics` (Prometheus's naming and
// exposition lint) over an agent's scrape.
func lintMetrics(t *testing.T, a *fleetAgent) {
	t.Helper()
	promtool := testutil.RequireTool(t, "promtool")
	req, err := http.NewRequest(http.MethodGet, "http://"+a.metrics+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+fleetMetrics)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	scrape, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: %d %v", a.metrics, resp.StatusCode, err)
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(scrape)
	out, _ := cmd.CombinedOutput() // exit 3 for lint problems: judged line by line below
	for line := range strings.Lines(string(out)) {
		line = strings.TrimSpace(line)
		if line == "" || slices.ContainsFunc(legacyMetricNames, func(n string) bool { return strings.HasPrefix(line, n+" ") }) {
			continue
		}
		t.Errorf("promtool check metrics: %s", line)
	}
}

// fleetAgent is one till: its configuration, store and till API address.
type fleetAgent struct {
	station, till string
	bin, dir      string
	config        string
	base          string // http://127.0.0.1:port of the till API
	metrics       string // host:port of the metrics listener
	http          *http.Client
	run           *proc
}

func newFleetAgent(t *testing.T, bin, root, station, tillID string) *fleetAgent {
	t.Helper()
	a := &fleetAgent{station: station, till: tillID, bin: bin, dir: filepath.Join(root, station+"-"+tillID),
		http: &http.Client{Timeout: 10 * time.Second}}
	a.config = filepath.Join(a.dir, "posagent.toml")
	if err := os.MkdirAll(a.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, secret := range map[string]string{"ksef-token": fleetKSeFTok, "till-token": fleetTillTok, "metrics-token": fleetMetrics} {
		if err := os.WriteFile(filepath.Join(a.dir, name), []byte(secret+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	listen := freeAddr(t)
	a.base, a.metrics = "http://"+listen, freeAddr(t)
	a.writeConfig(t, "http://127.0.0.1:1") // no simulator yet: cert import does not call KSeF
	// The Offline certificate covers both rehearsal days and today.
	from, err := time.ParseInLocation("2006-01-02T15:04", fleetIssueDay, ksef.Warsaw)
	if err != nil {
		t.Fatal(err)
	}
	from = from.Add(-24 * time.Hour)
	certPEM, keyPEM, err := certstore.Generate(certstore.Offline, sellerNIP, certstore.KeyEC, from, time.Since(from)+2*365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pem := filepath.Join(a.dir, "offline.pem")
	if err := os.WriteFile(pem, append(certPEM, keyPEM...), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "cert", "import", "--config", a.config, pem).CombinedOutput(); err != nil {
		t.Fatalf("cert import for %s/%s: %v\n%s", station, tillID, err, out)
	}
	return a
}

// writeConfig writes the agent's posagent.toml for the simulator at sim.
func (a *fleetAgent) writeConfig(t *testing.T, sim string) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "[seller]\nnip = %q\nname = \"Stacja Paliw %s Sp. z o.o.\"\naddress_line1 = \"ul. Źródlana 7\"\naddress_line2 = \"90-001 Łódź\"\n\n", sellerNIP, a.station)
	fmt.Fprintf(&b, "[terminal]\nid = %q\n\n", a.station+"-"+a.till)
	fmt.Fprintf(&b, "[ksef]\nenvironment = \"test\"\nurl = %q\navailability_url = %q\nauth = \"token\"\ntoken_file = %q\ntimeout = \"2s\"\n\n",
		sim+"/v2", sim+"/latarnia", filepath.Join(a.dir, "ksef-token"))
	fmt.Fprintf(&b, "[printer]\nport = \"virtual\"\n\n[till]\nlisten = %q\ntoken_file = %q\n\n", strings.TrimPrefix(a.base, "http://"), filepath.Join(a.dir, "till-token"))
	fmt.Fprintf(&b, "[store]\ndir = %q\ncap_mb = 64\nheadroom_mb = 0\n\n[policy]\nupload_interval = \"1s\"\n\n[log]\nformat = \"json\"\n\n", filepath.Join(a.dir, "data"))
	// Prometheus scrapes the metrics listener with its token, as in a fleet.
	fmt.Fprintf(&b, "[metrics]\nlisten = %q\ntoken_file = %q\n", a.metrics, filepath.Join(a.dir, "metrics-token"))
	if err := os.WriteFile(a.config, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

// start runs `posagent run` on the agent's configuration with the date given
// and waits for its till API.
func (a *fleetAgent) start(t *testing.T, date string) {
	t.Helper()
	a.run = startProc(t, a.station+"/"+a.till, nil, a.bin, "run", "--config", a.config, "--date", date)
	waitFleet(t, "the till API of "+a.station+"/"+a.till, a.run, func() bool {
		var st map[string]any
		return a.do(http.MethodGet, "/v1/status", nil, &st) == nil
	})
}

func (a *fleetAgent) stop(t *testing.T) {
	t.Helper()
	a.run.stop(t)
}

func (a *fleetAgent) do(method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+fleetTillTok)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", path+"-"+fmt.Sprint(time.Now().UnixNano()))
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return json.Unmarshal(b, out)
}

func (a *fleetAgent) sell(t *testing.T, key, day string) till.View {
	t.Helper()
	sale := map[string]any{
		"buyer":      map[string]any{"kind": "consumer"},
		"lines":      []any{map[string]any{"name": "Kawa", "unit": "szt.", "quantity": "1", "unit_price": "9.90", "vat_rate": "8"}},
		"payment":    map[string]any{"form": "card", "paid": true},
		"issue_date": day,
	}
	var v till.View
	if err := a.do(http.MethodPost, "/v1/sales", sale, &v); err != nil {
		t.Fatalf("sale %s at %s/%s: %v\n%s", key, a.station, a.till, err, a.run.out)
	}
	return v
}

func (a *fleetAgent) invoice(t *testing.T, id string) till.View {
	t.Helper()
	var v till.View
	if err := a.do(http.MethodGet, "/v1/invoices/"+id, nil, &v); err != nil {
		t.Fatalf("invoice %s at %s/%s: %v", id, a.station, a.till, err)
	}
	return v
}

func (a *fleetAgent) waitUpload(t *testing.T, id, state string) {
	t.Helper()
	waitFleet(t, "invoice "+id+" "+state+" at "+a.station+"/"+a.till, a.run, func() bool {
		var v till.View
		return a.do(http.MethodGet, "/v1/invoices/"+id, nil, &v) == nil && v.Upload == state
	})
}

// startSim runs `posagent ksefsim` on a free loopback port and returns its URL.
func startSim(t *testing.T, bin, name string) string {
	t.Helper()
	p := startProc(t, name, []string{"POSAGENT_KSEF_TOKEN=" + fleetKSeFTok}, bin,
		"ksefsim", "--listen", "127.0.0.1:0", "--nip", sellerNIP, "--date", fleetIssueDay)
	var base string
	waitFleet(t, name+"'s address", p, func() bool {
		sc := bufio.NewScanner(strings.NewReader(p.out.String()))
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "KSeF simulator on "); ok {
				base = strings.TrimSpace(rest)
				return true
			}
		}
		return false
	})
	return base
}

// fleetProm is the Prometheus server of the test.
type fleetProm struct {
	base string
	run  *proc
}

// startPrometheus runs Prometheus on the shipped example configuration with
// its /etc paths moved into dir, a 2 s scrape and 1 s evaluation interval, no
// Alertmanager, and a file_sd list made from an inventory of the tills.
func startPrometheus(t *testing.T, bin, root, dir string, tills []*fleetAgent) *fleetProm {
	t.Helper()
	src := filepath.Join(root, "deploy", "prometheus")
	etc := filepath.Join(dir, "prometheus")
	if err := os.MkdirAll(filepath.Join(etc, "targets"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"posagent.rules.yml", "posagent-thresholds.rules.yml"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(etc, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(etc, "metrics-token"), []byte(fleetMetrics+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var csv strings.Builder
	csv.WriteString("station,till,address\n")
	for _, a := range tills {
		fmt.Fprintf(&csv, "%s,%s,%s\n", a.station, a.till, a.metrics)
	}
	inv := filepath.Join(dir, "tills.csv")
	if err := os.WriteFile(inv, []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	targets, err := exec.Command(filepath.Join(src, "file-sd-from-csv.sh"), inv).Output()
	if err != nil {
		t.Fatalf("file-sd-from-csv.sh: %v", err)
	}
	if err := os.WriteFile(filepath.Join(etc, "targets", "tills.json"), targets, 0o600); err != nil {
		t.Fatal(err)
	}

	example, err := os.ReadFile(filepath.Join(src, "prometheus.example.yml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(example)
	for _, r := range []struct{ old, new string }{
		{"/etc/prometheus/posagent", etc},
		// 2 s, not 1: a loaded 2-core machine can take a second to answer a scrape.
		{"scrape_interval: 60s", "scrape_interval: 2s"},
		{"evaluation_interval: 60s", "evaluation_interval: 1s"},
		{"scrape_timeout: 10s", "scrape_timeout: 2s"},
		{`targets: ["alertmanager.example.internal:9093"]`, "targets: []"},
	} {
		if !strings.Contains(cfg, r.old) {
			t.Fatalf("prometheus.example.yml no longer has %q: update this test with it", r.old)
		}
		cfg = strings.ReplaceAll(cfg, r.old, r.new)
	}
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	listen := freeAddr(t)
	p := &fleetProm{base: "http://" + listen}
	p.run = startProc(t, "prometheus", nil, bin, "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+listen, "--log.level=warn")
	waitFleet(t, "Prometheus ready", p.run, func() bool {
		resp, err := http.Get(p.base + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return p
}

// promAlert is one alert of /api/v1/alerts.
type promAlert struct {
	Labels map[string]string `json:"labels"`
	State  string            `json:"state"`
	Value  string            `json:"value"`
}

func (p *fleetProm) get(t *testing.T, path string, out any) {
	t.Helper()
	resp, err := http.Get(p.base + path)
	if err != nil {
		t.Fatalf("Prometheus %s: %v", path, err)
	}
	defer resp.Body.Close()
	var env struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
		Error  string          `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil || env.Status != "success" {
		t.Fatalf("Prometheus %s: %v %s %s", path, err, env.Status, env.Error)
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		t.Fatalf("Prometheus %s: %v", path, err)
	}
}

func (p *fleetProm) alerts(t *testing.T) []promAlert {
	t.Helper()
	var data struct {
		Alerts []promAlert `json:"alerts"`
	}
	p.get(t, "/api/v1/alerts", &data)
	return data.Alerts
}

// waitAlert waits until alert name is in state for the agent's till.
func (p *fleetProm) waitAlert(t *testing.T, name, state string, a *fleetAgent) promAlert {
	t.Helper()
	var got promAlert
	waitFleet(t, name+" "+state+" for "+a.station+"/"+a.till, p.run, func() bool {
		for _, al := range p.alerts(t) {
			if al.Labels["alertname"] == name && al.State == state && al.Labels["station"] == a.station && al.Labels["till"] == a.till {
				got = al
				return true
			}
		}
		return false
	})
	return got
}

type promSample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

func (p *fleetProm) query(t *testing.T, q string) []promSample {
	t.Helper()
	var data struct {
		Result []promSample `json:"result"`
	}
	p.get(t, "/api/v1/query?query="+url.QueryEscape(q), &data)
	return data.Result
}

// waitQuery waits until the instant query q has one sample whose value is want.
func (p *fleetProm) waitQuery(t *testing.T, what, q, want string) {
	t.Helper()
	waitFleet(t, what+" ("+q+" = "+want+")", p.run, func() bool {
		r := p.query(t, q)
		return len(r) == 1 && r[0].Value[1] == want
	})
}

// checkDashboard runs every query of the Grafana dashboard, its variables
// set to the agent's station and till, and fails on any Prometheus refuses.
func (p *fleetProm) checkDashboard(t *testing.T, path string, a *fleetAgent) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	type panel struct {
		Title   string                  `json:"title"`
		Targets []struct{ Expr string } `json:"targets"`
	}
	var d struct{ Panels []panel }
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	vars := strings.NewReplacer("$station", a.station, "$till", a.till)
	n := 0
	for _, pn := range d.Panels {
		for _, tg := range pn.Targets {
			q := vars.Replace(tg.Expr)
			resp, err := http.Get(p.base + "/api/v1/query?query=" + url.QueryEscape(q))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("dashboard panel %q: Prometheus refuses %s: %s", pn.Title, q, body)
			}
			n++
		}
	}
	if n == 0 {
		t.Error("the dashboard has no queries")
	}
}

// logSeries reports each agent's series count as Prometheus stored it, for
// docs/FLEET.md's sizing.
func (p *fleetProm) logSeries(t *testing.T) {
	t.Helper()
	for _, s := range p.query(t, `count by (station, till) ({job="posagent"})`) {
		t.Logf("series per agent: %s/%s has %v (with up and Prometheus's 4 scrape_* series)", s.Metric["station"], s.Metric["till"], s.Value[1])
	}
}

// proc is a child process with its combined output kept for failures.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error
}

func startProc(t *testing.T, name string, env []string, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, out: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.out)
		}
	})
	return p
}

// stop asks the process to end (SIGTERM: the agent closes its store) and
// waits; it kills one that does not end within 20 s.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
		t.Errorf("%s did not stop on SIGTERM", p.name)
	}
}

// waitFleet polls cond every 100 ms for up to 90 s (a loaded 2-core machine
// is slow, and a generous limit costs nothing when cond holds), and fails
// when it runs out or the process the wait depends on has ended.
func waitFleet(t *testing.T, what string, p *proc, cond func() bool) {
	t.Helper()
	end := time.Now().Add(90 * time.Second)
	for !cond() {
		select {
		case <-p.done:
			t.Fatalf("%s ended (%v) while waiting for %s:\n%s", p.name, p.err, what, p.out)
		default:
		}
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// freeAddr returns a loopback address nobody listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func postJSON(t *testing.T, u, body string) {
	t.Helper()
	resp, err := http.Post(u, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST %s: %d %s", u, resp.StatusCode, b)
	}
}
