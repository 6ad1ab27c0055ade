package agent_test

import (
	"context"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/ksef/ksefapi"
	"github.com/posagent/posagent/outbox"
)

// TestSendFailureClassified: a send that got a complete HTTP answer (5xx,
// 4xx) is over, so the record is queued again at once behind the backoff and
// resent long before SendGrace; a send whose outcome is unknown (transport
// failure) stays sending, is resolved by asking KSeF for the session's
// invoices, and is resent only after SendGrace.
func TestSendFailureClassified(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		answered bool
		wantCode string // the code of the retry event
	}{
		{"503", &ksefapi.APIError{Op: "send invoice", Status: 503, Description: "Service Unavailable"}, true, "503"},
		{"500-html", &ksefapi.APIError{Op: "send invoice", Status: 500, Err: io.ErrUnexpectedEOF}, true, "500"},
		{"408", &ksefapi.APIError{Op: "send invoice", Status: 408}, true, "408"},
		{"400", &ksefapi.APIError{Op: "send invoice", Status: 400, Codes: []int{21405}}, true, "21405"},
		{"dropped", &ksefapi.APIError{Op: "send invoice", Err: io.ErrUnexpectedEOF}, false, ""},
		{"timeout", &ksefapi.APIError{Op: "send invoice", Err: context.DeadlineExceeded}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newUnit(t, func(o *agent.Options) { o.SendGrace = time.Hour })
			ctx := context.Background()
			v, err := u.agent.Issue(ctx, agent.IssueRequest{Key: "f", Sale: consumerSale()})
			if err != nil {
				t.Fatal(err)
			}
			var sends atomic.Int32
			okAPI(u, func(string) ([]byte, error) { return []byte("<UPO/>"), nil })
			u.api.SendInvoiceFunc = func(context.Context, *ksefapi.OnlineSession, []byte, ksefapi.SendOptions) (string, error) {
				if sends.Add(1) == 1 {
					return "", tt.err
				}
				return "I2", nil
			}
			u.api.AllInvoicesFunc = func(context.Context, string, bool) ([]ksefapi.InvoiceStatus, error) {
				return nil, nil // the session does not hold it (yet)
			}
			u.run(t)
			waitFor(t, "the first send", 5*time.Second, func() bool { return sends.Load() >= 1 })
			// Classified before the clock moves: requeued, or left sending.
			want := outbox.UploadSending
			if tt.answered {
				want = outbox.UploadQueued
			}
			waitFor(t, "the failed send settled as "+string(want), 5*time.Second, func() bool {
				inv, _ := u.store.Get(ctx, v.ID)
				return inv.Upload == want && inv.Attempts == 1
			})
			u.clock.Add(time.Second) // past any backoff, well within the grace
			if tt.answered {
				waitFor(t, "resent and accepted within the grace", 5*time.Second, func() bool {
					inv, _ := u.store.Get(ctx, v.ID)
					return inv.Upload == outbox.UploadAccepted
				})
				inv, _ := u.store.Get(ctx, v.ID)
				if n := sends.Load(); n != 2 || inv.Attempts != 2 {
					t.Errorf("%d sends, %d attempts; want 2 each", n, inv.Attempts)
				}
				if !hasEvent(inv, "retry", tt.wantCode) {
					t.Errorf("no retry event with code %s: %+v", tt.wantCode, inv.Events)
				}
				return
			}
			waitFor(t, "the session asked", 5*time.Second, func() bool { return u.api.CallCount("AllInvoices") >= 2 })
			if n := sends.Load(); n != 1 {
				t.Fatalf("%d sends within the grace after an unknown outcome, want 1", n)
			}
			if inv, _ := u.store.Get(ctx, v.ID); inv.Upload != outbox.UploadSending {
				t.Fatalf("after an unknown outcome: %s, want sending", inv.Upload)
			}
			u.clock.Add(2 * time.Hour)
			waitFor(t, "resent after the grace and accepted", 5*time.Second, func() bool {
				inv, _ := u.store.Get(ctx, v.ID)
				return inv.Upload == outbox.UploadAccepted
			})
			if n := sends.Load(); n != 2 {
				t.Errorf("%d sends, want 2", n)
			}
		})
	}
}

func hasEvent(inv *outbox.Invoice, what, code string) bool {
	for _, e := range inv.Events {
		if len(e.What) >= len(what) && e.What[:len(what)] == what && e.Code == code {
			return true
		}
	}
	return false
}
