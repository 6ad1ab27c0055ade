package ksef_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/posagent/posagent/ksef"
)

var d = ksef.MustParseDate

func TestEaster(t *testing.T) {
	tests := map[int]string{2024: "2024-03-31", 2025: "2025-04-20", 2026: "2026-04-05", 2027: "2027-03-28", 2038: "2038-04-25", 2049: "2049-04-18"}
	for y, want := range tests {
		if got := ksef.Easter(y); got != d(want) {
			t.Errorf("Easter(%d) = %v, want %s", y, got, want)
		}
	}
}

func TestStatutoryHolidays(t *testing.T) {
	got := fmt.Sprint(ksef.StatutoryHolidays(2026))
	want := "[2026-01-01 2026-01-06 2026-04-05 2026-04-06 2026-05-01 2026-05-03 2026-05-24 2026-06-04 2026-08-15 2026-11-01 2026-11-11 2026-12-24 2026-12-25 2026-12-26]"
	if got != want {
		t.Errorf("StatutoryHolidays(2026) =\n%s, want\n%s", got, want)
	}
	for y := 2025; y < 2040; y++ {
		hs := ksef.StatutoryHolidays(y)
		if len(hs) != 14 {
			t.Errorf("%d has %d holidays, want 14", y, len(hs))
		}
		for _, h := range hs {
			if !ksef.DefaultCalendar.IsHoliday(h) || ksef.DefaultCalendar.IsBusinessDay(h) {
				t.Errorf("%v not a holiday", h)
			}
		}
	}
	if n := len(ksef.StatutoryHolidays(2024)); n != 13 {
		t.Errorf("2024 has %d holidays, want 13 (Wigilia from 2025)", n)
	}
	if ksef.DefaultCalendar.IsHoliday(d("2024-12-24")) {
		t.Error("2024-12-24 is a holiday, want working day")
	}
}

func TestAddBusinessDays(t *testing.T) {
	tests := []struct {
		from string
		n    int
		want string
	}{
		{"2026-12-23", 1, "2026-12-28"}, // Wigilia, Christmas, weekend
		{"2026-04-03", 1, "2026-04-07"}, // Good Friday → after Easter Monday
		{"2026-12-31", 1, "2027-01-04"}, // New Year then weekend
		{"2026-05-01", 1, "2026-05-04"}, // May Day is Friday, 3 May Sunday
		{"2025-07-12", 7, "2025-07-22"}, // MF example: Saturday + 7
		{"2026-11-20", 0, "2026-11-20"},
		{"2026-11-23", -1, "2026-11-20"},
		{"2026-06-03", 1, "2026-06-05"}, // Corpus Christi 2026-06-04
	}
	for _, tt := range tests {
		if got := ksef.DefaultCalendar.AddBusinessDays(d(tt.from), tt.n); got != d(tt.want) {
			t.Errorf("AddBusinessDays(%s, %d) = %v, want %s", tt.from, tt.n, got, tt.want)
		}
	}
}

func TestCalendarOverrides(t *testing.T) {
	c, err := ksef.NewCalendar([]ksef.Date{d("2026-11-20")}, []ksef.Date{d("2026-12-24")})
	if err != nil {
		t.Fatal(err)
	}
	if c.IsBusinessDay(d("2026-11-20")) {
		t.Error("added holiday 2026-11-20 is a business day")
	}
	if !c.IsBusinessDay(d("2026-12-24")) {
		t.Error("removed holiday 2026-12-24 is not a business day")
	}
	if got, want := c.AddBusinessDays(d("2026-12-23"), 1), d("2026-12-24"); got != want {
		t.Errorf("AddBusinessDays = %v, want %v", got, want)
	}
	if _, err := ksef.NewCalendar([]ksef.Date{{Year: 2026, Month: 2, Day: 30}}, nil); !errors.Is(err, ksef.ErrDate) {
		t.Errorf("NewCalendar(bad date) = %v, want ErrDate", err)
	}
	if _, err := ksef.NewCalendar([]ksef.Date{d("2026-01-02")}, []ksef.Date{d("2026-01-02")}); err == nil {
		t.Error("NewCalendar(add and remove same day) succeeded")
	}
}

