package agent_test

import (
	"context"
	"fmt"
	"iter"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/agent/agenttest"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/ksef/ksefapi"
	"github.com/posagent/posagent/ksef/ksefsim"
	"github.com/posagent/posagent/outbox"
)

// callLog counts the requests the simulator served, by "METHOD path": it is
// the simulator's logger (one record per request). Requests a fault cut off
// before the handler are not served and not counted.
type callLog struct {
	mu sync.Mutex
	n  map[string]int
}

func (l *callLog) Enabled(context.Context, slog.Level) bool { return true }

func (l *callLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "ksefsim request" {
		return nil
	}
	var method, path string
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "method":
			method = a.Value.String()
		case "path":
			path = a.Value.String()
		}
		return true
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n[method+" "+path]++
	return nil
}

func (l *callLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *callLog) WithGroup(string) slog.Handler      { return l }

// count is how many requests were exactly call.
func (l *callLog) count(call string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n[call]
}

// prefixed is how many requests started with prefix.
func (l *callLog) prefixed(prefix string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for c, k := range l.n {
		if strings.HasPrefix(c, prefix) {
			n += k
		}
	}
	return n
}

// batchEnv is newEnv whose simulator has a clock of its own (real time
// until Add moves it apart from the agent's) and logs every request it
// serves into a callLog.
func batchEnv(t *testing.T) (*env, *callLog, *agenttest.Clock) {
	t.Helper()
	simClock := &agenttest.Clock{}
	calls := &callLog{n: map[string]int{}}
	e := newEnv(t, &ksefsim.Options{Now: simClock.Now, Logger: slog.New(calls)})
	return e, calls, simClock
}

