package main

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"image"
	"image/draw"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/posagent/posagent/internal/testutil"
	"github.com/posagent/posagent/ksef"
)

// runDemoIn runs `posagent demo` with args into a fresh directory.
func runDemoIn(t *testing.T, args ...string) (string, *testMain) {
	t.Helper()
	tm := newTestMain(t)
	dir := filepath.Join(t.TempDir(), "demo")
	tm.mustRun(t, append([]string{"demo", "--dir", dir}, args...)...)
	return dir, tm
}

var (
	sharedDemoOnce sync.Once
	sharedDemoDir  string
	sharedDemoErr  string
)

// sharedDemo is one demo run (EC key, native QR, 80 mm) whose store the
// invoices verbs are tested against.
func sharedDemo(t *testing.T) string {
	t.Helper()
	sharedDemoOnce.Do(func() {
		tm := &testMain{stdout: new(bytes.Buffer), stderr: new(bytes.Buffer)}
		tm.Main = &Main{Stdout: tm.stdout, Stderr: tm.stderr, Root: "/nonexistent"}
		dir, err := os.MkdirTemp("", "posagent-demo-test-")
		if err != nil {
			sharedDemoErr = err.Error()
			return
		}
		sharedDemoDir = filepath.Join(dir, "demo")
		if _, _, err := tm.run(t, "demo", "--dir", sharedDemoDir, "--key", "ec", "--qr", "native", "--paper", "80", "--sales", "2"); err != nil {
			sharedDemoErr = err.Error() + "\n" + tm.stderr.String()
		}
	})
	if sharedDemoErr != "" {
		t.Fatalf("demo: %s", sharedDemoErr)
	}
	return sharedDemoDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedDemoDir != "" {
		os.RemoveAll(filepath.Dir(sharedDemoDir))
	}
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func TestDemo(t *testing.T) {
	tests := []struct {
		name  string
		dir   func(t *testing.T) string
		sales int
		qr    string
		key   string
	}{
		{"ECNative80", sharedDemo, 2, "native", "ec"},
		{"RSARaster58", func(t *testing.T) string {
			dir, _ := runDemoIn(t, "--key", "rsa", "--qr", "raster", "--paper", "58", "--sales", "1")
			return dir
		}, 1, "raster", "rsa"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.dir(t)
			checkDemo(t, dir, 5+tt.sales, tt.key)
		})
	}
}

// demoContract is demo.json exactly as DESIGN §5 specifies it.
type demoContract struct {
	SellerNIP   string `json:"seller_nip"`
	Environment string `json:"environment"`
	Invoices    []struct {
		Number     string `json:"number"`
		File       string `json:"file"`
		P1         string `json:"p1"`
		Mode       string `json:"mode"`
		KOD1       string `json:"kod1"`
		KOD2       string `json:"kod2"`
		KSeFNumber string `json:"ksef_number"`
		State      string `json:"state"`
	} `json:"invoices"`
}

