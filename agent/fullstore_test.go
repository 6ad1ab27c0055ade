package agent_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/escpos"
	"github.com/posagent/posagent/ksef/ksefsim"
	"github.com/posagent/posagent/outbox"
)

// TestFullStoreDrains: an outage fills a 2 MiB store until Issue fails with
// ErrStoreFull; once KSeF is back the agent uploads the whole queue in batch
// sessions (marking it sending in chunks that fit), every invoice is
// accepted with its UPO and KSeF holds each once; afterwards sales are taken
// again.
func TestFullStoreDrains(t *testing.T) {
	e := newEnv(t, nil)
	e.MaxSize = 2 << 20
	if err := e.sim.InjectFault(ksefsim.Fault{Kind: ksefsim.FaultDrop, Count: ksefsim.Forever, PathPrefix: "/v2"}); err != nil {
		t.Fatal(err)
	}
	native, err := escpos.LookupProfile("tm-t88v")
	if err != nil {
		t.Fatal(err)
	}
	mod := func(o *agent.Options) {
		o.UploadTotalFailure = true // the backlog is sent after the failure (opt-in)
		o.Logger = slog.New(slog.DiscardHandler)
		o.Profile = native
		o.TempDir = t.TempDir()
		o.BatchThreshold = 10
	}
	x := e.start(mod, false)
	if err := x.agent.Announce(context.Background(), agent.Announcement{Mode: "total_failure", Reference: "komunikat MF (test)"}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	var full error
	for i := range 5000 {
		got, err := x.agent.Issue(context.Background(), agent.IssueRequest{Key: fmt.Sprint("full-", i), Sale: consumerSale()})
		if err != nil {
			full = err
			break
		}
		ids = append(ids, got.ID)
	}
	if !errors.Is(full, agent.ErrStoreFull) || len(ids) < 20 {
		t.Fatalf("after %d sales: %v; want agent.ErrStoreFull after at least 20", len(ids), full)
	}
	room, err := x.store.Room()
	if err != nil || !room.NearFull() {
		t.Fatalf("Room() = %+v, %v; want near full", room, err)
	}
	t.Logf("store full after %d invoices: %d of %d B used, sales limit %d", len(ids), room.Used, room.Capacity, room.SalesLimit)
	x.stop()
	e.sim.ClearFaults()

	y := e.start(mod, true)
	y.flush(2 * time.Minute)
	for _, id := range ids {
		if inv := y.get(id); inv.Upload != outbox.UploadAccepted || len(inv.UPO) == 0 {
			t.Fatalf("%s after the drain: %s, UPO %d B; want accepted with its UPO", id, inv.Upload, len(inv.UPO))
		}
	}
	if got := len(e.sim.Invoices()); got != len(ids) {
		t.Errorf("simulator holds %d invoices, want %d", got, len(ids))
	}
	if _, err := y.agent.Issue(context.Background(), agent.IssueRequest{Key: "after-drain", Sale: consumerSale()}); err != nil {
		t.Errorf("Issue after the queue drained = %v, want room again", err)
	}
}
