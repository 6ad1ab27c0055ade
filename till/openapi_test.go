package till_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/internal/openapischema"
	"github.com/posagent/posagent/internal/testutil"
	"github.com/posagent/posagent/till"
)

// apiDoc is the parts of docs/openapi-till.json the tests read.
type apiDoc struct {
	Paths      map[string]map[string]operation `json:"paths"`
	Components struct {
		Responses map[string]response `json:"responses"`
		Schemas   map[string]struct {
			Properties map[string]struct {
				Enum []string `json:"enum"`
			} `json:"properties"`
		} `json:"schemas"`
	} `json:"components"`
}

type operation struct {
	Responses map[string]response `json:"responses"`
}

type response struct {
	Ref     string `json:"$ref"`
	Content map[string]struct {
		Schema struct {
			Ref string `json:"$ref"`
		} `json:"schema"`
	} `json:"content"`
}

func openAPIPath() string { return filepath.Join(testutil.RepoRoot(), "docs", "openapi-till.json") }

func loadAPI(t *testing.T) (*apiDoc, *openapischema.Doc) {
	t.Helper()
	raw, err := os.ReadFile(openAPIPath())
	if err != nil {
		t.Fatal(err)
	}
	var d apiDoc
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("openapi-till.json: %v", err)
	}
	sch, err := openapischema.Parse(raw)
	if err != nil {
		t.Fatalf("openapi-till.json schemas: %v", err)
	}
	return &d, sch
}

// TestOpenAPIRoutes checks that the document and the mux list the same routes.
func TestOpenAPIRoutes(t *testing.T) {
	d, _ := loadAPI(t)
	var documented []string
	for path, ops := range d.Paths {
		for method := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	served := till.Routes()
	slices.Sort(documented)
	slices.Sort(served)
	if !slices.Equal(documented, served) {
		t.Errorf("documented routes:\n%s\nserved routes:\n%s", strings.Join(documented, "\n"), strings.Join(served, "\n"))
	}
}

// TestOpenAPICodes checks that every Code constant is in the document's enum
// and in the table of doc.go, and that the document lists no other code.
func TestOpenAPICodes(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "problem.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var consts []string
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Names) != 1 || !strings.HasPrefix(vs.Names[0].Name, "Code") || len(vs.Values) != 1 {
			return true
		}
		if lit, ok := vs.Values[0].(*ast.BasicLit); ok {
			v, _ := strconv.Unquote(lit.Value)
			consts = append(consts, v)
		}
		return true
	})
	d, _ := loadAPI(t)
	enum := slices.Clone(d.Components.Schemas["Problem"].Properties["code"].Enum)
	slices.Sort(consts)
	slices.Sort(enum)
	if len(consts) < 40 || !slices.Equal(consts, enum) {
		t.Errorf("code constants:\n%v\nOpenAPI Problem.code enum:\n%v", consts, enum)
	}
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range consts {
		if !strings.Contains(string(doc), "\t"+c+" ") {
			t.Errorf("doc.go's table lacks %q", c)
		}
	}
}

