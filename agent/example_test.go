package agent_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/certstore"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/ksef/ksefapi/ksefapitest"
	"github.com/posagent/posagent/outbox"
)

func ExampleAgent_Issue() {
	dir, _ := os.MkdirTemp("", "agent-example")
	defer os.RemoveAll(dir)
	now := func() time.Time { return time.Date(2026, 11, 20, 12, 0, 0, 0, ksef.Warsaw) } // a Friday
	store, err := outbox.Open(filepath.Join(dir, "outbox.db"), &outbox.Options{Now: now})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()
	certPEM, keyPEM, _ := certstore.Generate(certstore.Offline, "5265877635", certstore.KeyEC, now().Add(-time.Hour), 365*24*time.Hour)
	offline, err := certstore.Parse(certstore.Offline, append(certPEM, keyPEM...), "", now())
	if err != nil {
		fmt.Println(err)
		return
	}
	a, err := agent.New(agent.Options{
		Seller: ksef.Seller{NIP: "5265877635", Name: "Stacja Paliw Przykład sp. z o.o.",
			Address: ksef.Address{Country: "PL", Line1: "ul. Przykładowa 1", Line2: "00-001 Warszawa"}},
		Series:      outbox.Series{Terminal: "T1", Format: "FV/{terminal}/{yyyy}/{seq:06}"},
		Environment: ksef.EnvTest,
		Now:         now,
	}, agent.Deps{Store: store, KSeF: &ksefapitest.Client{}, Printer: &fakePrinter{}, Signer: offline})
	if err != nil {
		fmt.Println(err)
		return
	}
	sale := ksef.Sale{
		Buyer: ksef.Buyer{Kind: ksef.BuyerConsumer},
		Lines: []ksef.Line{{Name: "Kawa", Unit: "szt.", Quantity: ksef.MustParseQuantity("2"),
			UnitPrice: ksef.MustParseAmount("12.30"), VATRate: ksef.Rate23}},
		Payment: &ksef.Payment{Form: ksef.PayCard, Paid: true},
	}
	v, err := a.Issue(context.Background(), agent.IssueRequest{Key: "till-1/0001", Sale: sale})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(v.Number, v.Mode, v.KOD1Label, v.KOD2 != "")
	fmt.Println("gross", v.Gross, "VAT", v.VAT, "deadline", v.Deadline, "upload", v.UploadState)
	// Output:
	// FV/T1/2026/000001 offline24 OFFLINE true
	// gross 24.60 VAT 4.60 deadline 2026-11-23 upload queued
}
