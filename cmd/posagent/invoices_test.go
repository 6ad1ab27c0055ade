package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/posagent/posagent/outbox"
)

// demoStore copies the shared demo's store into a fresh installation.
func demoStore(t *testing.T) (*testMain, string) {
	t.Helper()
	demo := sharedDemo(t)
	tm := newTestMain(t)
	dir := filepath.Join(tm.root, "var", "lib", "posagent")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(filepath.Join(demo, "state", storeFile))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(filepath.Join(dir, storeFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	dst.Close()
	tm.writeConfig(t, testConfig{storeDir: dir})
	return tm, demo
}

// demoNumbers are the invoice numbers of the demo's demo.json, in issue
// order: the demo numbers by its clock's month, so no test may spell them.
func demoNumbers(t *testing.T, demo string) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(demo, "demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d demoContract
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, inv := range d.Invoices {
		out = append(out, inv.Number)
	}
	return out
}

func TestInvoicesList(t *testing.T) {
	tm, demo := demoStore(t)
	var rows []invoiceRow
	if err := json.Unmarshal([]byte(tm.mustRun(t, "invoices", "list", "--json")), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 7 {
		t.Fatalf("%d invoices listed, want 7", len(rows))
	}
	for _, r := range rows {
		if r.Upload != "accepted" || r.KSeFNumber == "" || r.Mode != "offline24" || r.Print != "printed" {
			t.Errorf("row %+v", r)
		}
	}
	if rows[6].Kind != "KOR" {
		t.Errorf("last invoice kind %s, want the correction", rows[6].Kind)
	}
	tests := []struct {
		args []string
		want int
	}{
		{[]string{"--state", "accepted"}, 7},
		{[]string{"--state", "queued"}, 0},
		{[]string{"--limit", "2"}, 2},
	}
	for _, tt := range tests {
		var got []invoiceRow
		json.Unmarshal([]byte(tm.mustRun(t, append([]string{"invoices", "list", "--json"}, tt.args...)...)), &got)
		if len(got) != tt.want {
			t.Errorf("invoices list %v: %d rows, want %d", tt.args, len(got), tt.want)
		}
	}
	out := tm.mustRun(t, "invoices", "list")
	if !strings.Contains(out, demoNumbers(t, demo)[0]) || !strings.Contains(out, "KSEF NUMBER") || !strings.Contains(out, "7 invoice(s)") {
		t.Errorf("invoices list table:\n%s", out)
	}
	if _, _, err := tm.run(t, "invoices", "list", "--state", "lost"); exitCode(err) != exitUsage {
		t.Errorf("unknown state: %v", err)
	}
}

func TestInvoicesShow(t *testing.T) {
	tm, demo := demoStore(t)
	var rows []invoiceRow
	json.Unmarshal([]byte(tm.mustRun(t, "invoices", "list", "--json")), &rows)
	first := rows[0]

	out := tm.mustRun(t, "invoices", "show", first.Number)
	for _, want := range []string{"events:", first.KSeFNumber, "accepted", "kod2"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	var detail struct {
		ID     string         `json:"id"`
		Events []outbox.Event `json:"events"`
	}
	if err := json.Unmarshal([]byte(tm.mustRun(t, "invoices", "show", "--json", first.ID)), &detail); err != nil || detail.ID != first.ID || len(detail.Events) < 3 {
		t.Errorf("show --json: %+v, %v", detail, err)
	}
	xml := tm.mustRun(t, "invoices", "show", "--xml", first.ID)
	want, _ := os.ReadFile(filepath.Join(demo, "invoices", fileName(first.Number)+".xml"))
	if xml != string(want) {
		t.Error("show --xml differs from the demo's stored XML")
	}
	if _, _, err := tm.run(t, "invoices", "show", "NOPE/1"); !errors.Is(err, outbox.ErrNotFound) {
		t.Errorf("unknown invoice: %v", err)
	}
}

func TestInvoicesExport(t *testing.T) {
	tm, demo := demoStore(t)
	dir := filepath.Join(t.TempDir(), "export")
	out, errOut, err := tm.run(t, "invoices", "export", "--dir", dir)
	if err != nil {
		t.Fatal(err, errOut)
	}
	if !strings.Contains(out, "exported 7 invoice(s)") || !strings.Contains(errOut, "export 7/7") {
		t.Errorf("export output %q, progress %q", out, errOut)
	}
	xmls, _ := filepath.Glob(filepath.Join(dir, "*.xml"))
	upos, _ := filepath.Glob(filepath.Join(dir, "*.upo.xml"))
	if len(xmls)-len(upos) != 7 || len(upos) != 7 {
		t.Errorf("%d files, %d UPOs; want 7 invoices with 7 UPOs", len(xmls), len(upos))
	}
	for _, u := range upos {
		inv := strings.TrimSuffix(u, ".upo.xml") + ".xml"
		got, _ := os.ReadFile(inv)
		want, _ := os.ReadFile(filepath.Join(demo, "invoices", filepath.Base(inv)))
		if !bytes.Equal(got, want) || len(want) == 0 {
			t.Errorf("%s differs from the demo's XML", filepath.Base(inv))
		}
		if b, _ := os.ReadFile(u); !bytes.Contains(b, []byte("Potwierdzenie")) {
			t.Errorf("%s is not a UPO", filepath.Base(u))
		}
	}
}

func TestInvoicesReprintOffline(t *testing.T) {
	tm, demo := demoStore(t)
	number := demoNumbers(t, demo)[2] // the EU buyer's invoice
	out := tm.mustRun(t, "invoices", "reprint", number)
	if !strings.Contains(out, "queued as print job") {
		t.Errorf("reprint = %q", out)
	}
	detail := tm.mustRun(t, "invoices", "show", "--json", number)
	if !strings.Contains(detail, `"reprints"`) {
		t.Errorf("the duplicate is not recorded:\n%s", detail)
	}
}

func TestInvoicesStoreBusy(t *testing.T) {
	tm, _ := demoStore(t)
	st, err := outbox.Open(filepath.Join(tm.root, "var", "lib", "posagent", storeFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, _, err := tm.run(t, "invoices", "list"); !errors.Is(err, errStoreBusy) {
		t.Errorf("list with the store held: %v", err)
	}
}