// TestOpenAPIResponses drives every endpoint through success and failure and
// validates each response body against the schema documented for its route
// and status.
func TestOpenAPIResponses(t *testing.T) {
	d, sch := loadAPI(t)
	h := newHarness(t, till.Options{Token: testToken})
	st := fullStatus(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	h.core.SetStatus(st)

	sale := h.do(request{method: "POST", path: "/v1/sales", key: "a", body: validSale, token: testToken})
	id := viewOf(t, sale).ID
	ip := "/v1/invoices/" + id
	cases := []struct {
		method, route, path string
		key, body           string
		token               string
	}{
		{"POST", "/v1/sales", "/v1/sales", "b", validSale, testToken},
		{"POST", "/v1/sales", "/v1/sales", "b", validSale, testToken}, // replay
		{"POST", "/v1/sales", "/v1/sales", "b", `{"lines":[]}`, testToken},
		{"POST", "/v1/sales", "/v1/sales", "c", strings.Replace(validSale, `"23"`, `"24"`, 1), testToken},
		{"POST", "/v1/sales", "/v1/sales", "-", validSale, testToken},
		{"POST", "/v1/sales", "/v1/sales", "d", `{`, testToken},
		{"POST", "/v1/sales", "/v1/sales", "d", validSale, ""},
		{"POST", "/v1/sales", "/v1/sales", "d", `{"x":"` + strings.Repeat("y", 1<<20) + `"}`, testToken},
		{"GET", "/v1/invoices/{id}", ip, "", "", testToken},
		{"GET", "/v1/invoices/{id}", "/v1/invoices/none", "", "", testToken},
		{"GET", "/v1/invoices/{id}/xml", ip + "/xml", "", "", testToken},
		{"GET", "/v1/invoices/{id}/xml", "/v1/invoices/none/xml", "", "", testToken},
		{"GET", "/v1/invoices/{id}/upo", ip + "/upo", "", "", testToken},
		{"DELETE", "/v1/invoices/{id}", ip, "", "", testToken},
		{"GET", "/v1/invoices", "/v1/invoices?limit=1", "", "", testToken},
		{"GET", "/v1/invoices", "/v1/invoices?state=x", "", "", testToken},
		{"POST", "/v1/invoices/{id}/reprint", ip + "/reprint", "", "", testToken},
		{"POST", "/v1/invoices/{id}/reprint", "/v1/invoices/none/reprint", "", "", testToken},
		{"POST", "/v1/invoices/{id}/corrections", ip + "/corrections", "k1", `{"reason":"zwrot","lines":[]}`, testToken},
		{"POST", "/v1/invoices/{id}/corrections", ip + "/corrections", "k1", `{"lines":[{"name":"a","quantity":"1","unit_price":"1","vat_rate":"23"}]}`, testToken},
		{"POST", "/v1/invoices/{id}/corrections", "/v1/invoices/none/corrections", "k2", `{"lines":[]}`, testToken},
		{"POST", "/v1/invoices/{id}/corrections", ip + "/corrections", "k3", `{"type":9,"lines":[]}`, testToken},
		{"GET", "/v1/status", "/v1/status", "", "", testToken},
		{"POST", "/v1/mode", "/v1/mode", "", `{"mode":"offline24"}`, testToken},
		{"POST", "/v1/mode", "/v1/mode", "", `{"mode":"emergency","reference":"BIP MF"}`, testToken},
		{"POST", "/v1/mode", "/v1/mode", "", `{"mode":"online","reference":"BIP MF"}`, testToken},
		{"GET", "/v1/journal", "/v1/journal", "", "", testToken},
		{"POST", "/v1/mode", "/v1/mode", "", `{"mode":"warp"}`, testToken},
		{"POST", "/v1/mode", "/v1/mode", "", `{"mode":`, testToken},
		{"GET", "/metrics", "/metrics", "", "", ""},
		{"GET", "/", "/", "", "", ""},
		{"POST", "/", "/", "", "", ""},
	}
	seen := map[string]bool{}
	for _, c := range cases {
		rec := h.do(request{method: c.method, path: c.path, key: c.key, body: c.body, token: c.token})
		name := c.method + " " + c.path + " → " + strconv.Itoa(rec.Code)
		ops, ok := d.Paths[c.route]
		if !ok {
			t.Errorf("%s: route %s not documented", name, c.route)
			continue
		}
		op, ok := ops[strings.ToLower(c.method)]
		if !ok {
			// a method the route does not take: the 405 comes from any operation's shared response
			for _, o := range ops {
				op = o
			}
		}
		resp, ok := op.Responses[strconv.Itoa(rec.Code)]
		if !ok {
			t.Errorf("%s: status %d not documented (%s)", name, rec.Code, rec.Body)
			continue
		}
		if resp.Ref != "" {
			resp = d.Components.Responses[strings.TrimPrefix(resp.Ref, "#/components/responses/")]
		}
		ct, _, _ := strings.Cut(rec.Header().Get("Content-Type"), ";")
		content, ok := resp.Content[ct]
		if !ok {
			t.Errorf("%s: content type %q not documented", name, ct)
			continue
		}
		seen[c.method+" "+c.route] = true
		if ref := content.Schema.Ref; ref != "" {
			schema := strings.TrimPrefix(ref, "#/components/schemas/")
			if err := sch.Validate(schema, rec.Body.Bytes()); err != nil {
				t.Errorf("%s: body does not match %s: %v\n%s", name, schema, err, rec.Body)
			}
		}
	}
	for _, r := range till.Routes() {
		if !seen[r] {
			t.Errorf("route %s was not exercised", r)
		}
	}
}

// TestOpenAPIRequests checks that the documented request schemas accept the
// bodies the handlers accept.
func TestOpenAPIRequests(t *testing.T) {
	_, sch := loadAPI(t)
	tests := []struct{ schema, body string }{
		{"Sale", validSale},
		{"Sale", `{"buyer":{"kind":"nip","nip":"5265877635","name":"Firma","address":{"country":"PL","line1":"ul. Prosta 1"}},"price_mode":"net","lines":[{"name":"Diesel","unit":"l","quantity":"41.27","unit_price":6.49,"vat_rate":"23","gtu":"GTU_02","discount":"1.00"}],"payment":{"form":"transfer","paid":false,"date":"2026-12-05"},"currency":"EUR","exchange_rate":"4.2512","kind":"VAT","issue_date":"2026-11-21","sale_date":"2026-11-20","place":"Warszawa","split_payment":true}`},
		{"Correction", `{"reason":"zwrot","type":1,"lines":[]}`},
		{"ModeRequest", `{"mode":"auto"}`},
		{"ModeRequest", `{"mode":"total_failure","reference":"komunikat MF"}`},
	}
	for _, tt := range tests {
		if err := sch.Validate(tt.schema, []byte(tt.body)); err != nil {
			t.Errorf("%s rejects %s: %v", tt.schema, tt.body, err)
		}
	}
	if err := sch.Validate("Sale", []byte(`{"buyer":{"kind":"consumer"},"lines":[],"issue_date":"2026-11-21","extra":1}`)); err == nil {
		t.Errorf("Sale schema accepts an unknown field")
	}
}
