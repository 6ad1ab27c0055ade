package tilltest_test

import (
	"context"
	"errors"
	"testing"

	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/till"
	"github.com/posagent/posagent/till/tilltest"
)

func TestCoreIdempotency(t *testing.T) {
	ctx := context.Background()
	c := tilltest.New()
	sale := ksef.Sale{Buyer: ksef.Buyer{Kind: ksef.BuyerConsumer}, IssueDate: ksef.MustParseDate("2026-11-21"),
		Lines: []ksef.Line{{Name: "Kawa", Quantity: ksef.MustParseQuantity("1"), UnitPrice: ksef.MustParseAmount("9.99"), VATRate: ksef.Rate23}}}
	first, err := c.Issue(ctx, till.IssueRequest{Key: "k", Body: []byte("a"), Sale: sale})
	if err != nil || first.Replayed {
		t.Fatalf("Issue = %+v, %v", first, err)
	}
	// Another raw body of the same sale is a replay: keys bind the decoded sale.
	again, err := c.Issue(ctx, till.IssueRequest{Key: "k", Body: []byte("b"), Sale: sale})
	if err != nil || !again.Replayed || again.ID != first.ID {
		t.Errorf("replay = %+v, %v; want the first invoice replayed", again, err)
	}
	other := sale
	other.Lines = []ksef.Line{sale.Lines[0]}
	other.Lines[0].Quantity = ksef.MustParseQuantity("2")
	if _, err := c.Issue(ctx, till.IssueRequest{Key: "k", Body: []byte("a"), Sale: other}); !errors.Is(err, till.ErrKeyConflict) {
		t.Errorf("reused key = %v, want ErrKeyConflict", err)
	}
	if _, err := c.Issue(ctx, till.IssueRequest{Key: "k2", Body: []byte("c")}); !errors.Is(err, ksef.ErrInvalidSale) {
		t.Errorf("empty sale = %v, want ErrInvalidSale", err)
	}
	if got, want := c.Stored(), 1; got != want {
		t.Errorf("Stored() = %d, want %d", got, want)
	}
	if got, want := c.Calls("Issue"), 4; got != want {
		t.Errorf("Calls(Issue) = %d, want %d", got, want)
	}
	if _, err := c.Invoice(ctx, "nope"); !errors.Is(err, till.ErrNotFound) {
		t.Errorf("Invoice(nope) = %v, want ErrNotFound", err)
	}
	if err := c.SetMode(ctx, "warp"); !errors.Is(err, till.ErrInvalidMode) {
		t.Errorf("SetMode(warp) = %v, want ErrInvalidMode", err)
	}
}
