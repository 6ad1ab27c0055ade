package bench_test

import (
	"bytes"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/posagent/posagent/internal/soak"
	"github.com/posagent/posagent/ksef/ksefsim"
)

var httpN = flag.Int("http.n", 20, "sales timed through the till API (make bench: 500)")

// TestHTTPFirstByte times POST /v1/sales on the real binary (posagent run)
// until the first byte of that sale reaches a TCP printer, and until the
// 201; one sale at a time, the receipt finishing before the next sale. It
// runs once with native QR codes and once with raster ones, which take
// milliseconds to encode and follow the receipt's head when ready (the head
// is streamed). A sale is armed only after the printer was quiet for
// 150 ms, so no byte of the previous receipt is taken for this sale's first.
func TestHTTPFirstByte(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binary")
	}
	bin := soak.BuildPosagent(t)
	for _, qr := range []string{"native", "raster"} {
		t.Run(qr, func(t *testing.T) { httpFirstByte(t, bin, qr) })
	}
}

func httpFirstByte(t *testing.T, bin, qr string) {
	sim, err := ksefsim.New(&ksefsim.Options{Tokens: map[string]string{soak.KSeFToken: soak.SellerNIP}, DisableRateLimits: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	prn := soak.NewTCPPrinter(t)
	var mu sync.Mutex // guards armed, last and lastData
	var armed bool
	var last time.Time // arrival of the first byte after arming
	var lastData time.Time
	prn.OnData = func(b []byte) {
		mu.Lock()
		defer mu.Unlock()
		if armed {
			armed, last = false, time.Now()
		}
		lastData = time.Now()
	}
	s := soak.NewSite(t, bin, soak.SiteOptions{KSeFURL: srv.URL, LogLevel: "warn", PrinterPort: "tcp://" + prn.Addr})
	setPrinterQR(t, s.Config, qr)
	p := s.Start()
	waitQuiet := func() {
		for {
			time.Sleep(30 * time.Millisecond)
			mu.Lock()
			idle := time.Since(lastData) > 150*time.Millisecond
			mu.Unlock()
			if idle {
				return
			}
		}
	}
	var firsts, acks []time.Duration
	for i := range *httpN + 1 {
		waitQuiet()
		mu.Lock()
		armed, last = true, time.Time{}
		mu.Unlock()
		start := time.Now()
		_, ok, err := s.Post(fmt.Sprintf("http-%d", i), i)
		if err != nil || !ok {
			t.Fatalf("sale %d: ok=%v err=%v", i, ok, err)
		}
		ack := time.Since(start)
		deadline := time.Now().Add(5 * time.Second)
		var first time.Duration
		for first == 0 {
			mu.Lock()
			if !last.IsZero() {
				first = last.Sub(start)
			}
			mu.Unlock()
			if time.Now().After(deadline) {
				t.Fatalf("sale %d: no byte at the printer within 5 s", i)
			}
			if first == 0 {
				time.Sleep(time.Millisecond)
			}
		}
		if i == 0 {
			continue // the first sale connects to the printer
		}
		firsts = append(firsts, first)
		acks = append(acks, ack)
	}
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	_ = p.Wait(t)
	slices.Sort(firsts)
	slices.Sort(acks)
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }
	t.Logf("HTTP %s QR, %d sales: first printer byte p50 %s p99 %s max %s; 201 p50 %s p99 %s",
		qr, len(firsts), ms(percentile(firsts, 50)), ms(percentile(firsts, 99)), ms(firsts[len(firsts)-1]),
		ms(percentile(acks, 50)), ms(percentile(acks, 99)))
}

// setPrinterQR sets printer.qr in the site's configuration (its profile,
// generic-80, would print native codes).
func setPrinterQR(t *testing.T, path, qr string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const section = "[printer]\n"
	if bytes.Count(b, []byte(section)) != 1 {
		t.Fatalf("%s: want one %q section", path, section)
	}
	b = bytes.Replace(b, []byte(section), []byte(section+fmt.Sprintf("qr = %q\n", qr)), 1)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
