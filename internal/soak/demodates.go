package soak

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/outbox"
)

// DemoWindow bounds how far a demo's clock runs from its --date: posagent
// demo gives up after 50 s.
const DemoWindow = time.Minute

// CheckDemoAt checks a demo run with --date start: CheckDemo, and then what
// the dates must be, taken from its output (demo.json, the XML files, and
// the store it leaves in DIR/state), never from today:
//
//   - P_1 is a Warsaw day the demo's clock passed through;
//   - each number carries the year and month of its P_1, and the sequence
//     numbers of each month run 1..n (a monthly series starts again);
//   - the exported XML is the stored bytes, with that P_1, and KOD I names
//     the seller, P_1 and the SHA-256 of those bytes;
//   - the stored deadline is the one cal gives for the mode and P_1;
//   - KSeF accepted it no earlier than its P_1, on one of those days.
func CheckDemoAt(path string, start time.Time, cal *ksef.Calendar) (*DemoReport, error) {
	r, err := CheckDemo(path)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	st, err := outbox.Open(filepath.Join(dir, "state", "outbox.db"), &outbox.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("%w: the demo's store: %w", ErrDemo, err)
	}
	defer st.Close()
	lookup := func(number string) (*outbox.Invoice, error) { return st.ByNumber(context.Background(), number) }
	if err := checkDemoDates(r, dir, lookup, start, start.Add(DemoWindow), cal); err != nil {
		return nil, err
	}
	return r, nil
}

// checkDemoDates checks r's invoices (files under dir, records by lookup)
// issued by a clock that ran from from to to; it reports every violation.
func checkDemoDates(r *DemoReport, dir string, lookup func(number string) (*outbox.Invoice, error), from, to time.Time, cal *ksef.Calendar) error {
	first, last := ksef.DateOf(from), ksef.DateOf(to)
	var errs []error
	fail := func(number, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s: %s", ErrDemo, number, fmt.Sprintf(format, args...)))
	}
	seqs := map[string][]int{} // by the number without its sequence
	for _, inv := range r.Invoices {
		p1, err := ksef.ParseDate(inv.P1)
		if err != nil {
			fail(inv.Number, "p1: %v", err)
			continue
		}
		if p1.Before(first) || p1.After(last) {
			fail(inv.Number, "P_1 %s, want a day of the demo's clock (%s to %s)", p1, first, last)
		}
		if !strings.Contains(inv.Number, fmt.Sprintf("/%04d/%02d/", p1.Year, int(p1.Month))) {
			fail(inv.Number, "the number does not carry the year and month of P_1 %s", p1)
		}
		i := strings.LastIndex(inv.Number, "/")
		seq, err := strconv.Atoi(inv.Number[i+1:])
		if err != nil {
			fail(inv.Number, "no sequence number at its end")
		} else {
			seqs[inv.Number[:i+1]] = append(seqs[inv.Number[:i+1]], seq)
		}

		stored, err := lookup(inv.Number)
		if err != nil {
			fail(inv.Number, "not in the demo's store: %v", err)
			continue
		}
		xml, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(inv.File)))
		if err != nil {
			fail(inv.Number, "%v", err)
		} else if !bytes.Equal(xml, stored.XML) {
			fail(inv.Number, "%s differs from the stored XML", inv.File)
		}
		if stored.P1 != inv.P1 || !bytes.Contains(stored.XML, []byte("<P_1>"+inv.P1+"</P_1>")) {
			fail(inv.Number, "the store has P_1 %s, want %s in the record and its XML", stored.P1, inv.P1)
		}
		if k, err := ksef.ParseKOD1(inv.KOD1); err != nil {
			fail(inv.Number, "KOD I: %v", err)
		} else if k.Hash != ksef.InvoiceHash(stored.XML) || k.P1 != p1 || k.SellerNIP != r.SellerNIP {
			fail(inv.Number, "KOD I names %s, %s and %x, want %s, %s and the SHA-256 of the stored XML", k.SellerNIP, k.P1, k.Hash, r.SellerNIP, p1)
		}
		mode, err := ksef.ParseMode(inv.Mode)
		if err != nil {
			fail(inv.Number, "%v", err)
			continue
		}
		// The demo announces no unavailability, so no mode needs periods.
		want, err := cal.Deadline(mode, p1, nil)
		if err != nil {
			fail(inv.Number, "the calendar's deadline: %v", err)
		} else if at, ok := want.Instant(); ok != !stored.Deadline.IsZero() || (ok && !stored.Deadline.Equal(at)) {
			fail(inv.Number, "%s deadline %v, the calendar's is %s", inv.Mode, stored.Deadline, want)
		}
		if kn, err := ksef.ParseKSeFNumber(inv.KSeFNumber); err != nil {
			fail(inv.Number, "%v", err)
		} else if kn.Date.Before(p1) || kn.Date.After(last) {
			fail(inv.Number, "accepted on %s, want from P_1 %s to %s", kn.Date, p1, last)
		}
	}
	for period, s := range seqs {
		slices.Sort(s)
		for i, n := range s {
			if n != i+1 {
				errs = append(errs, fmt.Errorf("%w: %s…: sequence numbers %v, want 1..%d", ErrDemo, period, s, len(s)))
				break
			}
		}
	}
	return errors.Join(errs...)
}
