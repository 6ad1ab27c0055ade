package bench_test

import (
	"flag"
	"fmt"
	"net/http/httptest"
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
// 201; one sale at a time, the receipt finishing before the next sale. The
// receipt is streamed (its QR codes follow the head when encoded), so a sale
// is armed only after the printer was quiet for 150 ms: no byte of the
// previous receipt can be taken for this sale's first.
func TestHTTPFirstByte(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binary")
	}
	sim, err := ksefsim.New(&ksefsim.Options{Tokens: map[string]string{soak.KSeFToken: soak.SellerNIP}, DisableRateLimits: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	prn := soak.NewTCPPrinter(t)
	var mu sync.Mutex // guards armed and last
	var armed bool
	var last time.Time // arrival of the first byte after arming
	quiet := make(chan struct{}, 1)
	var lastData time.Time
	prn.OnData = func(b []byte) {
		mu.Lock()
		defer mu.Unlock()
		if armed {
			armed, last = false, time.Now()
		}
		lastData = time.Now()
		select {
		case quiet <- struct{}{}:
		default:
		}
	}
	s := soak.NewSite(t, soak.BuildPosagent(t), soak.SiteOptions{KSeFURL: srv.URL, LogLevel: "warn", PrinterPort: "tcp://" + prn.Addr})
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
	t.Logf("HTTP, %d sales: first printer byte p50 %s p99 %s max %s; 201 p50 %s p99 %s",
		len(firsts), ms(percentile(firsts, 50)), ms(percentile(firsts, 99)), ms(firsts[len(firsts)-1]),
		ms(percentile(acks, 50)), ms(percentile(acks, 99)))
}