// TestBatchFailureSettles: a batch session that failed after KSeF opened it
// is settled by what KSeF can still do with it, not by SendGrace (an hour
// here, so a test that waits it out times out). A session whose close was
// never sent, or was refused, is never processed: its invoices go again in
// the next round. A session whose close may have reached KSeF is asked
// about: the records wait while it is open, are settled from its list once
// it is final, and are resent only after that or after the grace. In the
// end KSeF holds every invoice exactly once.
func TestBatchFailureSettles(t *testing.T) {
	if testing.Short() {
		t.Skip("several agent runs against the simulator")
	}
	const (
		n     = 5
		grace = time.Hour
	)
	closePrefix := "/v2/sessions/batch/" // the close only: the open is /v2/sessions/batch
	tests := []struct {
		name  string
		fault ksefsim.Fault
		// hold: the close may have reached KSeF and the session stays open;
		// the records must stay sending, unsent, while the agent asks.
		hold bool
		// advanceSim moves KSeF's clock past the upload window after hold
		// (the open session is cancelled, 440); advanceAgent moves the
		// agent's clock past SendGrace instead.
		advanceSim, advanceAgent time.Duration
		// wantOpens is how many batch sessions open in all; 0 leaves it
		// open: records whose grace ends within one round may be resent
		// a few at a time, below the batch threshold, online.
		wantOpens, wantAttempts int
	}{
		{name: "upload dropped", fault: ksefsim.Fault{Kind: ksefsim.FaultDrop, PathPrefix: "/blob/batch/"},
			wantOpens: 2, wantAttempts: 2},
		{name: "upload 500", fault: ksefsim.Fault{Kind: ksefsim.Fault500, PathPrefix: "/blob/batch/"},
			wantOpens: 2, wantAttempts: 2},
		{name: "close rate limited", fault: ksefsim.Fault{Kind: ksefsim.Fault429, PathPrefix: closePrefix, Delay: time.Second},
			wantOpens: 2, wantAttempts: 2},
		{name: "close reply lost", fault: ksefsim.Fault{Kind: ksefsim.FaultLoseReply, PathPrefix: closePrefix},
			wantOpens: 1, wantAttempts: 1},
		{name: "close dropped, session cancelled", fault: ksefsim.Fault{Kind: ksefsim.FaultDrop, PathPrefix: closePrefix},
			hold: true, advanceSim: 21 * time.Minute, wantOpens: 2, wantAttempts: 2},
		{name: "close dropped, grace passes", fault: ksefsim.Fault{Kind: ksefsim.FaultDrop, PathPrefix: closePrefix},
			hold: true, advanceAgent: grace + time.Minute, wantAttempts: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, calls, simClock := batchEnv(t)
			mod := func(o *agent.Options) { o.BatchThreshold, o.SendGrace, o.TempDir = n, grace, t.TempDir() }
			// The backlog is issued with the scheduler off, then the next
			// run sends it in one batch that meets the fault.
			x := e.start(mod, false)
			var ids []string
			for i := range n {
				ids = append(ids, x.issue(fmt.Sprint("bf-", i), consumerSale()).ID)
			}
			x.stop()
			tt.fault.Count = 1
			if err := e.sim.InjectFault(tt.fault); err != nil {
				t.Fatal(err)
			}
			y := e.start(mod, true)
			waitFor(t, "the first batch session", 0, func() bool { return y.get(ids[0]).SessionRef != "" })
			first := y.get(ids[0]).SessionRef
			if tt.hold {
				statusCall := "GET /v2/sessions/" + first
				waitFor(t, "KSeF asked about the session three times", 0, func() bool { return calls.count(statusCall) >= 3 })
				for _, id := range ids {
					if inv := y.get(id); inv.Upload != outbox.UploadSending || inv.Attempts != 1 || inv.SessionRef != first {
						t.Fatalf("%s while its session is open: %s, %d attempts, session %q; want sending once in %s",
							inv.Number, inv.Upload, inv.Attempts, inv.SessionRef, first)
					}
				}
				if got := calls.count("POST /v2/sessions/batch"); got != 1 {
					t.Fatalf("%d batch sessions opened while the first may still be processed, want 1", got)
				}
				if got := len(e.sim.Invoices()); got != 0 {
					t.Fatalf("KSeF holds %d invoices of a session never closed", got)
				}
				simClock.Add(tt.advanceSim)
				e.clock.Add(tt.advanceAgent)
			}
			waitFor(t, "every invoice accepted", 0, func() bool {
				for _, id := range ids {
					if y.get(id).Upload != outbox.UploadAccepted {
						return false
					}
				}
				return true
			})

			held := simByNumber(e.sim)
			if len(held) != n {
				t.Errorf("KSeF holds %d invoices, want %d", len(held), n)
			}
			for _, id := range ids {
				inv := y.get(id)
				s, ok := held[inv.Number]
				switch {
				case !ok:
					t.Errorf("%s accepted as %s but not in KSeF", inv.Number, inv.KSeFNumber)
				case s.KSeFNumber != inv.KSeFNumber || s.Receipts != 1:
					t.Errorf("%s: KSeF has %s received %d times; record says %s; want it once", inv.Number, s.KSeFNumber, s.Receipts, inv.KSeFNumber)
				}
				if inv.Attempts != tt.wantAttempts {
					t.Errorf("%s: %d attempts, want %d", inv.Number, inv.Attempts, tt.wantAttempts)
				}
				if (inv.SessionRef == first) != (tt.wantAttempts == 1) {
					t.Errorf("%s accepted in session %s (first %s) after %d attempts", inv.Number, inv.SessionRef, first, inv.Attempts)
				}
			}
			if tt.wantOpens == 0 {
				return
			}
			if got := calls.count("POST /v2/sessions/batch"); got != tt.wantOpens {
				t.Errorf("%d batch sessions opened, want %d", got, tt.wantOpens)
			}
			if got := calls.prefixed("POST /v2/sessions/online"); got != 0 {
				t.Errorf("%d online session calls, want the backlog in batches only", got)
			}
		})
	}
}

