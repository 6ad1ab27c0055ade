package ksefsim_test

import (
	"testing"

	"github.com/posagent/posagent/ksef/ksefsim"
)

// TestFaultLoseReply: the request is served (the session closes), but the
// client gets a broken connection instead of the 204; FaultDrop, for
// contrast, never lets the request reach the handler.
func TestFaultLoseReply(t *testing.T) {
	tests := []struct {
		kind       ksefsim.FaultKind
		wantClosed bool
	}{
		{ksefsim.FaultLoseReply, true},
		{ksefsim.FaultDrop, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			e := newEnv(t, nil)
			access := e.login()
			s := e.openOnline(access)
			closePath := "/v2/sessions/online/" + s.ref + "/close"
			if err := e.sim.InjectFault(ksefsim.Fault{Kind: tt.kind, Count: 1, PathPrefix: closePath}); err != nil {
				t.Fatal(err)
			}
			if r, err := e.try("POST", closePath, access, nil); err == nil {
				t.Fatalf("close answered %d through a %s fault", r.status, tt.kind)
			}
			var st struct {
				Status struct{ Code int }
			}
			r := e.do("GET", "/v2/sessions/"+s.ref, access, nil)
			e.want(r, 200, "SessionStatusResponse")
			r.json(t, &st)
			if closed := st.Status.Code != 100; closed != tt.wantClosed {
				t.Fatalf("session status %d after the fault; closed %v, want %v", st.Status.Code, closed, tt.wantClosed)
			}
		})
	}
}
