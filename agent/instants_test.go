package agent_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/agent/agenttest"
	"github.com/posagent/posagent/internal/simclock"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/ksef/ksefsim"
	"github.com/posagent/posagent/outbox"
)

// warsawAt is a fixed Warsaw instant; the DST ones are given in UTC, since
// their wall time is ambiguous.
func warsawAt(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := simclock.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// TestAtInstants runs the agent, with KSeF (the simulator) on the same
// clock, at fixed instants where dates turn: month and year ends, Christmas
// Eve, the DST switches, a leap day. At each it sells, optionally moves the
// clock 60 s on (across midnight or a switch) and sells again, and checks
// what the law and the series fix: the number carries the month and year of
// its issue and restarts each month, P_1 is the Warsaw date, the offline24
// deadline is the end of the next business day (art. 106nda ust. 2 of the VAT
// act; holidays per the 1951 act on non-working days, 24 December from
// 2025), KOD I hashes the stored XML, and KSeF accepts every invoice, also
// one uploaded after its issue day. Invoices accepted around New Year
// archive by their year of issue. The dates stage runs it (scripts/test.sh).
func TestAtInstants(t *testing.T) {
	if testing.Short() {
		t.Skip("a simulator and an agent per instant; the dates stage and the full run cover it")
	}
	tests := []struct {
		name  string
		at    func(t *testing.T) time.Time
		after time.Duration // a second sale this long after the first; 0: none
		want  []instantWant // for each sale
	}{
		{"month end", func(t *testing.T) time.Time { return warsawAt(t, "2026-11-30T23:59:30") }, time.Minute,
			[]instantWant{{"2026-11-30", "2026/11", 1, "2026-12-01"}, {"2026-12-01", "2026/12", 1, "2026-12-02"}}},
		{"Christmas Eve", func(t *testing.T) time.Time { return warsawAt(t, "2026-12-24") }, 0,
			[]instantWant{{"2026-12-24", "2026/12", 1, "2026-12-28"}}}, // 24-26 Dec, then Sunday
		{"New Year", func(t *testing.T) time.Time { return warsawAt(t, "2026-12-31T23:59:30") }, time.Minute,
			[]instantWant{{"2026-12-31", "2026/12", 1, "2027-01-04"}, {"2027-01-01", "2027/01", 1, "2027-01-04"}}},
		{"CET to CEST", func(t *testing.T) time.Time { return time.Date(2027, 3, 28, 0, 59, 30, 0, time.UTC) }, time.Minute,
			// 01:59:30 CET, then 03:00:30 CEST; Easter Sunday, Easter Monday.
			[]instantWant{{"2027-03-28", "2027/03", 1, "2027-03-30"}, {"2027-03-28", "2027/03", 2, "2027-03-30"}}},
		{"CEST to CET", func(t *testing.T) time.Time { return time.Date(2027, 10, 31, 0, 59, 30, 0, time.UTC) }, time.Minute,
			// 02:59:30 CEST, then 02:00:30 CET; 1 November is All Saints' Day.
			[]instantWant{{"2027-10-31", "2027/10", 1, "2027-11-02"}, {"2027-10-31", "2027/10", 2, "2027-11-02"}}},
		{"leap day", func(t *testing.T) time.Time { return warsawAt(t, "2028-02-29") }, 0,
			[]instantWant{{"2028-02-29", "2028/02", 1, "2028-03-01"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start := tt.at(t)
			e := agenttest.NewEnvAt(t, nil, start)
			e.Down() // upload once every sale is made: the first after its day
			s := e.Start(agenttest.WithOptions(func(o *agent.Options) {
				o.Series = outbox.Series{Terminal: "T1", Format: "FV/{terminal}/{yyyy}/{mm}/{seq:06}", Reset: outbox.ResetMonthly}
			}))
			var ids []string
			for i := range tt.want {
				if i > 0 {
					e.Clock.Add(tt.after)
				}
				ids = append(ids, s.Issue(fmt.Sprintf("sale-%d", i), consumerSale()).ID)
			}
			e.Sim.ClearFaults()
			s.Flush(30 * time.Second)
			accepted := simByNumber(e.Sim.Server)
			for i, id := range ids {
				checkInstant(t, s.Get(id), tt.want[i], accepted)
			}
			s.Stop()
			if tt.name == "New Year" {
				checkArchiveYears(t, e, ids, "2026", "2027")
			}
		})
	}
}

// instantWant is what one sale at an instant must give.
type instantWant struct {
	p1       string // Warsaw date
	period   string // yyyy/mm of the number
	seq      int    // its sequence number
	deadline string // Warsaw date of the offline24 deadline
}

func checkInstant(t *testing.T, inv *outbox.Invoice, want instantWant, accepted map[string]ksefsim.StoredInvoice) {
	t.Helper()
	if got := fmt.Sprintf("FV/T1/%s/%06d", want.period, want.seq); inv.Number != got {
		t.Errorf("number %s, want %s", inv.Number, got)
	}
	if inv.P1 != want.p1 || !bytes.Contains(inv.XML, []byte("<P_1>"+want.p1+"</P_1>")) {
		t.Errorf("%s: P_1 %s, want %s in the record and the XML", inv.Number, inv.P1, want.p1)
	}
	if inv.Mode != "offline24" || ksef.DateOf(inv.Deadline).String() != want.deadline {
		t.Errorf("%s: %s deadline %v, want offline24 due at the end of %s", inv.Number, inv.Mode, inv.Deadline, want.deadline)
	}
	if end := ksef.MustParseDate(want.deadline).End(); !inv.Deadline.Equal(end) {
		t.Errorf("%s: deadline %v, want the end of that Warsaw day %v", inv.Number, inv.Deadline, end)
	}
	cal, err := ksef.DefaultCalendar.Deadline(ksef.ModeOffline24, ksef.MustParseDate(want.p1), nil)
	if at, ok := cal.Instant(); err != nil || !ok || !inv.Deadline.Equal(at) {
		t.Errorf("%s: deadline %v, the calendar's %v (%v)", inv.Number, inv.Deadline, cal, err)
	}
	checkKOD1(t, inv.KOD1, inv)
	s, ok := accepted[inv.Number]
	if inv.Upload != outbox.UploadAccepted || !ok || inv.KSeFNumber != s.KSeFNumber || s.Hash != inv.Hash.Base64() {
		t.Errorf("%s: %s %q, want accepted by KSeF with the stored XML's hash", inv.Number, inv.Upload, inv.KSeFNumber)
	}
}

// checkArchiveYears moves the clock past a one-day retention and archives:
// each invoice goes to the file of its issue year, and is still found.
func checkArchiveYears(t *testing.T, e *agenttest.Env, ids []string, years ...string) {
	t.Helper()
	e.Clock.Add(48 * time.Hour)
	st, err := outbox.Open(e.Path, &outbox.Options{Retention: 24 * time.Hour, Now: e.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	if n, err := st.Archive(ctx); err != nil || n != len(ids) {
		t.Fatalf("Archive = %d, %v; want all %d invoices", n, err, len(ids))
	}
	for i, y := range years {
		if _, err := os.Stat(e.Path + ".archive-" + y); err != nil {
			t.Errorf("no archive of %s: %v", y, err)
		}
		if inv, err := st.Get(ctx, ids[i]); err != nil || !strings.HasPrefix(inv.P1, y) {
			t.Errorf("archived invoice %s: %v; want it found, issued in %s", ids[i], err, y)
		}
	}
}
