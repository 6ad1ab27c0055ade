package soak_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/posagent/posagent/internal/soak"
	"github.com/posagent/posagent/ksef/ksefsim"
	"github.com/posagent/posagent/outbox"
)

var (
	cycles   = flag.Int("soak.cycles", 100, "kill -9 cycles of the soak")
	maxAlive = flag.Duration("soak.alive", 400*time.Millisecond, "longest run of the agent before SIGKILL")
	// The drain waits out agent.DefaultSendGrace (2 min) for invoices a kill
	// left sending inside a batch whose session reference was not yet stored.
	drainMax = flag.Duration("soak.drain", 4*time.Minute, "longest final drain of the outbox")
	logDump  = flag.String("soak.logs", "", "write the agent's logs to this `file`")
)

// pending is a posted sale: its idempotency key and body index.
type pending struct {
	key string
	i   int
}

// TestSoakKill9 runs the whole agent (posagent run) against the KSeF
// simulator, posts sales from two tills while it prints and uploads, kills
// it with SIGKILL at random moments and restarts it, then checks the
// invariants of package soak and scans every log line for secrets.
func TestSoakKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("the soak builds and kills the real binary; skipped under -short")
	}
	sim, err := ksefsim.New(&ksefsim.Options{Tokens: map[string]string{soak.KSeFToken: soak.SellerNIP}, DisableRateLimits: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	// Every sale of the soak falls on one day, so retention archives none of
	// them: 1 000 cycles issue about 20 000 invoices, which would meet the
	// default 256 MiB cap and turn the soak into a store-full test (that one
	// is in the fault matrix). The cap is raised so the kills stay the subject.
	s := soak.NewSite(t, posagentBin(t), soak.SiteOptions{KSeFURL: srv.URL, CapMB: 1024})
	t.Cleanup(func() { dumpLogs(t, s) })

	seed := uint64(time.Now().UnixNano())
	t.Logf("soak: %d cycles, seed %d", *cycles, seed)
	rng := rand.New(rand.NewPCG(seed, 0x50a4))
	acks := map[string]soak.Acked{} // by idempotency key
	var unanswered []pending        // posted without an acknowledgement
	nextSale := counter()
	record := func(a soak.Acked, ok bool, err error, u pending) {
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			t.Fatalf("retry of %s got no answer from a running agent", u.key)
		}
		acks[a.Key] = a
	}
	started := time.Now()
	for c := range *cycles {
		if c > 0 && c%100 == 0 {
			t.Logf("soak: %d cycles in %v, %d sales acknowledged", c, time.Since(started).Round(time.Second), len(acks))
		}
		p := s.Start()
		// A real till retries an unacknowledged sale with the same key; the
		// oldest is retried at once, the others at the end.
		if len(unanswered) > 0 {
			u := unanswered[0]
			unanswered = unanswered[1:]
			a, ok, err := s.Post(u.key, u.i)
			record(a, ok, err, u)
		}
		killAt := time.Now().Add(time.Duration(rng.Int64N(int64(*maxAlive))))
		// Two tills post at once, so the kill lands inside commits, prints
		// and uploads alike.
		tl := startTills(s, "sale", nextSale, 0, nil)
		time.Sleep(time.Until(killAt))
		if err := p.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatalf("cycle %d: SIGKILL: %v", c, err)
		}
		tl.collect(t, c, acks, &unanswered)
		_ = p.Wait(t) // "signal: killed"
	}
	t.Logf("soak: %d cycles in %v, %d sales acknowledged, %d left unanswered by a kill",
		*cycles, time.Since(started).Round(time.Millisecond), len(acks), len(unanswered))
	if len(acks) < *cycles/2 {
		t.Fatalf("only %d sales acknowledged in %d cycles: the soak exercised too little", len(acks), *cycles)
	}

	// Final run: retry what was left in flight, then drain the outbox.
	p := s.Start()
	for _, u := range unanswered {
		a, ok, err := s.Post(u.key, u.i)
		record(a, ok, err, u)
	}
	drainStart := time.Now()
	for {
		n, err := s.Backlog()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Since(drainStart) > *drainMax {
			t.Fatalf("%d invoices still not accepted after %v\n%s", n, *drainMax, s.Tail())
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("soak: final drain took %v", time.Since(drainStart).Round(time.Millisecond))
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(t); err != nil {
		t.Errorf("posagent run after SIGTERM: %v, want a clean exit", err)
	}
	n, err := checkInvariants(s.StorePath(), sim.Invoices(), acks)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("invariants hold: %d invoices, %d acknowledged sales, numbers 1..%d, each accepted once", n, len(acks), n)
	scanSecrets(t, s)
}

func dumpLogs(t *testing.T, s *soak.Site) {
	if *logDump == "" {
		return
	}
	if err := os.WriteFile(*logDump, s.Logs(), 0o600); err != nil {
		t.Errorf("write logs: %v", err)
	}
}

// checkInvariants opens the store the agent left and compares it with the
// acknowledgements and the simulator. It returns the number of invoices.
func checkInvariants(path string, simInv []ksefsim.StoredInvoice, acks map[string]soak.Acked) (int, error) {
	all, err := storedInvoices(path)
	if err != nil {
		return 0, err
	}
	if err := checkSales(all, acks); err != nil {
		return 0, err
	}
	// The simulator holds each invoice exactly once, and each is accepted
	// with the KSeF number the store recorded.
	simByNumber := map[string]ksefsim.StoredInvoice{}
	for _, si := range simInv {
		if _, dup := simByNumber[si.InvoiceNumber]; dup {
			return 0, fmt.Errorf("%w: simulator accepted %s twice", soak.ErrInvariant, si.InvoiceNumber)
		}
		simByNumber[si.InvoiceNumber] = si
	}
	if len(simByNumber) != len(all) {
		return 0, fmt.Errorf("%w: simulator holds %d invoices, store %d", soak.ErrInvariant, len(simByNumber), len(all))
	}
	for _, inv := range all {
		si, ok := simByNumber[inv.Number]
		if !ok {
			return 0, fmt.Errorf("%w: %s not in the simulator", soak.ErrInvariant, inv.Number)
		}
		if inv.Upload != outbox.UploadAccepted || inv.KSeFNumber != si.KSeFNumber {
			return 0, fmt.Errorf("%w: %s is %s with KSeF number %q, simulator has %q", soak.ErrInvariant, inv.Number, inv.Upload, inv.KSeFNumber, si.KSeFNumber)
		}
		if si.Hash != inv.Hash.Base64() {
			return 0, fmt.Errorf("%w: %s: simulator holds other bytes than the store", soak.ErrInvariant, inv.Number)
		}
	}
	return len(all), nil
}

// scanSecrets fails when the logs of every run and CLI call hold key
// material or a token.
func scanSecrets(t *testing.T, s *soak.Site) {
	t.Helper()
	logs := s.Logs()
	if len(logs) == 0 {
		t.Fatal("no logs captured: the scan would prove nothing")
	}
	secrets, err := soak.KeyForms(s.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	secrets["KSeF token"] = soak.KSeFToken
	secrets["till token"] = soak.TillToken
	if err := soak.ScanSecrets(string(logs), secrets); err != nil {
		t.Fatal(err)
	}
	t.Logf("secret scan: %d bytes of logs clean of %d secret forms", len(logs), len(secrets))
}

// storedInvoices opens the store the agent left, runs its Check and lists
// every invoice.
func storedInvoices(path string) ([]outbox.Invoice, error) {
	ctx := context.Background()
	st, err := outbox.Open(path, &outbox.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	defer st.Close()
	if err := st.Check(ctx); err != nil {
		return nil, fmt.Errorf("%w: store check: %w", soak.ErrInvariant, err)
	}
	var all []outbox.Invoice
	after := ""
	for {
		page, err := st.List(ctx, outbox.Filter{After: after, Limit: 1000})
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if len(page) < 1000 {
			break
		}
		after = page[len(page)-1].ID
	}
	return all, nil
}

// checkSales holds that every acknowledged sale is stored exactly once with
// the number the till got, and that the numbering is 1..n without gaps.
func checkSales(all []outbox.Invoice, acks map[string]soak.Acked) error {
	// Every acknowledged sale present exactly once, with the number the till got.
	bySale := map[string][]outbox.Invoice{}
	for _, inv := range all {
		bySale[inv.SaleID] = append(bySale[inv.SaleID], inv)
	}
	for k, a := range acks {
		got := bySale[k]
		if len(got) != 1 {
			return fmt.Errorf("%w: acknowledged sale %s stored %d times", soak.ErrInvariant, k, len(got))
		}
		if got[0].Number != a.Number || got[0].ID != a.ID {
			return fmt.Errorf("%w: sale %s acknowledged as %s/%s, stored as %s/%s", soak.ErrInvariant, k, a.ID, a.Number, got[0].ID, got[0].Number)
		}
	}
	for k, invs := range bySale {
		if len(invs) != 1 {
			return fmt.Errorf("%w: sale key %s stored %d times", soak.ErrInvariant, k, len(invs))
		}
	}
	// Gap-free numbering without duplicates: sequence numbers 1..n.
	seqs := make([]uint64, 0, len(all))
	numbers := map[string]bool{}
	for _, inv := range all {
		seqs = append(seqs, inv.Seq)
		if numbers[inv.Number] {
			return fmt.Errorf("%w: number %s issued twice", soak.ErrInvariant, inv.Number)
		}
		numbers[inv.Number] = true
	}
	slices.Sort(seqs)
	for i, q := range seqs {
		if q != uint64(i+1) {
			return fmt.Errorf("%w: numbering has a gap or duplicate at position %d: seq %d", soak.ErrInvariant, i+1, q)
		}
	}
	return nil
}
