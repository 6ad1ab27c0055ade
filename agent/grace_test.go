package agent_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/ksef/ksefapi"
	"github.com/posagent/posagent/outbox"
)

// TestSendGraceFromRecord: a record left sending that its session does not
// hold is not resent until SendGrace has passed since the LastSendAt stored
// on the record (the event log is for people only), then resent once.
func TestSendGraceFromRecord(t *testing.T) {
	u := newUnit(t, func(o *agent.Options) { o.SendGrace = time.Minute })
	ctx := context.Background()
	v, err := u.agent.Issue(ctx, agent.IssueRequest{Key: "g", Sale: consumerSale()})
	if err != nil {
		t.Fatal(err)
	}
	if err := u.store.MarkSending(ctx, v.ID, "S-OLD"); err != nil { // a previous run's send
		t.Fatal(err)
	}
	var sends atomic.Int32
	okAPI(u, func(string) ([]byte, error) { return []byte("<UPO/>"), nil })
	u.api.SendInvoiceFunc = func(context.Context, *ksefapi.OnlineSession, []byte, ksefapi.SendOptions) (string, error) {
		sends.Add(1)
		return "I2", nil
	}
	u.api.AllInvoicesFunc = func(context.Context, string, bool) ([]ksefapi.InvoiceStatus, error) {
		return nil, nil // KSeF's session does not hold it (yet)
	}
	u.run(t)
	waitFor(t, "session list asked a few times", 5*time.Second, func() bool { return u.api.CallCount("AllInvoices") >= 3 })
	if n := sends.Load(); n != 0 {
		t.Fatalf("%d resends within the grace, want 0", n)
	}
	if inv, _ := u.store.Get(ctx, v.ID); inv.Upload != outbox.UploadSending || !inv.LastSendAt.Equal(friday.UTC()) {
		t.Fatalf("within the grace: %s, last send %v; want sending since %v", inv.Upload, inv.LastSendAt, friday.UTC())
	}
	u.clock.Add(2 * time.Minute)
	waitFor(t, "resent and accepted", 5*time.Second, func() bool {
		inv, _ := u.store.Get(ctx, v.ID)
		return inv.Upload == outbox.UploadAccepted
	})
	inv, _ := u.store.Get(ctx, v.ID)
	if n := sends.Load(); n != 1 || inv.Attempts != 2 || !inv.LastSendAt.After(friday) {
		t.Errorf("after the grace: %d sends, %d attempts, last send %v; want one resend", n, inv.Attempts, inv.LastSendAt)
	}
}
