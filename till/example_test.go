package till_test

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/posagent/posagent/till"
	"github.com/posagent/posagent/till/tilltest"
)

func ExampleDecodeSale() {
	_, err := till.DecodeSale([]byte(`{"buyer":{"kind":"consumer"},"lines":[{"name":"Kawa","quantity":"2","unit_price":"12.305","vat_rate":"23"}],"issue_date":"2026-11-21"}`))
	var p *till.Problem
	if errors.As(err, &p) {
		fmt.Println(p.Status, p.Code, p.Errors[0].Field)
	}
	// Output:
	// 400 too_many_decimals lines[0].unit_price
}

func ExampleServer_Handler() {
	srv, err := till.New(tilltest.New(), till.Options{})
	if err != nil {
		panic(err)
	}
	body := `{"buyer":{"kind":"consumer"},"lines":[{"name":"Kawa","quantity":"2","unit_price":"12.30","vat_rate":"23"}],"issue_date":"2026-11-21"}`
	for range 2 {
		req := httptest.NewRequest("POST", "/v1/sales", strings.NewReader(body))
		req.Host = "127.0.0.1:8080"
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "till-7/sale-1024")
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		fmt.Printf("%d Location=%q Idempotent-Replayed=%q\n", rec.Code, rec.Header().Get("Location"), rec.Header().Get("Idempotent-Replayed"))
	}
	// Output:
	// 201 Location="/v1/invoices/00000001" Idempotent-Replayed=""
	// 200 Location="" Idempotent-Replayed="true"
}
