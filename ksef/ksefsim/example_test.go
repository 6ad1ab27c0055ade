package ksefsim_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/posagent/posagent/ksef/ksefsim"
)

func ExampleServer() {
	sim, err := ksefsim.New(&ksefsim.Options{Tokens: map[string]string{"my-ksef-token": "5265877635"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()

	status := func() {
		resp, err := http.Get(srv.URL + "/latarnia/status")
		if err != nil {
			fmt.Println(err)
			return
		}
		defer resp.Body.Close()
		var st struct {
			Status   string
			Messages []ksefsim.LatarniaMessage
		}
		if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(st.Status, len(st.Messages))
	}
	status()
	_ = sim.SetAvailability(ksefsim.StatusMaintenance, "Prace serwisowe")
	status()
	// Output:
	// AVAILABLE 0
	// MAINTENANCE 1
}

func ExampleServer_InjectFault() {
	sim, err := ksefsim.New(nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	_ = sim.InjectFault(ksefsim.Fault{Kind: ksefsim.FaultHTML502, Count: 1, PathPrefix: "/v2/auth/"})
	for i := 0; i < 2; i++ {
		resp, err := http.Post(srv.URL+"/v2/auth/challenge", "application/json", nil)
		if err != nil {
			fmt.Println(err)
			return
		}
		resp.Body.Close()
		fmt.Println(resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// Output:
	// 502 text/html; charset=utf-8
	// 200 application/json
}

func ExampleParseInvoice() {
	doc := `<?xml version="1.0" encoding="UTF-8"?>
<Faktura xmlns="http://crd.gov.pl/wzor/2025/06/25/13775/">
  <Naglowek><KodFormularza kodSystemowy="FA (3)" wersjaSchemy="1-0E">FA</KodFormularza></Naglowek>
  <Podmiot1><DaneIdentyfikacyjne><NIP>5265877635</NIP></DaneIdentyfikacyjne></Podmiot1>
  <Fa><P_1>2026-03-10</P_1><P_2>FV/1/2026</P_2><RodzajFaktury>VAT</RodzajFaktury></Fa>
</Faktura>`
	f, err := ksefsim.ParseInvoice([]byte(doc))
	fmt.Println(f.SellerNIP, f.Kind, f.Number, f.IssueDate, err)
	_, err = ksefsim.ParseInvoice([]byte("\xEF\xBB\xBF" + doc))
	fmt.Println(err)
	// Output:
	// 5265877635 VAT FV/1/2026 2026-03-10 <nil>
	// ksefsim: invoice file verification failed: UTF-8 byte order mark is not allowed
}
