//go:build linux

package soak_test

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/posagent/posagent/internal/soak"
	"github.com/posagent/posagent/internal/testutil"
	"github.com/posagent/posagent/ksef/ksefsim"
	"github.com/posagent/posagent/outbox"
)

var (
	pacedCycles = flag.Int("soak.paced.cycles", 6, "kill -9 cycles of the paced soak (make soak-paced runs more)")
	pacedWindow = flag.Duration("soak.paced.window", 3*time.Second, "printer.reprint_window of the paced soak")
	pacedAlive  = flag.Duration("soak.paced.alive", 2500*time.Millisecond, "longest run of the agent before SIGKILL in the paced soak")
	pacedPause  = flag.Duration("soak.paced.pause", 4*time.Second, "longest pause between a kill and the restart in the paced soak")
	pacedEvery  = flag.Duration("soak.paced.every", time.Second, "how often each of the two tills posts a sale in the paced soak")
	pacedBaud   = flag.Int("soak.paced.baud", 9600, "line rate of the paced soak's serial printer")
	pacedPaper  = flag.String("soak.paced.paper", "", "write what reached the paced soak's printer to this `file`")
)

// TestSoakKill9Paced is the kill -9 soak of issue 16 with a paced printer: a
// serial printer on a pty, which the agent opens through go.bug.st/serial
// and writes at 9600 baud, as a receipt printer's line runs. Two tills post
// sales a little faster than the printer prints them; the agent is killed
// at random moments (inside receipts too) and restarted after a random
// pause, so a restart finds receipts both younger and older than
// printer.reprint_window (3 s here, so a short run meets both). Before
// each till burst and once in the middle of it, with the tills held, it
// checks that printer.pending of /v1/status is the store's count (the
// invoices GET /v1/invoices?state=print_pending lists). In the end it
// prints a DUPLIKAT of up to three receipts listed uncertain, and parses
// everything that reached the printer: no invoice has a second receipt
// without a mark, every invoice was printed in full or is listed uncertain,
// and every invoice the store calls printed has a whole receipt on paper.
func TestSoakKill9Paced(t *testing.T) {
	if testing.Short() {
		t.Skip("the paced soak builds and kills the real binary; skipped under -short")
	}
	prn, ok := soak.NewPTYPrinter(t)
	if !ok {
		if testutil.InCI() {
			t.Fatal("CI=true: the paced soak needs a pty (/dev/ptmx)")
		}
		t.Skip("no pty on this host")
	}
	sim, err := ksefsim.New(&ksefsim.Options{Tokens: map[string]string{soak.KSeFToken: soak.SellerNIP}, DisableRateLimits: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	s := soak.NewSite(t, posagentBin(t), soak.SiteOptions{KSeFURL: srv.URL, LogLevel: "info", PrinterPort: prn.Path,
		PrinterExtra: fmt.Sprintf("baud = %d\nhandshake = \"none\"\nqr = \"native\"\nreprint_window = %q\n", *pacedBaud, pacedWindow.String())})
	t.Cleanup(func() { dumpLogs(t, s) })

	seed := uint64(time.Now().UnixNano())
	t.Logf("paced soak: %d cycles at %d baud, reprint window %v, seed %d", *pacedCycles, *pacedBaud, *pacedWindow, seed)
	rng := rand.New(rand.NewPCG(seed, 0x16))
	acks := map[string]soak.Acked{}
	var unanswered []pending
	samples := 0
	// sample checks printer.pending against the store's count while the
	// tills are held. A receipt may come out between two reads; the count
	// read before and after the status must agree for the sample to count.
	sample := func(what string) {
		t.Helper()
		for try := 0; ; try++ {
			before, err := s.Invoices("print_pending")
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			got, err := s.PrintPending()
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			after, err := s.Invoices("print_pending")
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if len(before) != len(after) {
				if try == 50 {
					t.Fatalf("%s: the store's count kept moving (%d, then %d)", what, len(before), len(after))
				}
				continue
			}
			if got != len(before) {
				t.Fatalf("%s: printer.pending %d, the store holds %d receipts to print", what, got, len(before))
			}
			samples++
			return
		}
	}

	nextSale := counter()
	started := time.Now()
	for c := range *pacedCycles {
		p := s.Start()
		sample(fmt.Sprintf("cycle %d start", c))
		if len(unanswered) > 0 {
			u := unanswered[0]
			unanswered = unanswered[1:]
			a, ok, err := s.Post(u.key, u.i)
			if err != nil || !ok {
				t.Fatalf("cycle %d: retry of %s: answered %v, %v", c, u.key, ok, err)
			}
			acks[a.Key] = a
		}
		alive := time.Duration(rng.Int64N(int64(*pacedAlive)))
		killAt := time.Now().Add(alive)
		var hold sync.RWMutex // the tills post under RLock; a sample holds them
		tl := startTills(s, "paced", nextSale, *pacedEvery, &hold)
		if alive > time.Second {
			time.Sleep(alive / 2)
			hold.Lock()
			sample(fmt.Sprintf("cycle %d, tills held", c))
			hold.Unlock()
		}
		time.Sleep(time.Until(killAt))
		if err := p.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatalf("cycle %d: SIGKILL: %v", c, err)
		}
		tl.collect(t, c, acks, &unanswered)
		_ = p.Wait(t)
		time.Sleep(time.Duration(rng.Int64N(int64(*pacedPause))))
	}
	t.Logf("paced soak: %d cycles in %v, %d sales acknowledged, %d unanswered by a kill",
		*pacedCycles, time.Since(started).Round(time.Millisecond), len(acks), len(unanswered))

	// Final run: retry the unanswered sales, let the receipts still due come
	// out at the printer's pace, then reprint a few uncertain ones.
	p := s.Start()
	for _, u := range unanswered {
		a, ok, err := s.Post(u.key, u.i)
		if err != nil || !ok {
			t.Fatalf("final retry of %s: answered %v, %v", u.key, ok, err)
		}
		acks[a.Key] = a
	}
	// With duplicates queued printer.pending counts them too, while the list
	// of print_pending holds originals only: those waits do not sample.
	waitPrinted := func(what string, check bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Minute)
		for {
			if check {
				sample(what)
			}
			n, err := s.PrintPending()
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d receipts still to print after 5 min\n%s", what, n, s.Tail())
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	waitPrinted("final drain", true)
	uncertain, err := s.Invoices("print_uncertain")
	if err != nil {
		t.Fatal(err)
	}
	parked, reprinted := len(uncertain), min(3, len(uncertain))
	for _, u := range uncertain[:reprinted] {
		if err := s.Reprint(u.ID); err != nil {
			t.Fatal(err)
		}
	}
	waitPrinted("duplicates", false)
	sample("after the duplicates")
	if uncertain, err = s.Invoices("print_uncertain"); err != nil {
		t.Fatal(err)
	}
	listed, err := s.Invoices("")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(t); err != nil {
		t.Errorf("posagent run after SIGTERM: %v, want a clean exit", err)
	}

	all, err := storedInvoices(s.StorePath())
	if err != nil {
		t.Fatal(err)
	}
	if err := checkSales(all, acks); err != nil {
		t.Fatal(err)
	}
	if len(listed) != len(all) {
		t.Fatalf("the till API lists %d invoices, the store holds %d", len(listed), len(all))
	}
	isUncertain := map[string]bool{}
	for _, u := range uncertain {
		isUncertain[u.Number] = true
	}
	facts := make([]soak.PrintFacts, 0, len(all))
	for _, inv := range all {
		if (inv.Print == outbox.PrintUncertain) != isUncertain[inv.Number] {
			t.Errorf("%s: print state %s in the store, listed uncertain %v", inv.Number, inv.Print, isUncertain[inv.Number])
		}
		facts = append(facts, soak.PrintFacts{Number: inv.Number, Printed: inv.Print == outbox.PrintPrinted, Uncertain: isUncertain[inv.Number]})
	}
	paper := prn.Bytes()
	if *pacedPaper != "" {
		if err := os.WriteFile(*pacedPaper, paper, 0o600); err != nil {
			t.Error(err)
		}
	}
	receipts := soak.ScanReceipts(paper)
	tally, err := soak.CheckPrints(receipts, facts)
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(all, func(inv outbox.Invoice) bool { return inv.Print == outbox.PrintPending }) {
		t.Error("a receipt is still pending after the final drain")
	}
	t.Logf("paced soak holds: %d invoices, %d acknowledged sales; %d parked uncertain, %d of them reprinted as DUPLIKAT; %v; "+
		"printer.pending matched the store at %d samples; %d bytes reached the printer (%v at %d baud)",
		len(all), len(acks), parked, reprinted, tally, samples, len(paper), time.Duration(len(paper)*10)*time.Second/time.Duration(*pacedBaud), *pacedBaud)
	scanSecrets(t, s)
}
