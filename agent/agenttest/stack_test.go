package agenttest_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/agent/agenttest"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/outbox"
	"github.com/posagent/posagent/printer"
)

func sale() ksef.Sale {
	return ksef.Sale{Buyer: ksef.Buyer{Kind: ksef.BuyerConsumer},
		Lines: []ksef.Line{{Name: "Kawa", Unit: "szt.", Quantity: ksef.MustParseQuantity("2"),
			UnitPrice: ksef.MustParseAmount("12.30"), VATRate: ksef.Rate23}},
		Payment: &ksef.Payment{Form: ksef.PayCard, Paid: true}}
}

// TestStack: a sale made offline is printed through the virtual printer,
// survives a restart on the same store, and is uploaded to the simulator
// once KSeF is back.
func TestStack(t *testing.T) {
	e := agenttest.NewEnv(t, nil)
	e.Down()
	s := e.Start(agenttest.WithOptions(func(o *agent.Options) { o.Place = "Płock" }))
	if s.Options.Place != "Płock" || s.Options.Seller.NIP != agenttest.Seller.NIP {
		t.Errorf("options: place %q seller %s, want the edit over the defaults", s.Options.Place, s.Options.Seller.NIP)
	}
	v := s.Issue("k1", sale())
	agenttest.WaitFor(t, "print", time.Second, func() bool { return s.Get(v.ID).Print == outbox.PrintPrinted })
	jobs := s.Printer.Jobs()
	if len(jobs) != 1 || s.Virtual.Written() == 0 {
		t.Fatalf("printer got %d jobs, device %d bytes; want 1 job that reached the device", len(jobs), s.Virtual.Written())
	}
	// The worker streams, so the agent hands over the head and the codes
	// apart, as in production.
	if whole, err := jobs[0].Bytes(); !s.Printer.StreamsTail() || jobs[0].Tail == nil || err != nil || len(whole) <= len(jobs[0].Data) {
		t.Errorf("streams %v, tail set %v, Bytes() error %v: want a head and a tail", s.Printer.StreamsTail(), jobs[0].Tail != nil, err)
	}
	s.Stop()
	s.Stop() // idempotent
	if _, err := s.Store.Get(context.Background(), v.ID); err == nil {
		t.Error("store still open after Stop")
	}

	e.Sim.ClearFaults()
	r := e.Start()
	if got := r.Get(v.ID); got.Number != v.Number || got.Upload == outbox.UploadAccepted {
		t.Fatalf("after restart: %s %s, want %s not yet accepted", got.Number, got.Upload, v.Number)
	}
	r.Flush(10 * time.Second)
	if inv := e.Sim.Invoices(); len(inv) != 1 || inv[0].InvoiceNumber != v.Number {
		t.Errorf("simulator holds %+v, want %s", inv, v.Number)
	}
}

// TestNoScheduler: without Run nothing uploads on its own. The receipt Issue
// hands to the worker itself still prints, and the worker's journal records
// it, as in production.
func TestNoScheduler(t *testing.T) {
	s := agenttest.NewStack(t, agenttest.NoScheduler())
	v := s.Issue("k1", sale())
	time.Sleep(300 * time.Millisecond) // several upload and print intervals
	if inv := s.Get(v.ID); inv.Upload == outbox.UploadAccepted {
		t.Errorf("upload %s without a scheduler", inv.Upload)
	}
	agenttest.WaitFor(t, "the journal's printed mark", 0, func() bool { return s.Get(v.ID).Print == outbox.PrintPrinted })
	if n := len(s.Sim.Invoices()); n != 0 {
		t.Errorf("simulator holds %d invoices", n)
	}
}

func TestClock(t *testing.T) {
	var c agenttest.Clock
	if d := time.Since(c.Now()); d < 0 || d > time.Minute {
		t.Errorf("zero Clock is %v off real time", d)
	}
	c.Add(24 * time.Hour)
	if d := time.Until(c.Now()); d < 23*time.Hour || d > 25*time.Hour {
		t.Errorf("after Add(24h) the clock is %v ahead", d)
	}
	at := time.Date(2026, 11, 20, 12, 0, 0, 0, ksef.Warsaw)
	c.Set(at)
	c.Add(time.Hour)
	if got, want := c.Now(), at.Add(time.Hour); !got.Equal(want) {
		t.Errorf("Now() = %v, want %v", got, want)
	}
}

type failPrinter struct{ agent.Printer }

func (failPrinter) Submit(context.Context, printer.Job) error { return errors.New("jammed") }

func TestPrinter(t *testing.T) {
	var p agenttest.Printer
	data := []byte{0x1b, 0x40}
	if err := p.Submit(context.Background(), printer.Job{ID: "1", Data: data}); err != nil {
		t.Fatal(err)
	}
	data[0] = 0 // the recorded copy must not change with the caller's buffer
	if got := p.Jobs(); len(got) != 1 || got[0].ID != "1" || got[0].Data[0] != 0x1b {
		t.Errorf("Jobs() = %+v", got)
	}
	if !p.State().Connected || p.StreamsTail() {
		t.Errorf("a Printer without Next: connected %v streams %v, want true false", p.State().Connected, p.StreamsTail())
	}
	q := agenttest.Printer{Next: failPrinter{}}
	if err := q.Submit(context.Background(), printer.Job{ID: "2"}); err == nil || len(q.Jobs()) != 1 {
		t.Errorf("Submit = %v with %d jobs recorded, want Next's error and the job recorded", err, len(q.Jobs()))
	}
}

func ExampleClock() {
	c := agenttest.NewClock(time.Date(2026, 11, 20, 12, 0, 0, 0, ksef.Warsaw))
	c.Add(3 * 24 * time.Hour)
	fmt.Println(c.Now().Weekday(), ksef.DateOf(c.Now()))
	// Output: Monday 2026-11-23
}
