package agent_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/outbox"
)

// bigSale has n consumer lines; 10 000 of them (FA(3)'s maximum) make an
// XML well over KSeF's 1 MB.
func bigSale(n int) ksef.Sale {
	s := consumerSale()
	s.Lines = make([]ksef.Line, n)
	for i := range s.Lines {
		s.Lines[i] = line(fmt.Sprintf("Towar %d", i), "1", "1.00", "23")
	}
	return s
}

// TestIssueRefusesOversizedInvoice: a sale whose XML KSeF would refuse for
// its size is refused at issue, with the size and the limit, and uses no
// number: the next sale gets the first one.
func TestIssueRefusesOversizedInvoice(t *testing.T) {
	u := newUnit(t, nil)
	ctx := context.Background()
	_, err := u.agent.Issue(ctx, agent.IssueRequest{Key: "big", Sale: bigSale(ksef.MaxLines)})
	var se *ksef.SizeError
	if !errors.As(err, &se) || !errors.Is(err, agent.ErrInvalidRequest) || !errors.Is(err, ksef.ErrInvoiceTooLarge) {
		t.Fatalf("Issue(10 000 lines) = %v, want ErrInvalidRequest with a *ksef.SizeError", err)
	}
	if se.Limit != ksef.MaxInvoiceSize || se.Size <= se.Limit {
		t.Errorf("SizeError = %+v, want a size over the limit %d", se, ksef.MaxInvoiceSize)
	}
	if list, err := u.store.List(ctx, outbox.Filter{}); err != nil || len(list) != 0 {
		t.Fatalf("store holds %d invoices after the refusal (%v), want 0", len(list), err)
	}
	// Just under the limit is accepted: the check is on the bytes, not a
	// line count. 5 000 lines of this sale stay under 1 MB.
	v, err := u.agent.Issue(ctx, agent.IssueRequest{Key: "half", Sale: bigSale(ksef.MaxLines / 2)})
	if err != nil {
		t.Fatalf("Issue(5 000 lines) = %v", err)
	}
	inv, err := u.store.Get(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(inv.XML); n > ksef.MaxInvoiceSize || n < ksef.MaxInvoiceSize/3 {
		t.Errorf("5 000-line XML is %d bytes; the test wants it under %d and not tiny", n, ksef.MaxInvoiceSize)
	}
	if want := fmt.Sprintf("FV/T1/%d/000001", friday.Year()); v.Number != want {
		t.Errorf("number after the refusal = %s, want %s (no number used)", v.Number, want)
	}
}
