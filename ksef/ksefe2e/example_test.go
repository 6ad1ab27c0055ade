package ksefe2e_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/posagent/posagent/internal/simclock"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/ksef/ksefapi"
	"github.com/posagent/posagent/ksef/ksefsim"
)

// Example runs the whole path of one invoice: the simulator on a loopback
// port, a client logging in with a KSeF token, an FA(3) invoice sent in an
// interactive session, its KSeF number and its UPO.
func Example() {
	const nip, token = "5265877635", "example-token"
	// Both sides on one clock from a fixed working morning: the invoice is
	// sent on its issue day whatever day (or midnight) the example runs.
	now := simclock.Since(time.Date(2026, 11, 20, 10, 0, 0, 0, ksef.Warsaw))
	sim, err := ksefsim.New(&ksefsim.Options{Tokens: map[string]string{token: nip}, Now: now})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()

	c, err := ksefapi.New(ksefapi.Config{
		BaseURL: srv.URL + "/v2",
		Context: ksefapi.ContextIdentifier{Type: ksefapi.ContextNip, Value: nip},
		Auth:    ksefapi.TokenAuth{Token: token},
		Now:     now,
	})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	today := ksef.DateOf(now())
	inv := ksef.Invoice{
		Seller:      ksef.Seller{NIP: nip, Name: "Sklep", Address: ksef.Address{Country: "PL", Line1: "ul. Polna 1"}},
		Number:      "FV/2026/11/000001",
		GeneratedAt: now(),
		Sale: ksef.Sale{
			Buyer:     ksef.Buyer{Kind: ksef.BuyerConsumer},
			Lines:     []ksef.Line{{Name: "Kawa", Quantity: ksef.MustParseQuantity("1"), UnitPrice: ksef.MustParseAmount("12.30"), VATRate: ksef.Rate23}},
			IssueDate: today,
		},
	}
	xml, err := inv.XML()
	if err != nil {
		panic(err)
	}

	s, err := c.OpenOnline(ctx) // logs in on first use
	if err != nil {
		panic(err)
	}
	ref, err := s.Send(ctx, xml, ksefapi.SendOptions{})
	if err != nil {
		panic(err)
	}
	st, err := c.InvoiceStatus(ctx, s.Reference, ref)
	if err != nil {
		panic(err)
	}
	k, err := ksef.ParseKSeFNumber(st.KsefNumber)
	fmt.Println("status:", st.Code(), st.InvoicingMode)
	fmt.Println("KSeF number valid:", err == nil && k.NIP == nip)

	upo, _, err := c.DownloadUPO(ctx, st.UpoDownloadURL)
	if err != nil {
		panic(err)
	}
	d, _ := upo.Document(st.KsefNumber)
	fmt.Println("UPO:", d.InvoiceNumber, d.InvoicingMode)
	// Output:
	// status: 200 Online
	// KSeF number valid: true
	// UPO: FV/2026/11/000001 Online
}
