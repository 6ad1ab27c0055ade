package till_test

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/posagent/posagent/till"
	"github.com/posagent/posagent/till/tilltest"
)

// BenchmarkPostSale measures the till's own cost per sale (strict decoding,
// validation, response) on the in-memory core.
func BenchmarkPostSale(b *testing.B) {
	srv, err := till.New(tilltest.New(), till.Options{})
	if err != nil {
		b.Fatal(err)
	}
	h := srv.Handler()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		req := httptest.NewRequest("POST", "/v1/sales", strings.NewReader(validSale))
		req.Host = "127.0.0.1:8080"
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", fmt.Sprint("k", i))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 201 {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkDecodeSale100 decodes a sale of 100 lines.
func BenchmarkDecodeSale100(b *testing.B) {
	line := `{"name":"Kawa","unit":"szt.","quantity":"2","unit_price":"12.30","vat_rate":"23"}`
	body := []byte(strings.Replace(validSale, line, strings.TrimSuffix(strings.Repeat(line+",", 100), ","), 1))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := till.DecodeSale(body); err != nil {
			b.Fatal(err)
		}
	}
}
