package ksef_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/internal/testutil"
	"github.com/posagent/posagent/ksef"
)

var update = flag.Bool("update", false, "rewrite the golden XML files in testdata/")

var schema = testutil.Official("ksef/schema/schemat_FA(3)_v1-0E.xsd")

// loadInvoice decodes a golden input strictly, so a typo in a case file fails.
func loadInvoice(t testing.TB, path string) *ksef.Invoice {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var inv ksef.Invoice
	if err := dec.Decode(&inv); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &inv
}

func TestGoldenXML(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(inputs) < 8 {
		t.Fatalf("found %d golden cases, want at least 8", len(inputs))
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".json")
		t.Run(name, func(t *testing.T) {
			inv := loadInvoice(t, in)
			got, err := inv.XML()
			if err != nil {
				t.Fatalf("XML: %v", err)
			}
			again, err := inv.XML()
			if err != nil || !bytes.Equal(got, again) {
				t.Fatalf("XML is not deterministic (err %v)", err)
			}
			checkBytes(t, got)
			// The agent keeps the invoice as JSON; a round trip must not change the bytes.
			js, err := json.Marshal(inv)
			if err != nil {
				t.Fatal(err)
			}
			var back ksef.Invoice
			if err := json.Unmarshal(js, &back); err != nil {
				t.Fatalf("unmarshal own JSON: %v", err)
			}
			if again, err := back.XML(); err != nil || !bytes.Equal(got, again) {
				t.Fatalf("XML after JSON round trip differs (err %v)", err)
			}
			golden := strings.TrimSuffix(in, ".json") + ".xml"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("XML differs from %s at %s (run go test -update and review the diff)", golden, firstDiff(got, want))
			}
		})
	}
}

// TestGoldenXMLSchema validates every golden file with xmllint against the
// official FA(3) schema.
func TestGoldenXMLSchema(t *testing.T) {
	goldens, _ := filepath.Glob("testdata/*.xml")
	if len(goldens) < 8 {
		t.Fatalf("found %d golden XML files, want at least 8", len(goldens))
	}
	for _, g := range goldens {
		t.Run(filepath.Base(g), func(t *testing.T) {
			testutil.XMLLintSchema(t, schema, g)
		})
	}
}

// checkBytes asserts the KSeF byte-level rules: no BOM, no prolog or
// processing instruction, valid UTF-8 and well-formed XML.
func checkBytes(t testing.TB, b []byte) {
	t.Helper()
	if bytes.HasPrefix(b, []byte("\xEF\xBB\xBF")) {
		t.Fatal("output starts with a BOM")
	}
	if bytes.Contains(b, []byte("<?")) {
		t.Fatal("output contains a processing instruction or XML declaration")
	}
	if !bytes.HasPrefix(b, []byte("<Faktura xmlns=\""+ksef.Namespace+"\">")) {
		t.Fatalf("output starts with %q", b[:min(len(b), 60)])
	}
	dec := xml.NewDecoder(bytes.NewReader(b))
	for {
		_, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v", err)
		}
	}
}

func firstDiff(a, b []byte) string {
	line := 1
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return fmt.Sprintf("line %d: got %q, want %q", line, lineAt(a, i), lineAt(b, i))
		}
		if a[i] == '\n' {
			line++
		}
	}
	return fmt.Sprintf("length %d vs %d", len(a), len(b))
}

func lineAt(b []byte, i int) string {
	s := bytes.LastIndexByte(b[:i], '\n') + 1
	e := bytes.IndexByte(b[i:], '\n')
	if e < 0 {
		return string(b[s:])
	}
	return string(b[s : i+e])
}

func TestXMLText(t *testing.T) {
	inv := loadInvoice(t, "testdata/consumer.json")
	inv.Sale.Lines[0].Name = "  Kawa \t latte & <ciastko>  "
	inv.Sale.Place = "Kraków\nNowa Huta"
	out, err := inv.XML()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<P_7>Kawa latte &amp; &lt;ciastko&gt;</P_7>", "<P_1M>Kraków Nowa Huta</P_1M>"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("output lacks %s", want)
		}
	}
	checkBytes(t, out)
}

func ExampleInvoice_XML() {
	inv := ksef.Invoice{
		Seller:      ksef.Seller{NIP: "5265877635", Name: "Sklep", Address: ksef.Address{Country: "PL", Line1: "ul. Polna 1"}},
		Number:      "FV/2026/11/000001",
		GeneratedAt: time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC),
		Sale: ksef.Sale{
			Buyer:     ksef.Buyer{Kind: ksef.BuyerConsumer},
			Lines:     []ksef.Line{{Name: "Kawa", Quantity: ksef.MustParseQuantity("1"), UnitPrice: ksef.MustParseAmount("12.30"), VATRate: ksef.Rate23}},
			IssueDate: ksef.MustParseDate("2026-11-21"),
		},
	}
	xml, err := inv.XML()
	if err != nil {
		panic(err)
	}
	// Store xml once; the QR code binds to exactly these bytes.
	fmt.Println(ksef.KOD1(ksef.EnvTest, inv.Seller.NIP, inv.Sale.IssueDate, ksef.InvoiceHash(xml)))
	fmt.Println(bytes.Contains(xml, []byte("<P_15>12.30</P_15>")))
	// Output:
	// https://qr-test.ksef.mf.gov.pl/invoice/5265877635/21-11-2026/kO7KhU8pxJKLfXrARH1g6zJEO1EcYSR-CXRgPNKAbk4
	// true
}
