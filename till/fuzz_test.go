package till_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/posagent/posagent/till"
)

// codes is every problem code the decoder may return.
var decodeCodes = []string{
	till.CodeMalformedJSON, till.CodeEmptyBody, till.CodeTrailingData, till.CodeUnknownField, till.CodeDuplicateField, till.CodeWrongType,
	till.CodeInvalidAmount, till.CodeInvalidQuantity, till.CodeTooManyDecimals, till.CodeInvalidDate,
}

// FuzzDecodeSale checks that DecodeSale never panics, that every failure is a
// *till.Problem with a known code and status, and that an accepted sale
// survives a JSON round trip unchanged.
func FuzzDecodeSale(f *testing.F) {
	f.Add([]byte(validSale))
	f.Add([]byte(`{"buyer":{"kind":"nip","nip":"5265877635"},"lines":[{"name":"Diesel","quantity":41.27,"unit_price":6.49,"vat_rate":"23","gtu":"GTU_02"}],"issue_date":"2026-11-21","currency":"EUR","exchange_rate":"4.25"}`))
	f.Add([]byte(`{"buyer":{"kind":"eu","eu_code":"DE","eu_vat":"123456789"},"lines":[{"name":"x","quantity":"1","unit_price":"1","vat_rate":"0 WDT"}],"issue_date":"2026-11-21"}`))
	f.Add([]byte(`{"lines":[{"quantity":"1.1234567"}]}`))
	f.Add([]byte(`{"issue_date":"2026-02-30"} {}`))
	f.Add([]byte(`[1,2,{"a":null}]`))
	f.Add([]byte(`{"buyer":null,"lines":null,"payment":{"date":"2026-01-01","paid":true,"form":"cash"}}`))
	f.Add([]byte("\xff\xfe{}"))
	f.Fuzz(func(t *testing.T, body []byte) {
		sale, err := till.DecodeSale(body)
		if err != nil {
			var p *till.Problem
			if !errors.As(err, &p) {
				t.Fatalf("DecodeSale error %T %v is not a *Problem", err, err)
			}
			switch p.Status {
			case 400:
				if !slices.Contains(decodeCodes, p.Code) {
					t.Fatalf("400 with code %q", p.Code)
				}
			case 422:
				if len(p.Errors) == 0 || p.Errors[0].Code != p.Code || p.Code == "" {
					t.Fatalf("422 problem %+v lacks field errors", p)
				}
			default:
				t.Fatalf("status %d", p.Status)
			}
			return
		}
		if err := sale.Validate(); err != nil {
			t.Fatalf("accepted sale does not validate: %v", err)
		}
		again, err := json.Marshal(&sale)
		if err != nil {
			t.Fatalf("marshal accepted sale: %v", err)
		}
		back, err := till.DecodeSale(again)
		if err != nil {
			t.Fatalf("re-encoded sale rejected: %v\n%s", err, again)
		}
		if !reflect.DeepEqual(back, sale) {
			t.Fatalf("round trip changed the sale:\n%+v\n%+v", sale, back)
		}
	})
}
