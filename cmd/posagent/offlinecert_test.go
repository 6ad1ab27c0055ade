package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/certstore"
	"github.com/posagent/posagent/till"
)

// offlineRig is an installation on the simulator with the service running.
type offlineRig struct {
	tm  *testMain
	sim string // simulator root URL
	tc  *tillClient
	svc *process
}

func (r *offlineRig) sale(t *testing.T, key string) (till.View, error) {
	t.Helper()
	var v till.View
	err := r.tc.do(context.Background(), http.MethodPost, "/v1/sales", map[string]string{"Idempotency-Key": key}, map[string]any{
		"buyer":   map[string]any{"kind": "consumer"},
		"lines":   []any{demoLine("Kawa", "szt.", "1", "9.90", "8")},
		"payment": map[string]any{"form": "card", "paid": true},
	}, &v) // no issue_date: the service dates it by its own clock
	return v, err
}

func (r *offlineRig) status(t *testing.T) till.Status {
	t.Helper()
	var st till.Status
	if err := r.tc.do(context.Background(), http.MethodGet, "/v1/status", nil, nil, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func (r *offlineRig) start(t *testing.T) {
	t.Helper()
	r.svc = r.tm.start(t, "run")
	waitUntil(t, "the till API", func() bool {
		return r.tc.do(context.Background(), http.MethodGet, "/v1/status", nil, nil, nil) == nil
	}, r.svc.done, r.svc.logs)
}

// count returns how many invoices the agent holds.
func (r *offlineRig) count(t *testing.T) int {
	t.Helper()
	var list struct {
		Invoices []till.View `json:"invoices"`
	}
	if err := r.tc.do(context.Background(), http.MethodGet, "/v1/invoices?limit=500", nil, nil, &list); err != nil {
		t.Fatal(err)
	}
	return len(list.Invoices)
}

// wantRefused checks a sale is refused with 422 offline_certificate_invalid
// and stores nothing.
func (r *offlineRig) wantRefused(t *testing.T, key, reason string) {
	t.Helper()
	n := r.count(t)
	_, err := r.sale(t, key)
	var te *tillError
	if !errors.As(err, &te) || te.Status != http.StatusUnprocessableEntity || te.Problem.Code != till.CodeOfflineCertificateInvalid ||
		!strings.Contains(te.Problem.Detail, reason) || !strings.Contains(te.Problem.Detail, "receipt") {
		t.Fatalf("sale %s = %v (%+v), want 422 %s mentioning %q", key, err, te, till.CodeOfflineCertificateInvalid, reason)
	}
	if got := r.count(t); got != n {
		t.Errorf("%d invoices after a refused sale, want %d", got, n)
	}
}

// onlineStillWorks switches the running agent to online issuing and sells.
func (r *offlineRig) onlineStillWorks(t *testing.T, key string) {
	t.Helper()
	r.tm.mustRun(t, "mode", "online")
	v, err := r.sale(t, key)
	if err != nil || v.Mode != "online" || v.Upload != "accepted" || v.Kod2 != "" {
		t.Fatalf("online sale = %+v, %v; want issued online and accepted", v, err)
	}
	r.tm.mustRun(t, "mode", "auto")
}

func newOfflineRig(t *testing.T) *offlineRig {
	t.Helper()
	srv := simServer(t)
	tm := newTestMain(t)
	listen := freePort(t)
	// No renewal: the rig holds an unusable Offline certificate on purpose,
	// and certs.auto_renew would enroll a good one from the simulator while
	// the test checks the refusals (it did, in 1 run of 15 or more).
	tm.writeConfig(t, testConfig{ksefURL: srv.URL + "/v2", listen: listen,
		extra: "[log]\nlevel = \"info\"\nformat = \"json\"\n\n[certs]\nauto_renew = false\n"})
	tm.mustRun(t, "cert", "import", "--usage", "authentication",
		writeCertFile(t, certstore.Authentication, certstore.KeyEC, time.Now().Add(-time.Hour), 365*24*time.Hour))
	return &offlineRig{tm: tm, sim: srv.URL, tc: &tillClient{base: "http://" + listen, http: &http.Client{Timeout: 10 * time.Second}}}
}

// TestRunRevokedOfflineCertificate (issue 18 point 5, through the binary): an
// Offline certificate enrolled from KSeF is revoked there; the service's
// status check at start finds it, raises the alarm (log, status, metric),
// refuses offline sales with 422 offline_certificate_invalid and keeps
// issuing online; doctor fails the certificate.
func TestRunRevokedOfflineCertificate(t *testing.T) {
	r := newOfflineRig(t)
	r.tm.mustRun(t, "cert", "enroll", "--usage", "offline")
	var rows []certJSON
	if err := json.Unmarshal([]byte(r.tm.mustRun(t, "cert", "list", "--json")), &rows); err != nil {
		t.Fatal(err)
	}
	serial := ""
	for _, c := range rows {
		if c.Usage == "offline" {
			serial = c.Serial
		}
	}
	r.start(t)
	if v, err := r.sale(t, "before"); err != nil || v.Mode != "offline24" {
		t.Fatalf("sale before the revocation = %+v, %v", v, err)
	}
	r.svc.stop(t)

	// KSeF revokes the certificate (the simulator's admin endpoint, as its
	// own processes would).
	resp, err := http.Post(r.sim+"/admin/certificates/"+serial+"/status", "application/json", strings.NewReader(`{"status":"Revoked"}`))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke in the simulator: %v %v", resp, err)
	}
	resp.Body.Close()

	r.start(t)
	waitUntil(t, "the revocation in the status", func() bool { return r.status(t).Certificate.KSeFState == "Revoked" }, r.svc.done, r.svc.logs)
	st := r.status(t)
	if !strings.Contains(st.Certificate.Refused, "revoked") {
		t.Errorf("status certificate = %+v", st.Certificate)
	}
	r.wantRefused(t, "after", "revoked")
	var scrape json.RawMessage
	if err := r.tc.do(context.Background(), http.MethodGet, "/metrics", nil, nil, &scrape); err != nil || !strings.Contains(string(scrape), `posagent_certificate_revoked{usage="offline"} 1`) {
		t.Errorf("metrics lack the revocation (%v):\n%s", err, scrape)
	}
	var page json.RawMessage
	if err := r.tc.do(context.Background(), http.MethodGet, "/", nil, nil, &page); err != nil || !strings.Contains(string(page), "Offline sales refused") {
		t.Errorf("the status page does not show the refusal (%v)", err)
	}
	if l := r.svc.logs.String(); !strings.Contains(l, "ALARM: KSeF reports the Offline certificate revoked") {
		t.Errorf("no alarm in the log:\n%s", l)
	}
	r.onlineStillWorks(t, "online")
	checks, err := doctorChecks(t, r.tm)
	wantExit(t, err, exitCheckFailed)
	if c := checks["certificate"]; c.Result != resFail || !strings.Contains(c.Detail, "revoked") {
		t.Errorf("doctor certificate = %+v", c)
	}
}

// TestRunExpiredOfflineCertificate: the service starts with an expired
// Offline certificate (it used to refuse to start, stopping every sale),
// refuses offline sales with 422 and issues online ones.
func TestRunExpiredOfflineCertificate(t *testing.T) {
	r := newOfflineRig(t)
	// Imported while valid: [now-3h, now-1h].
	r.tm.Now = func() time.Time { return time.Now().Add(-2 * time.Hour) }
	r.tm.mustRun(t, "cert", "import", writeCertFile(t, certstore.Offline, certstore.KeyEC, time.Now().Add(-3*time.Hour), 2*time.Hour))
	r.tm.Now = nil
	r.start(t)
	r.wantRefused(t, "expired", "expired on")
	if st := r.status(t); !strings.Contains(st.Certificate.Refused, "expired on") || st.Certificate.DaysLeft >= 0 {
		t.Errorf("status certificate = %+v", st.Certificate)
	}
	r.onlineStillWorks(t, "online")
}
