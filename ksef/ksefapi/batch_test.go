package ksefapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/posagent/posagent/ksef/ksefapi"
)

// TestBatchErrorStages: every failure of SendBatch is a *BatchError that
// names the step that failed and the session KSeF opened, and says whether
// KSeF may still process that session: never once the close was not sent or
// was refused, possibly once it may have reached KSeF.
func TestBatchErrorStages(t *testing.T) {
	closePath := "/v2/sessions/batch/" + fakeBatchRef + "/close"
	statusPath := "/v2/sessions/" + fakeBatchRef
	drop := func(w http.ResponseWriter) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}
	tests := []struct {
		name       string
		path       string // the request the fault hits; "" for none
		fault      func(f *fakeKSeF, w http.ResponseWriter)
		onOpenErr  error
		partSize   int64
		wantStage  ksefapi.BatchStage
		wantRef    bool
		wantMay    bool
		wantRetry  bool
		wantCloses int
	}{
		{name: "bad part size", partSize: ksefapi.DefaultBatchPart + 1, wantStage: ksefapi.BatchPrepare},
		{name: "open 500", path: "/v2/sessions/batch",
			fault:     func(_ *fakeKSeF, w http.ResponseWriter) { http.Error(w, "boom", 500) },
			wantStage: ksefapi.BatchOpen, wantRetry: true},
		{name: "open dropped", path: "/v2/sessions/batch", fault: func(_ *fakeKSeF, w http.ResponseWriter) { drop(w) },
			wantStage: ksefapi.BatchOpen, wantRetry: true},
		{name: "OnOpen fails", onOpenErr: errors.New("store full"), wantStage: ksefapi.BatchOpen, wantRef: true},
		{name: "upload 500", path: "/upload/1", fault: func(_ *fakeKSeF, w http.ResponseWriter) { http.Error(w, "boom", 500) },
			wantStage: ksefapi.BatchUpload, wantRef: true, wantRetry: true},
		{name: "upload dropped", path: "/upload/1", fault: func(_ *fakeKSeF, w http.ResponseWriter) { drop(w) },
			wantStage: ksefapi.BatchUpload, wantRef: true, wantRetry: true},
		{name: "upload refused", path: "/upload/1", fault: func(_ *fakeKSeF, w http.ResponseWriter) { w.WriteHeader(403) },
			wantStage: ksefapi.BatchUpload, wantRef: true},
		{name: "close refused 21205", path: closePath,
			fault: func(f *fakeKSeF, w http.ResponseWriter) {
				f.problem(w, 400, 21205, "Nie przesłano zadeklarowanej części pliku.")
			},
			wantStage: ksefapi.BatchClose, wantRef: true, wantCloses: 1},
		{name: "close rate limited", path: closePath,
			fault: func(_ *fakeKSeF, w http.ResponseWriter) {
				w.Header().Set("Retry-After", "3")
				w.WriteHeader(http.StatusTooManyRequests)
			},
			wantStage: ksefapi.BatchClose, wantRef: true, wantRetry: true, wantCloses: 1},
		{name: "close 21180 session not open", path: closePath,
			fault: func(f *fakeKSeF, w http.ResponseWriter) {
				f.problem(w, 400, 21180, "Status sesji 200 uniemożliwia jej zamknięcie.")
			},
			wantStage: ksefapi.BatchClose, wantRef: true, wantMay: true, wantCloses: 1},
		{name: "close 502", path: closePath,
			fault: func(_ *fakeKSeF, w http.ResponseWriter) {
				w.WriteHeader(http.StatusBadGateway)
				w.Write([]byte("<html>502</html>"))
			},
			wantStage: ksefapi.BatchClose, wantRef: true, wantMay: true, wantRetry: true, wantCloses: 1},
		{name: "close dropped", path: closePath, fault: func(_ *fakeKSeF, w http.ResponseWriter) { drop(w) },
			wantStage: ksefapi.BatchClose, wantRef: true, wantMay: true, wantRetry: true, wantCloses: 1},
		{name: "status refused", path: statusPath,
			fault:     func(f *fakeKSeF, w http.ResponseWriter) { f.problem(w, 400, 21173, "Brak sesji.") },
			wantStage: ksefapi.BatchPoll, wantRef: true, wantMay: true, wantCloses: 1},
		{name: "session failed 445", path: statusPath,
			fault: func(f *fakeKSeF, w http.ResponseWriter) {
				f.reply(w, 200, "SessionStatusResponse", map[string]any{"dateCreated": "2026-11-21T12:00:00Z", "dateUpdated": "2026-11-21T12:00:00Z",
					"status": map[string]any{"code": 445, "description": "Błąd weryfikacji, brak poprawnych faktur"}})
			},
			wantStage: ksefapi.BatchPoll, wantRef: true, wantMay: true, wantCloses: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			c := authed(t, f)
			if tt.fault != nil {
				f.setHook(func(w http.ResponseWriter, r *http.Request) bool {
					if r.URL.Path != tt.path {
						return false
					}
					tt.fault(f, w)
					return true
				})
			}
			opts := ksefapi.BatchOptions{TempDir: t.TempDir(), PartSize: tt.partSize}
			if tt.onOpenErr != nil {
				opts.OnOpen = func(context.Context, string) error { return tt.onOpenErr }
			}
			invoices := func(yield func(string, []byte) bool) { yield("fv-1.xml", []byte("<Faktura/>")) }
			res, err := c.SendBatch(context.Background(), invoices, opts)
			var be *ksefapi.BatchError
			if !errors.As(err, &be) {
				t.Fatalf("SendBatch() = %+v, %v; want a *BatchError", res, err)
			}
			wantRef := ""
			if tt.wantRef {
				wantRef = fakeBatchRef
			}
			if be.Stage != tt.wantStage || be.Ref != wantRef {
				t.Errorf("stage %q ref %q, want %q %q", be.Stage, be.Ref, tt.wantStage, wantRef)
			}
			if (res != nil && res.Reference != wantRef) || (res == nil) == tt.wantRef {
				t.Errorf("result %+v, want reference %q", res, wantRef)
			}
			if got := be.MayProcess(); got != tt.wantMay {
				t.Errorf("MayProcess() = %v, want %v", got, tt.wantMay)
			}
			if got := be.Retryable(); got != tt.wantRetry {
				t.Errorf("Retryable() = %v, want %v (cause %v)", got, tt.wantRetry, be.Err)
			}
			if got := ksefapi.Retryable(err); got != tt.wantRetry {
				t.Errorf("ksefapi.Retryable(err) = %v, want %v", got, tt.wantRetry)
			}
			if got := f.count("POST " + closePath); got != tt.wantCloses {
				t.Errorf("%d close requests, want %d", got, tt.wantCloses)
			}
			if tt.onOpenErr != nil && !errors.Is(err, tt.onOpenErr) {
				t.Errorf("err %v does not wrap the OnOpen error", err)
			}
			if !strings.HasPrefix(err.Error(), "ksefapi: batch ") || !strings.Contains(err.Error(), string(tt.wantStage)) {
				t.Errorf("Error() = %q, want the ksefapi prefix and the stage", err)
			}
		})
	}
}

