package ksefe2e_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/posagent/posagent/ksef/ksefapi"
	"github.com/posagent/posagent/ksef/ksefsim"
)

var update = flag.Bool("update", false, "rewrite the golden wire traces in testdata/")

// TestWireTrace pins the protocol dance of the agent's two upload paths: which
// operations, in which order, with or without a bearer, answered how. Any
// change on either side shows up as a diff of testdata/*.golden in review.
func TestWireTrace(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, h *harness, c *ksefapi.Client)
	}{
		{"online", func(t *testing.T, h *harness, c *ksefapi.Client) {
			s := openOnline(t, c)
			ref := send(t, s, invoice(t, "FV/T/1", h.clk.today(), "1.00"))
			if err := s.Close(ctx(t)); err != nil {
				t.Fatal(err)
			}
			if _, err := c.WaitSession(ctx(t), s.Reference); err != nil {
				t.Fatal(err)
			}
			st, err := c.InvoiceStatus(ctx(t), s.Reference, ref)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := c.DownloadUPO(ctx(t), st.UpoDownloadURL); err != nil {
				t.Fatal(err)
			}
		}},
		{"batch", func(t *testing.T, h *harness, c *ksefapi.Client) {
			res, err := c.SendBatch(ctx(t), one("t.xml", invoice(t, "FV/T/2", h.clk.today(), "2.00")), ksefapi.BatchOptions{TempDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.AllInvoices(ctx(t), res.Reference, false); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := start(t, ksefsim.Options{DisableRateLimits: true})
			tt.run(t, h, h.tokenClient())
			var b strings.Builder
			for _, ex := range h.wire.exchanges() {
				p := ex.Path
				if ex.Op != "" {
					p = "/v2" + ex.Op
				} else if i := strings.Index(p[1:], "/"); i > 0 {
					p = p[:i+1] + "/…" // pre-signed links: only the kind matters
				}
				bearer := "-"
				if ex.Auth {
					bearer = "bearer"
				}
				line := fmt.Sprintf("%-6s %-66s %-6s %d %s", ex.Method, p, bearer, ex.Status, mediaType(ex.RespType))
				b.WriteString(strings.TrimRight(line, " ") + "\n")
			}
			golden := filepath.Join("testdata", tt.name+".golden")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got := []byte(b.String()); !bytes.Equal(got, want) {
				t.Errorf("wire trace differs from %s (run with -update and review the diff):\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}
