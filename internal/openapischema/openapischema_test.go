package openapischema_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/posagent/posagent/internal/openapischema"
)

func TestValidate(t *testing.T) {
	doc := openapischema.Load(t)
	h := "EbrK4cOSjW4hEpJaHU71YXSOZZmqP5++dK9nLgTzgV4="
	tests := []struct {
		name    string
		schema  string
		body    string
		wantErr string
	}{
		{"ok", "SendInvoiceResponse", `{"referenceNumber":"20250625-EE-319D7EE000-B67F415CDC-2C"}`, ""},
		{"missing required", "SendInvoiceResponse", `{}`, "referenceNumber"},
		{"short reference", "SendInvoiceResponse", `{"referenceNumber":"x"}`, "minLength"},
		{"nullable via allOf", "SendInvoiceRequest", `{"invoiceHash":"` + h + `","invoiceSize":1,"encryptedInvoiceHash":"` + h + `","encryptedInvoiceSize":16,"encryptedInvoiceContent":"AAAAAAAAAAAAAAAAAAAAAA==","offlineMode":false,"hashOfCorrectedInvoice":null}`, ""},
		{"bad base64", "SendInvoiceRequest", `{"invoiceHash":"` + h + `","invoiceSize":1,"encryptedInvoiceHash":"` + h + `","encryptedInvoiceSize":16,"encryptedInvoiceContent":"%%%"}`, "Base64"},
		{"zero size", "SendInvoiceRequest", `{"invoiceHash":"` + h + `","invoiceSize":0,"encryptedInvoiceHash":"` + h + `","encryptedInvoiceSize":16,"encryptedInvoiceContent":"AA=="}`, "minimum"},
		{"bad date-time", "TokenInfo", `{"token":"x","validUntil":"yesterday"}`, "date-time"},
		{"dotnet date-time", "TokenInfo", `{"token":"x","validUntil":"2025-07-11T12:23:56.0154302+00:00"}`, ""},
		{"nullable extensions", "InvoiceStatusInfo", `{"code":440,"description":"Duplikat faktury","extensions":{"originalKsefNumber":null}}`, ""},
		{"not json", "TokenInfo", `{`, "not JSON"},
		{"unknown schema", "NoSuchSchema", `{}`, "unknown component schema"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := doc.Validate(tt.schema, []byte(tt.body))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Validate(%s) = %v, want nil", tt.schema, err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("Validate(%s) = nil, want error containing %q", tt.schema, tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("Validate(%s) = %v, want error containing %q", tt.schema, err, tt.wantErr)
			}
		})
	}
}

func TestEverySchemaCompiles(t *testing.T) {
	doc := openapischema.Load(t)
	for _, name := range []string{"ExceptionResponse", "BadRequestProblemDetails", "SessionStatusResponse",
		"SessionInvoicesResponse", "OpenBatchSessionRequest", "PublicKeyCertificate", "AuthenticationOperationStatusResponse"} {
		if !doc.Has(name) {
			t.Fatalf("Has(%q) = false", name)
		}
		if err := doc.Validate(name, []byte(`{}`)); err != nil && strings.Contains(err.Error(), "compile") {
			t.Fatalf("compile %s: %v", name, err)
		}
	}
}

func ExampleDoc_Validate() {
	doc, err := openapischema.LoadFile("../../testdata/ksef/api/open-api.json")
	if err != nil {
		panic(err)
	}
	err = doc.Validate("FormCode", []byte(`{"systemCode":"FA (3)","schemaVersion":"1-0E","value":"FA"}`))
	fmt.Println(err)
	err = doc.Validate("FormCode", []byte(`{"systemCode":"FA (3)"}`))
	fmt.Println(err != nil)
	// Output:
	// <nil>
	// true
}
