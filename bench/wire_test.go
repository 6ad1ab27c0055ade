package bench_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/boombuler/barcode/qr"

	"github.com/posagent/posagent/escpos"
	"github.com/posagent/posagent/internal/testutil"
	"github.com/posagent/posagent/receipt"
)

var peerDir = flag.String("wire.peer", "peer", "`dir` of the node peer (npm install there first); empty skips the peer")

// wireCase is one receipt layout measured on the wire.
type wireCase struct {
	name    string
	doc     string // receipt/testdata document: offline-ec-duplicate (EC) or offline-rsa (RSA)
	profile escpos.Profile
	peer    string // the peer's printer model
	mode    receipt.QRMode
}

// native58 is a 58 mm printer that does have GS ( k (many POS-5890 clones
// do); generic-58 is the raster-only one the 8 s budget is about.
func native58(t *testing.T) escpos.Profile {
	p := profile(t, "generic-58")
	p.ID, p.NativeQR = "generic-58-native", true
	return p
}

func profile(t *testing.T, id string) escpos.Profile {
	t.Helper()
	p, err := escpos.LookupProfile(id)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// loadDoc reads a receipt document of the receipt package's golden tests,
// as an original (not a duplicate).
func loadDoc(t *testing.T, name string) receipt.Doc {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), "receipt", "testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var d receipt.Doc
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	d.Duplicate = ""
	return d
}

// wireRow is one measured receipt.
type wireRow struct {
	Case  string
	Bytes int
	Text  int // printable text bytes plus one LF per line
	Floor int // Text + 2×(41 + URL)
	Peer  int // bytes of the same receipt from the npm peer; 0 = not run
	// Raster receipts: the bytes of their GS v 0 images, and of the same
	// symbols sent 1:1 with their quiet zones (no GS v 0 scaling, no crop).
	Images, Naive int
	Wait9600      time.Duration
	Wait115k      time.Duration
}

// waitAt is the time to shift n bytes through a serial line at 8N1.
func waitAt(n, baud int) time.Duration {
	return time.Duration(n) * 10 * time.Second / time.Duration(baud)
}

// TestWireBytes renders the same invoice receipt natively and as raster, at
// 58 and 80 mm, with an EC and an RSA KOD II link, and compares the bytes
// with the floor (the text plus 41 bytes of GS ( k framing and the URL per
// code) and with the npm peer encoder. It fails only when a measurement is
// impossible (below the floor, or the peer breaks); the budgets are reported
// in docs/BENCHMARKS.md, not asserted.
func TestWireBytes(t *testing.T) {
	cases := []wireCase{
		{"native-58-ec", "offline-ec-duplicate", native58(t), "pos-5890", receipt.QRNative},
		{"native-58-rsa", "offline-rsa", native58(t), "pos-5890", receipt.QRNative},
		{"native-80-ec", "offline-ec-duplicate", profile(t, "generic-80"), "pos-8360", receipt.QRNative},
		{"native-80-rsa", "offline-rsa", profile(t, "generic-80"), "pos-8360", receipt.QRNative},
		{"raster-58-ec", "offline-ec-duplicate", profile(t, "generic-58"), "pos-5890", receipt.QRRaster},
		{"raster-58-rsa", "offline-rsa", profile(t, "generic-58"), "pos-5890", receipt.QRRaster},
		{"raster-80-ec", "offline-ec-duplicate", profile(t, "generic-80"), "pos-8360", receipt.QRRaster},
		{"raster-80-rsa", "offline-rsa", profile(t, "generic-80"), "pos-8360", receipt.QRRaster},
	}
	peer := *peerDir != ""
	if peer {
		if _, err := exec.LookPath("node"); err != nil {
			peer = false
		} else if _, err := os.Stat(filepath.Join(*peerDir, "node_modules")); err != nil {
			peer = false
		}
		if !peer {
			t.Logf("peer skipped: run `npm install` in bench/peer (make bench does)")
		}
	}
	var rows []wireRow
	for _, c := range cases {
		doc := loadDoc(t, c.doc)
		data, err := receipt.Render(doc, c.profile, c.mode)
		if err != nil {
			t.Fatalf("%s: Render: %v", c.name, err)
		}
		page, err := escpos.Render(data, c.profile)
		if err != nil {
			t.Fatalf("%s: escpos.Render: %v", c.name, err)
		}
		var lines []string
		text := 0
		for _, l := range page.Lines {
			s := strings.TrimRight(l.Text, " ")
			lines = append(lines, s)
			text += len([]rune(s)) + 1 // one byte per character in CP852, plus LF
		}
		urls := []string{doc.KOD1, doc.KOD2}
		floor := text + 2*41 + len(doc.KOD1) + len(doc.KOD2)
		if len(data) < text {
			t.Errorf("%s: %d bytes on the wire, fewer than its %d bytes of text", c.name, len(data), text)
		}
		r := wireRow{Case: c.name, Bytes: len(data), Text: text, Floor: floor,
			Wait9600: waitAt(len(data), 9600), Wait115k: waitAt(len(data), 115200)}
		if c.mode == receipt.QRRaster {
			r.Images = rasterBytes(data)
			for _, u := range urls {
				side := (len(matrix(t, u)) + 2*escpos.QuietZone) * qrFit(t, c, u).ModuleSize
				r.Naive += 8 + (side+7)/8*side
			}
			if r.Images == 0 || 4*r.Images > r.Naive {
				t.Errorf("%s: %d bytes of QR images, more than a quarter of the %d a 1:1 raster takes", c.name, r.Images, r.Naive)
			}
		}
		if peer {
			r.Peer = runPeer(t, c, lines, urls, []string{doc.KOD1Label, "CERTYFIKAT"})
		}
		rows = append(rows, r)
	}
	t.Log("\n" + wireTable(rows))
}

