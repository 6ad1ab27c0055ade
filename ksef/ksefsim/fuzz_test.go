package ksefsim_test

import (
	"bytes"
	"errors"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/posagent/posagent/internal/testutil"
	"github.com/posagent/posagent/ksef/ksefsim"
)

var nipPattern = regexp.MustCompile(`^[1-9]((\d[1-9])|([1-9]\d))\d{7}$`)

func FuzzParseInvoice(f *testing.F) {
	for _, p := range []string{"ksef/samples/invoice-template-fa-3.xml", "ksef/samples/ksef-pdf-generator-invoice.xml", "ksef/samples/own-upr-simplified-example.xml", "ksef/samples/own-kor-correction-example.xml"} {
		b, err := os.ReadFile(testutil.Official(p))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(invoiceXML(testNIP, "FV/1", "2026-03-10"))
	f.Add([]byte(`<?xml version="1.0"?><?pi x?><Faktura xmlns="http://crd.gov.pl/wzor/2025/06/25/13775/"/>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		facts, err := ksefsim.ParseInvoice(b)
		if err != nil {
			if !errors.Is(err, ksefsim.ErrInvoiceFormat) {
				t.Fatalf("error %v does not wrap ErrInvoiceFormat", err)
			}
			return
		}
		if !nipPattern.MatchString(facts.SellerNIP) || facts.Number == "" || facts.Kind == "" || len(facts.IssueDate) != 10 {
			t.Fatalf("accepted with incomplete facts %+v", facts)
		}
		if bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}) {
			t.Fatal("accepted a BOM")
		}
	})
}

func FuzzVerifyAuthTokenRequest(f *testing.F) {
	now := time.Date(2026, 3, 10, 10, 0, 0, 0, time.UTC)
	ch := "20260310-CR-0123456789-ABCDEF0123-4F"
	signed := signXAdES(f, authRequestXML(ch, testNIP), newIdentity(f, testNIP, true), now)
	f.Add(signed)
	f.Add([]byte(authRequestXML(ch, testNIP)))
	f.Add([]byte(`<AuthTokenRequest xmlns="http://ksef.mf.gov.pl/auth/token/2.1"><Challenge/></AuthTokenRequest>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		req, cert, err := ksefsim.VerifyAuthTokenRequest(b, now)
		if err != nil {
			var xe *ksefsim.XAdESError
			if !errors.As(err, &xe) || xe.Code == 0 {
				t.Fatalf("error %v is not an XAdESError with a code", err)
			}
			return
		}
		if cert == nil || req.Challenge == "" || ksefsim.SubjectNIP(cert) == "" {
			t.Fatalf("verified without a certificate or challenge: %+v", req)
		}
	})
}
