package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/escpos"
	"github.com/posagent/posagent/escpos/escpostest"
)

func TestPrinterList(t *testing.T) {
	tm := newTestMain(t)
	var ports []json.RawMessage
	if err := json.Unmarshal([]byte(tm.mustRun(t, "printer", "list", "--json")), &ports); err != nil {
		t.Fatalf("printer list --json is not a JSON array: %v", err)
	}
	out := tm.mustRun(t, "printer", "list")
	if len(ports) == 0 && !strings.Contains(out, "no serial ports") {
		t.Errorf("printer list with no ports = %q", out)
	}
	if len(ports) > 0 && !strings.Contains(out, "PATH") {
		t.Errorf("printer list table = %q", out)
	}
}

func TestPrinterSelfTestPage(t *testing.T) {
	for _, paper := range []int{58, 80} {
		t.Run(strconv.Itoa(paper)+"mm", func(t *testing.T) {
			tm := newTestMain(t)
			path := tm.writeConfig(t, testConfig{})
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(strings.Replace(string(b), "paper = 80", "paper = "+strconv.Itoa(paper), 1)), 0o640); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "selftest.bin")
			tm.mustRun(t, "printer", "test", "--out", out)
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			prof, err := profileFor(config.Printer{Profile: "default", Paper: paper})
			if err != nil {
				t.Fatal(err)
			}
			page, err := escpos.Render(data, prof)
			if err != nil {
				t.Fatal(err)
			}
			var pages []string
			polish := 0
			for _, l := range page.Lines {
				txt := strings.TrimSpace(l.Text)
				if strings.HasPrefix(txt, "ESC t ") {
					pages = append(pages, strings.Fields(txt)[2])
				}
				if txt == escpos.PolishSample {
					polish++
				}
			}
			for _, n := range []string{"18", "45", "72", "30", "39"} {
				found := false
				for _, p := range pages {
					found = found || p == n
				}
				if !found {
					t.Errorf("self-test page lacks code page %s (has %v)", n, pages)
				}
			}
			if polish == 0 {
				t.Error("no code page line renders the Polish letters (CP852 @18 must)")
			}
			codes, err := escpostest.DecodeAllQR(page)
			if err != nil {
				t.Fatal(err)
			}
			if len(codes) != 2 || codes[0] != codes[1] || !strings.HasPrefix(codes[0], "https://qr-test.ksef.mf.gov.pl/") {
				t.Errorf("QR codes %q, want the same link native and raster", codes)
			}
			if page.Graphics[0].Kind != escpos.GraphicNativeQR || page.Graphics[1].Kind != escpos.GraphicRaster {
				t.Errorf("graphics %v, want native then raster", page.Graphics)
			}
		})
	}
}

func TestPrinterVirtual(t *testing.T) {
	tm := newTestMain(t)
	tm.writeConfig(t, testConfig{})
	if out := tm.mustRun(t, "printer", "test"); !strings.Contains(out, "self-test page sent to virtual") {
		t.Errorf("printer test = %q", out)
	}
	var st printerStatus
	if err := json.Unmarshal([]byte(tm.mustRun(t, "printer", "status", "--json")), &st); err != nil || !st.Ready || st.Status != "ok" {
		t.Errorf("printer status = %+v, %v", st, err)
	}
}

func TestPrinterStatusFailures(t *testing.T) {
	tests := []struct {
		name string
		port func(t *testing.T) string
		want string
	}{
		{"NoDevice", func(*testing.T) string { return "/dev/ttyPOSAGENT-NONE" }, "no such file"},
		{"FileGivesNoStatus", func(t *testing.T) string { return "file:" + filepath.Join(t.TempDir(), "printer.bin") }, "no replies"},
		{"TCPRefused", func(t *testing.T) string { return "tcp://" + freePort(t) }, "refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm := newTestMain(t)
			tm.writeConfig(t, testConfig{printerPort: tt.port(t)})
			out, _, err := tm.run(t, "printer", "status")
			wantExit(t, err, exitCheckFailed)
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(out, "unknown") {
				t.Errorf("printer status: %v\n%s", err, out)
			}
		})
	}
}