func checkDemo(t *testing.T, dir string, wantInvoices int, key string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	var demo demoContract
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&demo); err != nil {
		t.Fatalf("demo.json does not match the contract: %v", err)
	}
	// Every contract key is present (not just decodable).
	var generic struct {
		Invoices []map[string]any `json:"invoices"`
	}
	json.Unmarshal(raw, &generic)
	for _, inv := range generic.Invoices {
		for _, k := range []string{"number", "file", "p1", "mode", "kod1", "kod2", "ksef_number", "state"} {
			if _, ok := inv[k]; !ok {
				t.Errorf("demo.json invoice lacks %q: %v", k, inv)
			}
		}
	}
	if demo.SellerNIP != demoNIP || demo.Environment != "test" {
		t.Errorf("demo.json seller_nip %q environment %q", demo.SellerNIP, demo.Environment)
	}
	if len(demo.Invoices) != wantInvoices {
		t.Fatalf("demo.json has %d invoices, want %d", len(demo.Invoices), wantInvoices)
	}

	certPEM, err := os.ReadFile(filepath.Join(dir, "cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(certPEM)
	if blk == nil || blk.Type != "CERTIFICATE" {
		t.Fatal("cert.pem holds no certificate")
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.ToLower(cert.PublicKeyAlgorithm.String()); !strings.Contains(map[string]string{"ec": "ecdsa", "rsa": "rsa"}[key], got) {
		t.Errorf("cert.pem key %s, want %s", got, key)
	}
	if bytes.Contains(certPEM, []byte("PRIVATE")) {
		t.Error("cert.pem contains a private key")
	}
	// The agent logged in with XAdES, signed by the Authentication
	// certificate of auth-cert.pem (keyUsage Digital Signature).
	authPEM, err := os.ReadFile(filepath.Join(dir, "auth-cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if ab, _ := pem.Decode(authPEM); ab == nil || bytes.Contains(authPEM, []byte("PRIVATE")) {
		t.Error("auth-cert.pem holds no certificate, or a private key")
	} else if ac, err := x509.ParseCertificate(ab.Bytes); err != nil || ac.KeyUsage != x509.KeyUsageDigitalSignature {
		t.Errorf("auth-cert.pem: %v, keyUsage %v", err, ac.KeyUsage)
	}
	if log, err := os.ReadFile(filepath.Join(dir, "posagent.log")); err != nil || !bytes.Contains(log, []byte(`msg="ksef authenticated" method=xades`)) {
		t.Errorf("the demo did not log in with XAdES (%v)", err)
	}

	kinds := map[string]bool{}
	links := map[string]bool{}
	byFile := map[string]string{} // receipt file name stem -> invoice number
	b2b := map[string]bool{}      // invoices of the buyer with a Polish NIP
	for _, inv := range demo.Invoices {
		byFile[fileName(inv.Number)] = inv.Number
		if inv.State != "accepted" || inv.KSeFNumber == "" {
			t.Errorf("%s: state %s ksef %q, want accepted", inv.Number, inv.State, inv.KSeFNumber)
		}
		if _, err := ksef.ParseKSeFNumber(inv.KSeFNumber); err != nil {
			t.Errorf("%s: KSeF number: %v", inv.Number, err)
		}
		if inv.Mode != "offline24" {
			t.Errorf("%s: mode %s, want offline24 (issued during the outage)", inv.Number, inv.Mode)
		}
		xml, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(inv.File)))
		if err != nil {
			t.Fatal(err)
		}
		k1, err := ksef.ParseKOD1(inv.KOD1)
		if err != nil {
			t.Fatalf("%s: KOD I: %v", inv.Number, err)
		}
		if k1.Hash != ksef.InvoiceHash(xml) {
			t.Errorf("%s: KOD I hash is not the hash of %s", inv.Number, inv.File)
		}
		if k1.SellerNIP != demoNIP || k1.P1.String() != inv.P1 {
			t.Errorf("%s: KOD I %+v, want seller %s p1 %s", inv.Number, k1, demoNIP, inv.P1)
		}
		if err := ksef.VerifyKOD2(inv.KOD2, cert); err != nil {
			t.Errorf("%s: KOD II does not verify with cert.pem: %v", inv.Number, err)
		}
		k2, err := ksef.ParseKOD2(inv.KOD2)
		if err != nil || k2.Hash != k1.Hash {
			t.Errorf("%s: KOD II %v, or its hash differs from KOD I", inv.Number, err)
		}
		for _, k := range []string{"<RodzajFaktury>VAT<", "<RodzajFaktury>UPR<", "<RodzajFaktury>KOR<", "<KodUE>DE<", "<NIP>" + demoBuyerNIP + "<"} {
			if bytes.Contains(xml, []byte(k)) {
				kinds[k] = true
			}
		}
		b2b[inv.Number] = bytes.Contains(xml, []byte("<NIP>"+demoBuyerNIP+"<"))
		if !bytes.Contains(xml, []byte("Łódź")) {
			t.Errorf("%s: no Polish text in the seller address", inv.Number)
		}
		links[inv.KOD1], links[inv.KOD2] = true, true
		testutil.XMLLintSchema(t, testutil.Official("ksef/schema/schemat_FA(3)_v1-0E.xsd"), filepath.Join(dir, filepath.FromSlash(inv.File)))
	}
	for _, k := range []string{"<RodzajFaktury>VAT<", "<RodzajFaktury>UPR<", "<RodzajFaktury>KOR<", "<KodUE>DE<", "<NIP>" + demoBuyerNIP + "<"} {
		if !kinds[k] {
			t.Errorf("no invoice has %s", k)
		}
	}

	// Every receipt PNG decodes to links of demo.json. The buyer with a
	// Polish NIP was handed, during the outage (offline24), a transaction
	// confirmation without codes, and after the drain its invoice with KOD I
	// only (labelled with the KSeF number); every other original carries both
	// codes, the duplicate after acceptance only KOD I, the slip of the
	// correction asked for during the outage none (it is not an invoice).
	pngs, _ := filepath.Glob(filepath.Join(dir, "receipts", "*.png"))
	nB2B := 0
	for _, is := range b2b {
		if is {
			nB2B++
		}
	}
	if nB2B != 2 || len(pngs) != wantInvoices+nB2B+2 {
		t.Errorf("%d receipts for %d B2B invoices, want %d (every original, each B2B invoice after acceptance, one duplicate, one correction slip)", len(pngs), nB2B, wantInvoices+nB2B+2)
	}
	seen := map[string]bool{}
	for _, p := range pngs {
		stem := strings.TrimSuffix(filepath.Base(p), ".png")
		kind := ""
		for _, k := range []string{"-potwierdzenie", "-duplikat", "-zlecenie-korekty"} {
			if s, ok := strings.CutSuffix(stem, k); ok {
				stem, kind = s, k
			}
		}
		number, ok := byFile[stem]
		if !ok {
			t.Errorf("%s names no invoice of demo.json", filepath.Base(p))
			continue
		}
		seen[number+kind] = true
		codes := decodePNG(t, p)
		want := 2
		switch {
		case kind == "-potwierdzenie":
			want = 0
			if !b2b[number] {
				t.Errorf("%s: a confirmation for a buyer without a NIP", filepath.Base(p))
			}
		case kind == "-zlecenie-korekty":
			want = 0
		case kind == "-duplikat", b2b[number]:
			want = 1
		}
		if len(codes) != want {
			t.Errorf("%s: %d QR codes decoded, want %d", filepath.Base(p), len(codes), want)
		}
		for _, c := range codes {
			if !links[c] {
				t.Errorf("%s: QR code %q is not a link of demo.json", filepath.Base(p), c)
			}
		}
	}

	for number, is := range b2b {
		if is && (!seen[number+"-potwierdzenie"] || !seen[number]) {
			t.Errorf("%s: want a confirmation and, after acceptance, the invoice", number)
		}
	}

	checkMetrics(t, filepath.Join(dir, "metrics.txt"), wantInvoices)

	bin, err := os.ReadFile(filepath.Join(dir, "printer.bin"))
	if err != nil || len(bin) < 1000 {
		t.Errorf("printer.bin: %d bytes, %v", len(bin), err)
	}
	if n := bytes.Count(bin, []byte{0x1b, 0x40}); n < wantInvoices+nB2B+1 {
		t.Errorf("printer.bin holds %d ESC @ initialisations, want one per receipt (%d)", n, wantInvoices+nB2B+1)
	}
	if n := bytes.Count(bin, []byte("POTWIERDZENIE TRANSAKCJI")); n != nB2B {
		t.Errorf("printer.bin holds %d transaction confirmations, want %d", n, nB2B)
	}
}

// decodePNG finds the QR symbols of a receipt image: bands of non-white rows
// taller than any text line, each decoded alone.
func decodePNG(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b := img.Bounds()
	gray := image.NewGray(b)
	draw.Draw(gray, b, img, b.Min, draw.Src)
	blank := func(y int) bool {
		for x := b.Min.X; x < b.Max.X; x++ {
			if gray.GrayAt(x, y).Y < 128 {
				return false
			}
		}
		return true
	}
	var codes []string
	for y := b.Min.Y; y < b.Max.Y; {
		if blank(y) {
			y++
			continue
		}
		top := y
		for y < b.Max.Y && !blank(y) {
			y++
		}
		if y-top < 60 { // a text line
			continue
		}
		band := image.NewGray(image.Rect(0, 0, b.Dx()+80, y-top+80))
		draw.Draw(band, band.Bounds(), image.White, image.Point{}, draw.Src)
		draw.Draw(band, image.Rect(40, 40, 40+b.Dx(), 40+y-top), gray, image.Pt(b.Min.X, top), draw.Src)
		bmp, err := gozxing.NewBinaryBitmapFromImage(band)
		if err != nil {
			t.Fatal(err)
		}
		// The band holds one symbol on white: decode it as a pure barcode,
		// and fall back to detection.
		res, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true, gozxing.DecodeHintType_TRY_HARDER: true})
		if err != nil {
			res, err = qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true})
		}
		if err != nil {
			t.Errorf("%s: band at y=%d does not decode: %v", filepath.Base(path), top, err)
			continue
		}
		codes = append(codes, res.GetText())
	}
	return codes
}

