package till_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/posagent/posagent/internal/testutil"
	"github.com/posagent/posagent/till"
)

type sample struct {
	name string
	body []byte
}

// sampleSales returns the sales of the ksef package's invoice samples that
// are not corrections (whose rows follow other rules).
func sampleSales(t testing.TB) []sample {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(testutil.RepoRoot(), "ksef", "testdata", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no ksef samples: %v", err)
	}
	var out []sample
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var inv struct {
			Sale       json.RawMessage `json:"sale"`
			Correction json.RawMessage `json:"correction"`
		}
		if json.Unmarshal(raw, &inv) != nil || inv.Sale == nil || inv.Correction != nil {
			continue
		}
		out = append(out, sample{filepath.Base(f), inv.Sale})
	}
	return out
}

// refDuplicate is a slow reference for duplicate keys: ok is false unless
// body is exactly one valid JSON value.
func refDuplicate(body []byte) (dup, ok bool) {
	if !json.Valid(body) {
		return false, false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	type frame struct {
		keys      map[string]bool
		expectKey bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return dup, true
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if key, isStr := tok.(string); isStr && top != nil && top.keys != nil && top.expectKey {
			dup = dup || top.keys[key]
			top.keys[key] = true
			top.expectKey = false
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{keys: map[string]bool{}, expectKey: true})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		if len(stack) > 0 && stack[len(stack)-1].keys != nil {
			stack[len(stack)-1].expectKey = true
		}
	}
}

// TestSampleSales checks that the till accepts every sample sale of the ksef package.
func TestSampleSales(t *testing.T) {
	samples := sampleSales(t)
	if len(samples) < 5 {
		t.Fatalf("only %d samples", len(samples))
	}
	for _, s := range samples {
		if _, err := till.DecodeSale(s.body); err != nil {
			t.Errorf("%s: %v", s.name, err)
		}
	}
}

// codes is every problem code the decoder may return.
var decodeCodes = []string{
	till.CodeMalformedJSON, till.CodeEmptyBody, till.CodeTrailingData, till.CodeUnknownField, till.CodeDuplicateField, till.CodeWrongType,
	till.CodeInvalidAmount, till.CodeInvalidQuantity, till.CodeTooManyDecimals, till.CodeInvalidDate,
}

// FuzzDecodeSale checks that DecodeSale never panics, that every failure is a
// *till.Problem with a known code and status, and that an accepted sale
// survives a JSON round trip unchanged.
func FuzzDecodeSale(f *testing.F) {
	for _, s := range sampleSales(f) {
		f.Add(s.body)
	}
	f.Add([]byte(validSale))
	f.Add([]byte(`{"buyer":{"kind":"nip","nip":"5265877635"},"lines":[{"name":"Diesel","quantity":41.27,"unit_price":6.49,"vat_rate":"23","gtu":"GTU_02"}],"issue_date":"2026-11-21","currency":"EUR","exchange_rate":"4.25"}`))
	f.Add([]byte(`{"buyer":{"kind":"eu","eu_code":"DE","eu_vat":"123456789"},"lines":[{"name":"x","quantity":"1","unit_price":"1","vat_rate":"0 WDT"}],"issue_date":"2026-11-21"}`))
	f.Add([]byte(`{"lines":[{"quantity":"1.1234567"}]}`))
	f.Add([]byte(`{"issue_date":"2026-02-30"} {}`))
	f.Add([]byte(`[1,2,{"a":null}]`))
	f.Add([]byte(`{"buyer":null,"lines":null,"payment":{"date":"2026-01-01","paid":true,"form":"cash"}}`))
	f.Add([]byte("\xff\xfe{}"))
	f.Add([]byte(`{"a":{"b":1,"b":2}}`))
	f.Add([]byte(`{"a\u0062":1,"ab":2}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		sale, err := till.DecodeSale(body)
		var p *till.Problem
		if err != nil && !errors.As(err, &p) {
			t.Fatalf("DecodeSale error %T %v is not a *Problem", err, err)
		}
		if dup, ok := refDuplicate(body); ok && dup != (p != nil && p.Code == till.CodeDuplicateField) {
			t.Fatalf("reference finds a duplicate key: %v; DecodeSale = %v", dup, err)
		}
		if err != nil {
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
