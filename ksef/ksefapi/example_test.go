package ksefapi_test

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/posagent/posagent/internal/testutil"
	"github.com/posagent/posagent/ksef/ksefapi"
)

func ExampleParseError() {
	body := []byte(`{"title":"Bad Request","status":400,"detail":"Żądanie jest nieprawidłowe.",
		"errors":[{"code":21155,"description":"Przekroczono limit faktur w sesji.","details":["10000"]}]}`)
	err := error(ksefapi.ParseError("send invoice", 400, http.Header{}, body, time.Now()))

	fmt.Println(errors.Is(err, ksefapi.ErrSessionFull))
	fmt.Println(ksefapi.Retryable(err))
	fmt.Println(err)
	// Output:
	// true
	// false
	// ksefapi: send invoice: HTTP 400 [21155] Przekroczono limit faktur w sesji.: 10000
}

func ExampleParseError_rateLimited() {
	h := http.Header{"Retry-After": {"45"}}
	e := ksefapi.ParseError("send invoice", 429, h, []byte(`{"status":{"code":429,"description":"Too Many Requests","details":[]}}`), time.Now())
	fmt.Println(e.Retryable(), e.RetryAfter)
	// Output: true 45s
}

func ExampleParseUPO() {
	b, err := os.ReadFile(testutil.Official("ksef/upo/upo-sesja-kontekst-id-nip.xml"))
	if err != nil {
		panic(err)
	}
	u, err := ksefapi.ParseUPO(b)
	if err != nil {
		panic(err)
	}
	for _, d := range u.Documents {
		fmt.Println(d.KsefNumber, d.InvoicingMode)
	}
	// Output:
	// 5265877635-20250916-010040741B3E-46 Online
	// 5265877635-20250916-0200A0D6723E-C2 Online
}

func ExampleEncryptCBC() {
	key := make([]byte, 32) // a real session uses a random key and IV
	iv := make([]byte, 16)
	ct, _ := ksefapi.EncryptCBC(key, iv, make([]byte, 6480))
	fmt.Println(len(ct)) // PKCS#7 always adds at least one byte
	// Output: 6496
}