// TestBatchSessionStatusSettles: records left sending in a batch session
// whose close may have reached KSeF, and missing from its invoice list, wait
// while KSeF calls the session open or processing (or cannot be asked), and
// are settled from the list once KSeF calls it final — the list read again
// after that answer, since one read before it may predate the end of the
// processing. A final session without them means they never arrived: they
// are sent again at once, with SendGrace (an hour here) far from over.
func TestBatchSessionStatusSettles(t *testing.T) {
	tests := []struct {
		name      string
		code      int   // the session status KSeF reports
		statusErr error // or the status call fails
		// holds: the list holds the invoices once the session is final.
		holds        bool
		wantAccepted bool
		wantResend   bool
	}{
		{name: "processing keeps the grace", code: ksefapi.SessionProcessing},
		{name: "open keeps the grace", code: ksefapi.SessionOpen},
		{name: "status unavailable keeps the grace", statusErr: &ksefapi.APIError{Op: "session status", Status: 503}},
		{name: "processed: settled from the list read again", code: ksefapi.SessionDone, holds: true, wantAccepted: true},
		{name: "processed without them: sent again", code: ksefapi.SessionDone, wantResend: true},
		{name: "cancelled: sent again", code: 440, wantResend: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newUnit(t, func(o *agent.Options) { o.BatchThreshold, o.SendGrace = 2, time.Hour })
			ctx := context.Background()
			ids := u.issueConsumer(t, "s", 2)
			// A previous round's batch: opened as BS-1, its close unanswered.
			if _, err := u.store.MarkSendingBatch(ctx, ids, "B1"); err != nil {
				t.Fatal(err)
			}
			if _, err := u.store.SetSessionRef(ctx, ids, "B1", "BS-1"); err != nil {
				t.Fatal(err)
			}
			okAPI(u, func(string) ([]byte, error) { return []byte("<UPO/>"), nil })
			var final atomic.Bool
			u.api.SessionStatusFunc = func(_ context.Context, ref string) (*ksefapi.SessionStatus, error) {
				if ref != "BS-1" {
					t.Errorf("status of session %q, want BS-1", ref)
				}
				if tt.statusErr != nil {
					return nil, tt.statusErr
				}
				final.Store(tt.code >= ksefapi.SessionDone)
				return &ksefapi.SessionStatus{Status: ksefapi.StatusInfo{Code: tt.code}}, nil
			}
			u.api.AllInvoicesFunc = func(context.Context, string, bool) ([]ksefapi.InvoiceStatus, error) {
				if !final.Load() || !tt.holds {
					return nil, nil
				}
				acq := u.clock.Now()
				var out []ksefapi.InvoiceStatus
				for i, id := range ids {
					inv, err := u.store.Get(ctx, id)
					if err != nil {
						return nil, err
					}
					out = append(out, ksefapi.InvoiceStatus{InvoiceHash: inv.Hash.Base64(), ReferenceNumber: fmt.Sprint("I-", i),
						KsefNumber: ksef.NewKSeFNumber(sellerNIP, acq, [6]byte{byte(i)}), AcquisitionDate: &acq,
						Status: ksefapi.StatusInfo{Code: ksefapi.InvoiceSuccess}})
				}
				return out, nil
			}
			var resends atomic.Int32
			u.api.SendBatchFunc = func(context.Context, iter.Seq2[string, []byte], ksefapi.BatchOptions) (*ksefapi.BatchResult, error) {
				resends.Add(1)
				return nil, &ksefapi.BatchError{Stage: ksefapi.BatchOpen, Err: &ksefapi.APIError{Op: "open batch session", Status: 503}}
			}
			u.run(t)

			switch {
			case tt.wantResend:
				waitFor(t, "the batch sent again", 0, func() bool { return resends.Load() > 0 })
			case tt.wantAccepted:
				waitFor(t, "both accepted", 0, func() bool {
					for _, id := range ids {
						if inv, _ := u.store.Get(ctx, id); inv.Upload != outbox.UploadAccepted {
							return false
						}
					}
					return true
				})
			default:
				waitFor(t, "KSeF asked three times", 0, func() bool { return u.api.CallCount("SessionStatus") >= 3 })
			}
			for i, id := range ids {
				inv, err := u.store.Get(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				switch {
				case tt.wantAccepted:
					if inv.Attempts != 1 || inv.InvoiceRef != fmt.Sprint("I-", i) || inv.KSeFNumber == "" {
						t.Errorf("%s: %d attempts, reference %q, KSeF %q; want accepted from BS-1 without a resend",
							inv.Number, inv.Attempts, inv.InvoiceRef, inv.KSeFNumber)
					}
				case !tt.wantResend:
					if inv.Upload != outbox.UploadSending || inv.Attempts != 1 {
						t.Errorf("%s within the grace: %s after %d attempts, want sending once", inv.Number, inv.Upload, inv.Attempts)
					}
				}
			}
			if got := resends.Load(); !tt.wantResend && got != 0 {
				t.Errorf("%d resends, want none", got)
			}
		})
	}
}

