package soak

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/outbox"
)

// demoAt is a made-up demo output: the report, its XML files in dir, and the
// records a store would hold, all consistent until a test breaks one.
type demoAt struct {
	r      *DemoReport
	dir    string
	stored map[string]*outbox.Invoice
}

func newDemoAt(t *testing.T, sales ...[2]string) *demoAt { // {number, p1}
	t.Helper()
	d := &demoAt{r: &DemoReport{SellerNIP: "5265877635", Environment: "test"}, dir: t.TempDir(), stored: map[string]*outbox.Invoice{}}
	if err := os.Mkdir(filepath.Join(d.dir, "invoices"), 0o750); err != nil {
		t.Fatal(err)
	}
	for i, s := range sales {
		number, p1 := s[0], ksef.MustParseDate(s[1])
		xml := []byte("<Faktura><P_1>" + s[1] + "</P_1><P_2>" + number + "</P_2></Faktura>")
		hash := ksef.InvoiceHash(xml)
		file := "invoices/" + strings.ReplaceAll(number, "/", "_") + ".xml"
		if err := os.WriteFile(filepath.Join(d.dir, file), xml, 0o644); err != nil {
			t.Fatal(err)
		}
		deadline, err := ksef.DefaultCalendar.Deadline(ksef.ModeOffline24, p1, nil)
		if err != nil {
			t.Fatal(err)
		}
		end, _ := deadline.Instant()
		d.r.Invoices = append(d.r.Invoices, DemoInvoice{Number: number, File: file, P1: s[1], Mode: "offline24",
			KOD1:       ksef.KOD1(ksef.EnvTest, d.r.SellerNIP, p1, hash),
			KSeFNumber: ksef.NewKSeFNumber(d.r.SellerNIP, p1.Start().Add(time.Hour), [6]byte{5: byte(i + 1)}), State: "accepted"})
		d.stored[number] = &outbox.Invoice{Number: number, XML: xml, P1: s[1], Mode: "offline24", Deadline: end}
	}
	return d
}

func (d *demoAt) check(from time.Time) error {
	lookup := func(n string) (*outbox.Invoice, error) {
		if inv, ok := d.stored[n]; ok {
			return inv, nil
		}
		return nil, outbox.ErrNotFound
	}
	return checkDemoDates(d.r, d.dir, lookup, from, from.Add(DemoWindow), ksef.DefaultCalendar)
}

func TestCheckDemoDates(t *testing.T) {
	newYear := time.Date(2026, 12, 31, 23, 59, 30, 0, ksef.Warsaw)
	december, january := [2]string{"KASA01/2026/12/000001", "2026-12-31"}, [2]string{"KASA01/2027/01/000001", "2027-01-01"}
	tests := []struct {
		name  string
		sales [][2]string
		edit  func(t *testing.T, d *demoAt)
		want  string // in the error; "" for none
	}{
		{"across New Year", [][2]string{december, january}, nil, ""},
		{"the number of another month", [][2]string{{"KASA01/2026/11/000001", "2026-12-31"}}, nil, "does not carry the year and month"},
		{"P_1 of a day the clock never saw", [][2]string{december, {"KASA01/2026/12/000002", "2026-12-30"}}, nil, "want a day of the demo's clock"},
		{"the series not restarted", [][2]string{december, {"KASA01/2027/01/000002", "2027-01-01"}}, nil, "want 1..1"},
		{"a gap", [][2]string{december, {"KASA01/2026/12/000003", "2026-12-31"}}, nil, "want 1..2"},
		{"deadline a day late", [][2]string{december}, func(t *testing.T, d *demoAt) {
			d.stored[december[0]].Deadline = d.stored[december[0]].Deadline.Add(24 * time.Hour)
		}, "the calendar's is 2027-01-04"},
		{"no deadline stored", [][2]string{december}, func(t *testing.T, d *demoAt) {
			d.stored[december[0]].Deadline = time.Time{}
		}, "the calendar's is 2027-01-04"},
		{"the exported XML is not the stored bytes", [][2]string{december}, func(t *testing.T, d *demoAt) {
			d.stored[december[0]].XML = append([]byte(" "), d.stored[december[0]].XML...)
		}, "differs from the stored XML"},
		{"KOD I of other bytes", [][2]string{december, january}, func(t *testing.T, d *demoAt) {
			d.r.Invoices[0].KOD1 = d.r.Invoices[1].KOD1
		}, "KOD I names"},
		{"P_1 of the record differs", [][2]string{december}, func(t *testing.T, d *demoAt) {
			d.stored[december[0]].P1 = "2027-01-01"
		}, "the store has P_1"},
		{"accepted before its issue day", [][2]string{january}, func(t *testing.T, d *demoAt) {
			d.r.Invoices[0].KSeFNumber = ksef.NewKSeFNumber(d.r.SellerNIP, newYear, [6]byte{1})
		}, "accepted on 2026-12-31"},
		{"not in the store", [][2]string{december}, func(t *testing.T, d *demoAt) {
			delete(d.stored, december[0])
		}, "not in the demo's store"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDemoAt(t, tt.sales...)
			if tt.edit != nil {
				tt.edit(t, d)
			}
			err := d.check(newYear)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("check = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrDemo) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("check = %v, want ErrDemo with %q", err, tt.want)
			}
		})
	}
}
