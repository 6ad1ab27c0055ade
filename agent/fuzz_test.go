package agent_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/internal/testutil"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/outbox"
)

// FuzzIssue feeds till JSON through Issue: a sale is either refused with
// ErrInvalidRequest and nothing stored, or stored with KOD I binding the
// stored bytes.
func FuzzIssue(f *testing.F) {
	for _, s := range []ksef.Sale{consumerSale(), b2bSale(), euSale(), uprSale()} {
		b, _ := json.Marshal(s)
		f.Add(b)
	}
	for _, name := range []string{"consumer.json", "polish-letters.json", "mixed-rates.json"} {
		if b, err := os.ReadFile(testutil.RepoRoot() + "/ksef/testdata/" + name); err == nil {
			var inv struct {
				Sale json.RawMessage `json:"sale"`
			}
			if json.Unmarshal(b, &inv) == nil && inv.Sale != nil {
				f.Add([]byte(inv.Sale))
			}
		}
	}
	f.Add([]byte(`{"lines":[{"name":"x","quantity":"-1","unit_price":"1","vat_rate":"23"}]}`))
	f.Add([]byte(`{"buyer":{"kind":"nip","nip":"1234567890"},"lines":[]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var s ksef.Sale
		if json.Unmarshal(body, &s) != nil {
			return
		}
		u := newUnit(t, nil)
		ctx := context.Background()
		v, err := u.agent.Issue(ctx, agent.IssueRequest{Key: "fuzz", Body: body, Sale: s})
		list, lerr := u.store.List(ctx, outbox.Filter{})
		if lerr != nil {
			t.Fatal(lerr)
		}
		if err != nil {
			if !errors.Is(err, agent.ErrInvalidRequest) {
				t.Fatalf("Issue = %v, want ErrInvalidRequest", err)
			}
			if len(list) != 0 {
				t.Fatalf("refused sale left %d records", len(list))
			}
			return
		}
		inv, err := u.store.Get(ctx, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		k, err := ksef.ParseKOD1(inv.KOD1)
		if err != nil || k.Hash != ksef.InvoiceHash(inv.XML) || fmt.Sprint(inv.Hash) != v.Hash {
			t.Fatalf("KOD I %q does not bind the stored XML (%v)", inv.KOD1, err)
		}
	})
}