func TestDeadline(t *testing.T) {
	fail := func(ann, end string) ksef.Period {
		p := ksef.Period{Mode: ksef.ModeEmergency, Announced: d(ann)}
		if end != "" {
			p.End = d(end)
		}
		return p
	}
	maint := func(ann, end string) ksef.Period {
		p := fail(ann, end)
		p.Mode = ksef.ModeOffline
		return p
	}
	tests := []struct {
		name    string
		mode    ksef.Mode
		issued  string
		periods []ksef.Period
		want    string
		wantErr error
	}{
		{"online same day", ksef.ModeOnline, "2026-11-21", nil, "2026-11-21", nil},
		{"offline24 Wigilia", ksef.ModeOffline24, "2026-12-23", nil, "2026-12-28", nil},
		{"offline24 Good Friday", ksef.ModeOffline24, "2026-04-03", nil, "2026-04-07", nil},
		{"offline24 New Year", ksef.ModeOffline24, "2026-12-31", nil, "2027-01-04", nil},
		{"offline24 May Day", ksef.ModeOffline24, "2026-05-01", nil, "2026-05-04", nil},
		{"offline24 Saturday", ksef.ModeOffline24, "2026-11-21", nil, "2026-11-23", nil},
		{"MF example", ksef.ModeOffline24, "2025-07-08", []ksef.Period{fail("2025-07-09", "2025-07-12")}, "2025-07-22", nil},
		{"failure after deadline passed", ksef.ModeOffline24, "2025-07-08", []ksef.Period{fail("2025-07-10", "2025-07-12")}, "2025-07-09", nil},
		{"failure ended before issue", ksef.ModeOffline24, "2025-07-08", []ksef.Period{fail("2025-07-01", "2025-07-02")}, "2025-07-09", nil},
		{"failure still running", ksef.ModeOffline24, "2025-07-08", []ksef.Period{fail("2025-07-09", "")}, "open", nil},
		{"maintenance", ksef.ModeOffline, "2026-11-20", []ksef.Period{maint("2026-11-18", "2026-11-20")}, "2026-11-23", nil},
		{"maintenance open", ksef.ModeOffline, "2026-11-20", []ksef.Period{maint("2026-11-18", "")}, "open", nil},
		{"maintenance then failure", ksef.ModeOffline, "2026-11-20", []ksef.Period{maint("2026-11-18", "2026-11-20"), fail("2026-11-23", "2026-11-24")}, "2026-12-03", nil},
		{"maintenance missing", ksef.ModeOffline, "2026-11-20", []ksef.Period{maint("2026-11-21", "2026-11-22")}, "", ksef.ErrNoPeriod},
		{"emergency", ksef.ModeEmergency, "2025-07-10", []ksef.Period{fail("2025-07-09", "2025-07-12")}, "2025-07-22", nil},
		{"emergency restart", ksef.ModeEmergency, "2025-07-10", []ksef.Period{fail("2025-07-21", "2025-07-25"), fail("2025-07-09", "2025-07-12")}, "2025-08-05", nil},
		{"emergency new announcement too late", ksef.ModeEmergency, "2025-07-10", []ksef.Period{fail("2025-07-09", "2025-07-12"), fail("2025-07-23", "2025-07-24")}, "2025-07-22", nil},
		{"emergency open", ksef.ModeEmergency, "2025-07-10", []ksef.Period{fail("2025-07-09", "")}, "open", nil},
		{"emergency no period", ksef.ModeEmergency, "2025-07-10", nil, "", ksef.ErrNoPeriod},
		{"total failure", ksef.ModeTotalFailure, "2025-07-10", nil, "none", nil},
		{"bad mode", ksef.Mode(0), "2025-07-10", nil, "", ksef.ErrMode},
		{"bad period", ksef.ModeOffline24, "2025-07-10", []ksef.Period{fail("2025-07-12", "2025-07-11")}, "", ksef.ErrDate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ksef.DefaultCalendar.Deadline(tt.mode, d(tt.issued), tt.periods)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Deadline err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != tt.want {
				t.Errorf("Deadline(%v, %s) = %v, want %s", tt.mode, tt.issued, got, tt.want)
			}
		})
	}
}

