package ksefapitest_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/posagent/posagent/ksef/ksefapi"
	"github.com/posagent/posagent/ksef/ksefapi/ksefapitest"
)

func TestUnsetFunctionErrors(t *testing.T) {
	var c ksefapitest.Client
	if _, err := c.OpenOnline(context.Background()); !errors.Is(err, ksefapitest.ErrNotSet) {
		t.Fatalf("OpenOnline() err = %v, want ErrNotSet", err)
	}
	if got := c.CallCount("OpenOnline"); got != 1 {
		t.Fatalf("CallCount = %d, want 1", got)
	}
}

// Example shows a fake that makes the first send hit a full session, the way
// an agent test would exercise "open a new session on 21155".
func Example() {
	sessions := 0
	c := &ksefapitest.Client{
		OpenOnlineFunc: func(ctx context.Context) (*ksefapi.OnlineSession, error) {
			sessions++
			return &ksefapi.OnlineSession{Reference: fmt.Sprintf("session-%d", sessions)}, nil
		},
		SendInvoiceFunc: func(ctx context.Context, s *ksefapi.OnlineSession, xml []byte, opts ksefapi.SendOptions) (string, error) {
			if s.Reference == "session-1" {
				return "", &ksefapi.APIError{Status: 400, Codes: []int{ksefapi.CodeSessionFull}}
			}
			return "invoice-ref-1", nil
		},
	}
	ctx := context.Background()
	s, _ := c.OpenOnline(ctx)
	_, err := c.SendInvoice(ctx, s, []byte("<Faktura/>"), ksefapi.SendOptions{})
	if errors.Is(err, ksefapi.ErrSessionFull) {
		s, _ = c.OpenOnline(ctx)
		ref, _ := c.SendInvoice(ctx, s, []byte("<Faktura/>"), ksefapi.SendOptions{})
		fmt.Println(s.Reference, ref)
	}
	// Output: session-2 invoice-ref-1
}
