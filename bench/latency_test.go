package bench_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/certstore"
	"github.com/posagent/posagent/certstore/certstoretest"
	"github.com/posagent/posagent/escpos"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/ksef/ksefapi"
	"github.com/posagent/posagent/ksef/ksefsim"
	"github.com/posagent/posagent/outbox"
	"github.com/posagent/posagent/printer"
	"github.com/posagent/posagent/receipt"
)

const (
	sellerNIP = certstoretest.NIP
	simToken  = "bench-ksef-token"
)

var seller = ksef.Seller{
	NIP:     sellerNIP,
	Name:    "Stacja Paliw „Żuraw” Sp. z o.o.",
	Address: ksef.Address{Country: "PL", Line1: "ul. Źródlana 7/3", Line2: "90-001 Łódź"},
}

func line(name, qty, price, rate string) ksef.Line {
	return ksef.Line{Name: name, Unit: "szt.", Quantity: ksef.MustParseQuantity(qty),
		UnitPrice: ksef.MustParseAmount(price), VATRate: ksef.Rate(rate)}
}

// sale is the benchmark's typical fuel-station sale: three lines, two rates.
func sale() ksef.Sale {
	return ksef.Sale{Buyer: ksef.Buyer{Kind: ksef.BuyerConsumer},
		Lines: []ksef.Line{
			line("Benzyna Pb95", "32.5", "6.49", "23"),
			line("Kawa czarna", "2", "12.30", "23"),
			line("Drożdżówka", "1", "4.99", "5"),
		}}
}

// stampPort is a virtual printer connection that reports the time of the
// first byte written after arm.
type stampPort struct {
	*printer.VirtualConn
	mu    sync.Mutex // guards armed
	armed bool
	first chan time.Time
}

func (p *stampPort) arm() {
	p.mu.Lock()
	p.armed = true
	p.mu.Unlock()
}

func (p *stampPort) Write(b []byte) (int, error) {
	p.mu.Lock()
	if p.armed && len(b) > 0 {
		p.armed = false
		p.first <- time.Now()
	}
	p.mu.Unlock()
	return p.VirtualConn.Write(b)
}