// TestBatchWithoutSessionRequeued: records marked sending for a batch whose
// run stopped before the session was recorded (no reference) are sent again
// at once: SendBatch closes a session only after OnOpen recorded it, so KSeF
// never processes one it was not told about. A record sending with neither
// batch nor session keeps the grace.
func TestBatchWithoutSessionRequeued(t *testing.T) {
	u := newUnit(t, func(o *agent.Options) { o.BatchThreshold, o.SendGrace = 2, time.Hour })
	ctx := context.Background()
	ids := u.issueConsumer(t, "w", 3)
	if _, err := u.store.MarkSendingBatch(ctx, ids[:2], "B1"); err != nil { // the run stopped here
		t.Fatal(err)
	}
	if err := u.store.MarkSending(ctx, ids[2], ""); err != nil {
		t.Fatal(err)
	}
	okAPI(u, func(string) ([]byte, error) { return []byte("<UPO/>"), nil })
	var mu sync.Mutex
	var sent []string
	u.api.SendBatchFunc = func(_ context.Context, files iter.Seq2[string, []byte], _ ksefapi.BatchOptions) (*ksefapi.BatchResult, error) {
		mu.Lock()
		defer mu.Unlock()
		for name := range files {
			sent = append(sent, strings.TrimSuffix(name, ".xml"))
		}
		return nil, &ksefapi.BatchError{Stage: ksefapi.BatchOpen, Err: &ksefapi.APIError{Op: "open batch session", Status: 503}}
	}
	u.run(t)
	waitFor(t, "the batch sent again", 0, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(sent) >= 2
	})
	mu.Lock()
	got := append([]string(nil), sent[:2]...)
	mu.Unlock()
	if got[0] != ids[0] || got[1] != ids[1] {
		t.Errorf("sent again %v, want the batch's %v", got, ids[:2])
	}
	if inv, _ := u.store.Get(ctx, ids[2]); inv.Upload != outbox.UploadSending || inv.Attempts != 1 {
		t.Errorf("record with no batch and no session: %s after %d attempts, want sending within the grace", inv.Upload, inv.Attempts)
	}
	if n := u.api.CallCount("SendInvoice"); n != 0 {
		t.Errorf("%d online sends, want none", n)
	}
}

// issueConsumer issues n consumer sales keyed prefix0, prefix1, … and
// returns their IDs.
func (u *unit) issueConsumer(t testing.TB, prefix string, n int) []string {
	t.Helper()
	ids := make([]string, 0, n)
	for i := range n {
		v, err := u.agent.Issue(context.Background(), agent.IssueRequest{Key: fmt.Sprint(prefix, i), Sale: consumerSale()})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, v.ID)
	}
	return ids
}
