package soak

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/posagent/posagent/certstore"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/outbox"
)

// Seller is the seller of every Site's configuration.
var Seller = ksef.Seller{
	NIP:     SellerNIP,
	Name:    "Stacja Soak Sp. z o.o.",
	Address: ksef.Address{Country: "PL", Line1: "ul. Testowa 1", Line2: "00-001 Warszawa"},
}

// Prefill issues up to n offline24 invoices straight into the store at path,
// the way the agent does during an outage (same FA(3) XML, KOD I, KOD II
// signed by cert, and the agent's snapshot format), and marks their receipts
// printed: the backlog an outage leaves, without rendering its receipts. It
// stops at the first error (ErrStoreFull when opts caps the size) and
// returns how many invoices it issued.
func Prefill(ctx context.Context, path string, cert *certstore.Cert, n int, opts *outbox.Options) (int, error) {
	st, err := outbox.Open(path, opts)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	var (
		wg       sync.WaitGroup
		issued   atomic.Int64
		errOnce  sync.Once
		firstErr error
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan int)
	// Four writers keep bbolt's single writer busy while XML is built.
	for range 4 {
		wg.Go(func() {
			for i := range work {
				if _, err := IssueOne(ctx, st, cert, i, time.Now()); err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					return
				}
				issued.Add(1)
			}
		})
	}
feed:
	for i := range n {
		select {
		case work <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	return int(issued.Load()), firstErr
}

// Series is the numbering series of every Site.
var Series = outbox.Series{Terminal: Terminal, Format: Numbering, Reset: outbox.Reset("never")}

// IssueOne issues sale i at now as an offline24 invoice, as the agent would,
// and marks its receipt printed.
func IssueOne(ctx context.Context, st *outbox.Store, cert *certstore.Cert, i int, now time.Time) (*outbox.Invoice, error) {
	var sale ksef.Sale
	if err := json.Unmarshal(SaleBody(i), &sale); err != nil {
		return nil, err
	}
	sale.IssueDate = ksef.DateOf(now)
	inv := ksef.Invoice{Seller: Seller, GeneratedAt: now, SystemInfo: "posagent", Sale: sale}
	rec, _, err := st.Issue(ctx, outbox.IssueRequest{
		SaleID: fmt.Sprintf("backlog-%06d", i), Series: Series, Now: now,
		Build: func(number string) (*outbox.Built, error) {
			inv := inv
			inv.Number = number
			xml, err := inv.XML()
			if err != nil {
				return nil, err
			}
			tot, err := inv.Totals()
			if err != nil {
				return nil, err
			}
			h := ksef.InvoiceHash(xml)
			kod2, err := ksef.KOD2(ksef.EnvTest, ksef.CtxNip, SellerNIP, SellerNIP, h, cert)
			if err != nil {
				return nil, err
			}
			// The agent's snapshot (agent/issue.go): version 1 and the invoice.
			doc, err := json.Marshal(map[string]any{"v": 1, "invoice": inv})
			if err != nil {
				return nil, err
			}
			return &outbox.Built{XML: xml, KOD1: ksef.KOD1(ksef.EnvTest, SellerNIP, sale.IssueDate, h), KOD2: kod2,
				Mode: ksef.ModeOffline24.String(), Deadline: now.Add(48 * time.Hour), BuyerClass: "consumer",
				P1: sale.IssueDate.String(), Kind: "VAT", Gross: int64(tot.Gross), VAT: int64(tot.VAT), Doc: doc}, nil
		},
	})
	if err != nil {
		return nil, fmt.Errorf("issue %d: %w", i, err)
	}
	return rec, st.MarkPrinted(ctx, rec.PrintJobID)
}