func TestDeadlineInstant(t *testing.T) {
	dl, _ := ksef.DefaultCalendar.Deadline(ksef.ModeOffline24, d("2025-07-08"), nil)
	got, ok := dl.Instant()
	// 2025-07-09 23:59:59.999999999 CEST = 21:59:59.999999999 UTC.
	if want := time.Date(2025, 7, 9, 21, 59, 59, 999999999, time.UTC); !ok || !got.Equal(want) {
		t.Errorf("Instant() = %v, %v; want %v", got, ok, want)
	}
	// Winter: CET is UTC+1.
	if got, want := d("2026-12-28").End(), time.Date(2026, 12, 28, 22, 59, 59, 999999999, time.UTC); !got.Equal(want) {
		t.Errorf("End() = %v, want %v", got, want)
	}
	if _, ok := (ksef.Deadline{Open: true}).Instant(); ok {
		t.Error("open deadline has an instant")
	}
	if got := ksef.DateOf(time.Date(2026, 3, 28, 23, 30, 0, 0, time.UTC)); got != d("2026-03-29") {
		t.Errorf("DateOf = %v, want 2026-03-29", got)
	}
}

func TestOverdueAndSendOffline(t *testing.T) {
	dl := ksef.Deadline{Day: d("2026-11-23")}
	if dl.Overdue(time.Date(2026, 11, 23, 22, 59, 0, 0, time.UTC)) {
		t.Error("overdue at 23:59 Warsaw on the deadline day")
	}
	if !dl.Overdue(time.Date(2026, 11, 23, 23, 0, 0, 0, time.UTC)) {
		t.Error("not overdue at 00:00 Warsaw the next day")
	}
	if (ksef.Deadline{Open: true}).Overdue(time.Now()) || (ksef.Deadline{None: true}).Overdue(time.Now()) {
		t.Error("open or none deadline is overdue")
	}
	tests := []struct {
		mode ksef.Mode
		p1   string
		now  time.Time
		want bool
	}{
		{ksef.ModeOnline, "2026-11-21", time.Date(2026, 11, 21, 22, 30, 0, 0, time.UTC), false}, // 23:30 Warsaw
		{ksef.ModeOnline, "2026-11-21", time.Date(2026, 11, 21, 23, 30, 0, 0, time.UTC), true},  // 00:30 next day
		{ksef.ModeOffline24, "2026-11-21", time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC), true},
	}
	for _, tt := range tests {
		if got := ksef.SendOffline(tt.mode, d(tt.p1), tt.now); got != tt.want {
			t.Errorf("SendOffline(%v, %s, %v) = %v, want %v", tt.mode, tt.p1, tt.now, got, tt.want)
		}
	}
}

func TestMode(t *testing.T) {
	for m := ksef.ModeOnline; m <= ksef.ModeTotalFailure; m++ {
		got, err := ksef.ParseMode(m.String())
		if err != nil || got != m {
			t.Errorf("ParseMode(%q) = %v, %v", m.String(), got, err)
		}
	}
	if _, err := ksef.ParseMode("awaria"); !errors.Is(err, ksef.ErrMode) {
		t.Errorf("ParseMode(awaria) = %v, want ErrMode", err)
	}
	if ksef.ModeOnline.Offline() || !ksef.ModeEmergency.Offline() || ksef.ModeTotalFailure.Offline() {
		t.Error("Offline() classification wrong")
	}
}

func TestPenaltyExposure(t *testing.T) {
	a := ksef.MustParseAmount
	tests := []struct{ vat, gross, want string }{
		{"23.00", "123.00", "23.00"},
		{"0.00", "100.00", "18.70"},
		{"0.00", "0.05", "0.01"},  // 0.935 grosza → 1
		{"0.00", "0.02", "0.00"},  // 0.374 grosza → 0
		{"0.00", "10.08", "1.88"}, // 188.496 → 188
		{"0.00", "0.10", "0.02"},  // 1.87 → 2
		// Never negative: a correction's lower VAT or gross exposes nothing
		// and cannot cancel another invoice's exposure in a sum.
		{"0.00", "-100.00", "0.00"},
		{"-23.00", "-123.00", "0.00"},
	}
	for _, tt := range tests {
		if got := ksef.PenaltyExposure(a(tt.vat), a(tt.gross)); got != a(tt.want) {
			t.Errorf("PenaltyExposure(%s, %s) = %v, want %s", tt.vat, tt.gross, got, tt.want)
		}
	}
}

func ExampleCalendar_Deadline() {
	// The MF example: an offline24 invoice issued on 8 July 2025, a failure
	// announced on the 9th that ended on Saturday the 12th.
	dl, err := ksef.DefaultCalendar.Deadline(ksef.ModeOffline24, ksef.MustParseDate("2025-07-08"), []ksef.Period{
		{Mode: ksef.ModeEmergency, Announced: ksef.MustParseDate("2025-07-09"), End: ksef.MustParseDate("2025-07-12")},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(dl)
	// Output: 2025-07-22
}