// rig is an agent with a real bbolt store (fsync on), a real print worker
// on a virtual printer, and the KSeF simulator on loopback.
type rig struct {
	agent  *agent.Agent
	store  *outbox.Store
	port   *stampPort
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newRig(tb testing.TB, dir string, qr receipt.QRMode) *rig {
	tb.Helper()
	sim, err := ksefsim.New(&ksefsim.Options{Tokens: map[string]string{simToken: sellerNIP}, DisableRateLimits: true})
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	tb.Cleanup(srv.Close)
	client, err := ksefapi.New(ksefapi.Config{
		BaseURL: srv.URL + "/v2", AvailabilityURL: srv.URL + "/latarnia", HTTPClient: srv.Client(),
		Context: ksefapi.ContextIdentifier{Type: ksefapi.ContextNip, Value: sellerNIP},
		Auth:    ksefapi.TokenAuth{Token: simToken},
	})
	if err != nil {
		tb.Fatal(err)
	}
	st, err := outbox.Open(filepath.Join(dir, "outbox.db"), nil)
	if err != nil {
		tb.Fatal(err)
	}
	vp := printer.NewVirtual(nil)
	r := &rig{store: st, port: &stampPort{first: make(chan time.Time, 1)}}
	open := func(ctx context.Context) (printer.Port, error) {
		c, err := vp.Open(ctx)
		if err != nil {
			return nil, err
		}
		r.port.VirtualConn = c.(*printer.VirtualConn)
		return r.port, nil
	}
	var mu sync.Mutex // guards ag
	var ag *agent.Agent
	w, err := printer.NewWorker(open, &printer.Options{OnResult: func(res printer.JobResult) {
		mu.Lock()
		defer mu.Unlock()
		if ag != nil {
			ag.PrintResult(res)
		}
	}}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	prof, err := escpos.LookupProfile("generic-80")
	if err != nil {
		tb.Fatal(err)
	}
	a, err := agent.New(agent.Options{
		Seller: seller, Series: outbox.Series{Terminal: "T1", Format: "FV/{terminal}/{yyyy}/{seq:06}"},
		Place: "Łódź", Environment: ksef.EnvTest, Profile: prof, QR: qr, Paper: 80,
		// Uploads stay out of the way: the latency is the till's, not KSeF's.
		UploadInterval: time.Hour, ProbeInterval: time.Hour,
	}, agent.Deps{Store: st, KSeF: client, Printer: w,
		Signer: certstoretest.Cert(tb, certstore.Offline, certstore.KeyEC), Feed: client})
	if err != nil {
		tb.Fatal(err)
	}
	mu.Lock()
	ag = a
	mu.Unlock()
	r.agent = a
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.wg.Go(func() { _ = w.Run(ctx) })
	tb.Cleanup(r.close)
	return r
}

func (r *rig) close() {
	r.cancel()
	r.wg.Wait()
	_ = r.store.Close()
}

// firstByte issues one sale and returns the time until the printer got its
// first byte and the time until Issue returned (the till's acknowledgement).
func (r *rig) firstByte(ctx context.Context, key string) (first, ack time.Duration, err error) {
	// Drain a stamp left over from the previous receipt's tail.
	select {
	case <-r.port.first:
	default:
	}
	r.port.arm()
	start := time.Now()
	if _, err := r.agent.Issue(ctx, agent.IssueRequest{Key: key, Sale: sale()}); err != nil {
		return 0, 0, err
	}
	ack = time.Since(start)
	select {
	case t := <-r.port.first:
		return t.Sub(start), ack, nil
	case <-time.After(5 * time.Second):
		return 0, 0, errors.New("no byte reached the printer within 5 s")
	}
}

// percentile returns the p-th percentile (0-100) of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p / 100)
	return sorted[i]
}

func benchFirstByte(b *testing.B, qr receipt.QRMode) {
	r := newRig(b, b.TempDir(), qr)
	ctx := context.Background()
	// Warm up: the first sale opens the printer and loads the profile.
	if _, _, err := r.firstByte(ctx, "warmup"); err != nil {
		b.Fatal(err)
	}
	var firsts, acks []time.Duration
	b.ResetTimer()
	for i := range b.N {
		f, a, err := r.firstByte(ctx, fmt.Sprintf("sale-%d", i))
		if err != nil {
			b.Fatal(err)
		}
		firsts = append(firsts, f)
		acks = append(acks, a)
		// Let the worker finish the receipt so sales do not queue behind it.
		b.StopTimer()
		time.Sleep(2 * time.Millisecond)
		b.StartTimer()
	}
	b.StopTimer()
	slices.Sort(firsts)
	slices.Sort(acks)
	b.ReportMetric(float64(percentile(firsts, 50).Microseconds())/1000, "p50-first-byte-ms")
	b.ReportMetric(float64(percentile(firsts, 99).Microseconds())/1000, "p99-first-byte-ms")
	b.ReportMetric(float64(percentile(acks, 50).Microseconds())/1000, "p50-ack-ms")
	b.ReportMetric(float64(percentile(acks, 99).Microseconds())/1000, "p99-ack-ms")
}

// BenchmarkSaleToFirstByte measures agent.Issue → first byte written to the
// printer port, in-process, with the bbolt commit fsynced.
func BenchmarkSaleToFirstByte(b *testing.B) {
	b.Run("native", func(b *testing.B) { benchFirstByte(b, receipt.QRNative) })
	b.Run("raster", func(b *testing.B) { benchFirstByte(b, receipt.QRRaster) })
}

// TestSaleToFirstByte proves the rig measures what it claims: a sale's first
// byte arrives, after the acknowledgement's commit.
func TestSaleToFirstByte(t *testing.T) {
	r := newRig(t, t.TempDir(), receipt.QRAuto)
	for i := range 3 {
		first, ack, err := r.firstByte(context.Background(), fmt.Sprintf("t-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if first <= 0 || ack <= 0 {
			t.Fatalf("first byte %v, ack %v: want both positive", first, ack)
		}
	}
}