// runPeer has the npm encoder build the same lines and codes.
func runPeer(t *testing.T, c wireCase, lines, urls, labels []string) int {
	t.Helper()
	type code struct {
		URL    string   `json:"url"`
		Label  string   `json:"label"`
		Size   int      `json:"size"`
		Matrix []string `json:"matrix"`
	}
	spec := struct {
		Columns int      `json:"columns"`
		Model   string   `json:"model"`
		Mode    string   `json:"mode"`
		Lines   []string `json:"lines"`
		QR      []code   `json:"qr"`
	}{Columns: c.profile.Columns, Model: c.peer, Mode: "native", Lines: lines}
	if c.mode == receipt.QRRaster {
		spec.Mode = "raster"
	}
	// The peer gets the text lines without the QR labels, which it adds itself.
	spec.Lines = withoutLabels(lines, labels)
	for i, u := range urls {
		// The peer prints the symbol at posagent's module size, so both
		// print the same code.
		q := code{URL: u, Label: labels[i], Size: qrFit(t, c, u).ModuleSize}
		if c.mode == receipt.QRRaster {
			q.Matrix = matrix(t, u)
		}
		spec.QR = append(spec.QR, q)
	}
	in, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", "encode.mjs")
	cmd.Dir = *peerDir
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: peer: %v\n%s", c.name, err, stderr.Bytes())
	}
	var res struct{ Bytes int }
	if err := json.Unmarshal(out, &res); err != nil || res.Bytes == 0 {
		t.Fatalf("%s: peer output %q: %v", c.name, out, err)
	}
	return res.Bytes
}

func withoutLabels(lines, labels []string) []string {
	var out []string
	for _, l := range lines {
		label := false
		for _, lb := range labels {
			if strings.TrimSpace(l) == lb {
				label = true
			}
		}
		if !label {
			out = append(out, l)
		}
	}
	return out
}

// matrix encodes u as the printer would (byte mode, EC M) and returns its
// modules as rows of '0'/'1'.
func matrix(t *testing.T, u string) []string {
	t.Helper()
	code, err := qr.Encode(u, qr.M, qr.Unicode)
	if err != nil {
		t.Fatal(err)
	}
	n := code.Bounds().Dx()
	rows := make([]string, n)
	for y := range n {
		var sb strings.Builder
		for x := range n {
			if r, _, _, _ := code.At(x, y).RGBA(); r == 0 {
				sb.WriteByte('1')
			} else {
				sb.WriteByte('0')
			}
		}
		rows[y] = sb.String()
	}
	return rows
}

// qrFit is the fit posagent prints u at in case c: the native fit, or for a
// raster the raster fit (capped at escpos.DefaultMaxRasterModule).
func qrFit(t *testing.T, c wireCase, u string) escpos.QRFit {
	t.Helper()
	var (
		f   escpos.QRFit
		err error
	)
	if c.mode == receipt.QRRaster {
		f, err = escpos.FitRasterQR(u, c.profile.DotsPerLine, escpos.QROptions{EC: escpos.ECMedium, Scale2x: true})
	} else {
		f, err = escpos.FitQR(u, c.profile.DotsPerLine, escpos.QROptions{EC: escpos.ECMedium})
	}
	if err != nil {
		t.Fatalf("%s: fit: %v", c.name, err)
	}
	return f
}

// rasterBytes sums the GS v 0 commands of b, headers included. Text and
// native codes never hold 0x1D, and each image's data is skipped whole, so
// bytes inside a bitmap are not taken for a command.
func rasterBytes(b []byte) int {
	n := 0
	for i := 0; i+8 <= len(b); {
		if b[i] != 0x1d || b[i+1] != 'v' || b[i+2] != '0' {
			i++
			continue
		}
		size := 8 + (int(b[i+4])|int(b[i+5])<<8)*(int(b[i+6])|int(b[i+7])<<8)
		n += size
		i += size
	}
	return n
}

func wireTable(rows []wireRow) string {
	var sb strings.Builder
	sb.WriteString("| receipt | bytes | text | floor | vs floor | QR images / 1:1 | peer bytes | vs peer | wait 9600 | wait 115200 |\n")
	sb.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		peer, vsPeer, images := "–", "–", "–"
		if r.Peer > 0 {
			peer = fmt.Sprint(r.Peer)
			vsPeer = fmt.Sprintf("%+.1f%%", 100*float64(r.Bytes-r.Peer)/float64(r.Peer))
		}
		if r.Naive > 0 {
			images = fmt.Sprintf("%d / %d = %.1f%%", r.Images, r.Naive, 100*float64(r.Images)/float64(r.Naive))
		}
		fmt.Fprintf(&sb, "| %s | %d | %d | %d | %+.1f%% | %s | %s | %s | %.2f s | %.3f s |\n",
			r.Case, r.Bytes, r.Text, r.Floor, 100*float64(r.Bytes-r.Floor)/float64(r.Floor),
			images, peer, vsPeer, r.Wait9600.Seconds(), r.Wait115k.Seconds())
	}
	return sb.String()
}