// The cause stays reachable: sentinels and typed errors under a BatchError.
func TestBatchErrorUnwrap(t *testing.T) {
	tests := []struct {
		name   string
		err    *ksefapi.BatchError
		target error
	}{
		{"invalid input", &ksefapi.BatchError{Stage: ksefapi.BatchPrepare, Err: ksefapi.ErrInvalidInput}, ksefapi.ErrInvalidInput},
		{"unauthorized", &ksefapi.BatchError{Ref: "R", Stage: ksefapi.BatchClose, Err: &ksefapi.APIError{Status: 401}}, ksefapi.ErrUnauthorized},
		{"cancelled", &ksefapi.BatchError{Ref: "R", Stage: ksefapi.BatchUpload, Err: &ksefapi.APIError{Err: context.Canceled}}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !errors.Is(tt.err, tt.target) {
				t.Errorf("errors.Is(%v, %v) = false", tt.err, tt.target)
			}
		})
	}
	// A cancelled upload is not worth a retry, but KSeF cannot process it.
	cancelled := tests[2].err
	if cancelled.Retryable() || cancelled.MayProcess() {
		t.Errorf("cancelled upload: Retryable %v MayProcess %v, want false false", cancelled.Retryable(), cancelled.MayProcess())
	}
	// A 401 on the close (after the client's one refresh) is a refusal.
	if tests[1].err.MayProcess() {
		t.Error("close answered 401: MayProcess() = true, want false")
	}
	if got, want := (&ksefapi.BatchError{Ref: "R", Stage: ksefapi.BatchClose, Err: errors.New("ksefapi: x")}).Error(), "ksefapi: batch session R, close: x"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func ExampleBatchError() {
	err := error(&ksefapi.BatchError{Ref: "20250625-SB-2C3E6C8000-B675CF5D68-07", Stage: ksefapi.BatchUpload,
		Err: &ksefapi.APIError{Op: "upload part 1", Status: 503}})
	var be *ksefapi.BatchError
	if errors.As(err, &be) && !be.MayProcess() {
		// The close was never sent: KSeF will not process this session.
		fmt.Println("send again now:", be.Stage, be.Retryable())
	}
	// Output: send again now: upload true
}