// checkMetrics reads the scrape the demo saved after the drain.
func checkMetrics(t *testing.T, path string, invoices int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	series := map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Errorf("metrics line %q: %v", line, err)
			continue
		}
		series[line[:i]] = v
	}
	sum := func(prefix string) (float64, bool) {
		total, found := 0.0, false
		for k, v := range series {
			if k == prefix || strings.HasPrefix(k, prefix+"{") {
				total, found = total+v, true
			}
		}
		return total, found
	}
	tests := []struct {
		name     string
		min, max float64
	}{
		{"posagent_backlog", 0, 0},
		// Every original, the two B2B invoices after acceptance, the
		// correction slip, and the duplicate, which may be counted just after
		// the scrape.
		{"posagent_print_jobs_total", float64(invoices + 3), float64(invoices + 4)},
		{"posagent_sales_total", float64(invoices - 1), float64(invoices)},
		{"posagent_http_requests_total", float64(invoices + 1), 1e9},
		{"posagent_offline_cert_days_left", 700, 731},
		{`posagent_ksef_auth_method{method="xades"}`, 1, 1},
		{`posagent_ksef_auth_method{method="token"}`, 0, 0},
		{`posagent_certificate_revoked{usage="offline"}`, 0, 0},
	}
	for _, tt := range tests {
		got, ok := sum(tt.name)
		if !ok || got < tt.min || got > tt.max {
			t.Errorf("metric %s = %v (present %v), want %v..%v", tt.name, got, ok, tt.min, tt.max)
		}
	}
}

// A second run in the same directory starts afresh: its store, receipts and
// demo.json describe that run only. A directory that is not a demo's is
// refused and left alone.
func TestDemoDirReuse(t *testing.T) {
	dir, tm := runDemoIn(t, "--sales", "0")
	stale := filepath.Join(dir, "receipts", "stale.png")
	if err := os.WriteFile(stale, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tm.mustRun(t, "demo", "--dir", dir, "--sales", "0")
	checkDemo(t, dir, 5, "ec")
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("receipts from the earlier run survived: %v", err)
	}

	other := t.TempDir()
	keep := filepath.Join(other, "notes.txt")
	if err := os.WriteFile(keep, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	var ue *usageError
	if _, _, err := tm.run(t, "demo", "--dir", other); !errors.As(err, &ue) {
		t.Fatalf("demo in a foreign non-empty dir = %v, want a usage error", err)
	}
	if b, err := os.ReadFile(keep); err != nil || string(b) != "mine" {
		t.Fatalf("foreign file touched: %q, %v", b, err)
	}
}
