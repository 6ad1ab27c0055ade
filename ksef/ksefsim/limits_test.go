package ksefsim_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/posagent/posagent/ksef"
)

// padded is invoiceXML grown to exactly size bytes by a comment before the
// root element closes.
func padded(t *testing.T, number string, size int) []byte {
	t.Helper()
	xml := invoiceXML(testNIP, number, "2025-09-01")
	at := bytes.LastIndex(xml, []byte("</Faktura>"))
	if at < 0 {
		t.Fatal("template has no </Faktura>")
	}
	fill := size - len(xml) - len("<!---->")
	if fill < 0 {
		t.Fatalf("template is %d bytes, over %d", len(xml), size)
	}
	out := append(append([]byte{}, xml[:at]...), "<!--"+strings.Repeat("x", fill)+"-->"...)
	return append(out, xml[at:]...)
}

// TestInvoiceSizeLimit: the simulator takes an invoice of exactly
// ksef.MaxInvoiceSize bytes (the agent's own limit) and refuses one byte
// more with 430 and KSeF's message.
func TestInvoiceSizeLimit(t *testing.T) {
	e := newEnv(t, nil)
	access := e.login()
	s := e.openOnline(access)
	for _, tt := range []struct {
		size     int
		wantCode int
	}{
		{ksef.MaxInvoiceSize, 200},
		{ksef.MaxInvoiceSize + 1, 430},
	} {
		t.Run(fmt.Sprint(tt.size), func(t *testing.T) {
			e := e.sub(t)
			xml := padded(t, fmt.Sprintf("FV/SIZE/%d", tt.size), tt.size)
			if len(xml) != tt.size {
				t.Fatalf("padded to %d bytes, want %d", len(xml), tt.size)
			}
			got := e.invoice(access, s.ref, e.send(access, s, xml, true))
			if got.Status.Code != tt.wantCode {
				t.Fatalf("status %d %v, want %d", got.Status.Code, got.Status.Details, tt.wantCode)
			}
			if tt.wantCode == 430 && !strings.Contains(strings.Join(got.Status.Details, " "), fmt.Sprintf("limit %d B", ksef.MaxInvoiceSize)) {
				t.Errorf("details %v do not name the limit", got.Status.Details)
			}
		})
	}
}
