package bench_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/agent/agenttest"
	"github.com/posagent/posagent/escpos"
	"github.com/posagent/posagent/escpos/escpostest"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/outbox"
	"github.com/posagent/posagent/printer"
	"github.com/posagent/posagent/receipt"
)

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

// stampPort is a virtual printer connection that, once armed, stamps the
// first byte written and the first receipt byte, and keeps every byte
// written since.
//
// The first byte of a sale is the first byte of its print job: the worker
// asks DLE EOT 1, 2, 4 before each job and writes the receipt once the
// printer answered ready. The receipt's head (everything before the first
// QR code) follows at once; the QR codes follow when encoded (Job.Tail), so
// a stamp must never come from the previous receipt: each sale is armed
// only after the previous job was reported printed.
// virtualOpener opens vp and hands each connection to wrap, whose port the
// worker then writes to.
func virtualOpener(vp *printer.Virtual, wrap func(*printer.VirtualConn) printer.Port) printer.Opener {
	return func(ctx context.Context) (printer.Port, error) {
		c, err := vp.Open(ctx)
		if err != nil {
			return nil, err
		}
		return wrap(c.(*printer.VirtualConn)), nil
	}
}

type stampPort struct {
	*printer.VirtualConn
	mu      sync.Mutex // guards armed, dataArm and wrote
	armed   bool       // stamp the next write on first
	dataArm bool       // stamp the next non-query write on data
	wrote   []byte
	first   chan time.Time
	data    chan time.Time
}

func (p *stampPort) arm() {
	p.mu.Lock()
	p.armed, p.dataArm, p.wrote = true, true, nil
	p.mu.Unlock()
}

// written returns the bytes written since arm.
func (p *stampPort) written() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return bytes.Clone(p.wrote)
}

func (p *stampPort) Write(b []byte) (int, error) {
	p.mu.Lock()
	if len(b) > 0 {
		now := time.Now()
		if p.armed {
			p.armed = false
			p.first <- now
		}
		// The worker writes each status query on its own (10 04 n ...).
		if p.dataArm && !bytes.HasPrefix(b, []byte{0x10, 0x04}) {
			p.dataArm = false
			p.data <- now
		}
		p.wrote = append(p.wrote, b...)
	}
	p.mu.Unlock()
	return p.VirtualConn.Write(b)
}

// rig is an agent with a real bbolt store (fsync on), a real print worker
// on a virtual printer with the agent's journal (as in production, so each
// job's start is committed, fsynced, before its first byte), and the KSeF
// simulator on loopback (agenttest.Env).
// It does not use agenttest.Stack: the port is wrapped to stamp the first
// byte, the worker is the agent's printer with no recorder in the timed
// path, and the options are production's defaults. The agent's Run
// is not started, so Issue dispatches the print itself before it returns:
// ack includes rendering the receipt's head and handing it to the worker
// (with posagent run, TestHTTPFirstByte, a dispatcher goroutine does that).
type rig struct {
	agent   *agent.Agent
	store   *outbox.Store
	port    *stampPort
	printed chan printer.JobResult // the worker's final results
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

func newRig(tb testing.TB, dir string, qr receipt.QRMode) *rig {
	tb.Helper()
	env := agenttest.NewEnv(tb, nil)
	st, err := outbox.Open(filepath.Join(dir, "outbox.db"), nil)
	if err != nil {
		tb.Fatal(err)
	}
	vp := printer.NewVirtual(nil)
	r := &rig{store: st, port: &stampPort{first: make(chan time.Time, 1), data: make(chan time.Time, 1)},
		printed: make(chan printer.JobResult, 16)}
	open := virtualOpener(vp, func(c *printer.VirtualConn) printer.Port { r.port.VirtualConn = c; return r.port })
	var relay agenttest.Relay
	w, err := printer.NewWorker(open, &printer.Options{OnResult: func(res printer.JobResult) {
		if res.Done {
			select {
			case r.printed <- res:
			default: // nobody waits: the rig is closing
			}
		}
		relay.PrintResult(res)
	}, Journal: &relay}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	prof, err := escpos.LookupProfile("generic-80")
	if err != nil {
		tb.Fatal(err)
	}
	a, err := agent.New(agent.Options{
		Seller: agenttest.Seller, Series: agenttest.Series,
		Place: "Łódź", Environment: ksef.EnvTest, Profile: prof, QR: qr, Paper: 80,
		// Uploads stay out of the way: the latency is the till's, not KSeF's.
		UploadInterval: time.Hour, ProbeInterval: time.Hour,
	}, agent.Deps{Store: st, KSeF: env.Client, Printer: w, Signer: env.Cert, Feed: env.Client})
	if err != nil {
		tb.Fatal(err)
	}
	relay.Set(a)
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

// saleTiming is one sale's timings, from the call to agent.Issue.
type saleTiming struct {
	first time.Duration // first byte of its print job at the printer
	data  time.Duration // first receipt byte (after the status query)
	ack   time.Duration // Issue returned: the invoice is committed and fsynced
	sale  *agent.Issued
}

// firstByte issues one sale and times it; the previous sale's job must have
// been printed (waitPrinted), so every byte after arm is this sale's.
func (r *rig) firstByte(ctx context.Context, key string) (saleTiming, error) {
	for _, c := range []chan time.Time{r.port.first, r.port.data} {
		select {
		case <-c: // a stamp nobody read (a failed earlier sale)
		default:
		}
	}
	r.port.arm()
	start := time.Now()
	issued, err := r.agent.Issue(ctx, agent.IssueRequest{Key: key, Sale: sale()})
	if err != nil {
		return saleTiming{}, err
	}
	s := saleTiming{ack: time.Since(start), sale: issued}
	for _, c := range []struct {
		ch <-chan time.Time
		d  *time.Duration
	}{{r.port.first, &s.first}, {r.port.data, &s.data}} {
		select {
		case t := <-c.ch:
			*c.d = t.Sub(start)
		case <-time.After(5 * time.Second):
			return saleTiming{}, errors.New("no byte reached the printer within 5 s")
		}
	}
	return s, nil
}

// waitPrinted waits until the worker reports a job done, printed.
func (r *rig) waitPrinted() error {
	select {
	case res := <-r.printed:
		return res.Err
	case <-time.After(10 * time.Second):
		return errors.New("the receipt was not printed within 10 s")
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
	if _, err := r.firstByte(ctx, "warmup"); err != nil {
		b.Fatal(err)
	}
	if err := r.waitPrinted(); err != nil {
		b.Fatal(err)
	}
	var firsts, datas, acks []time.Duration
	b.ResetTimer()
	for i := range b.N {
		s, err := r.firstByte(ctx, fmt.Sprintf("sale-%d", i))
		if err != nil {
			b.Fatal(err)
		}
		firsts = append(firsts, s.first)
		datas = append(datas, s.data)
		acks = append(acks, s.ack)
		// Let the worker finish the receipt (its tail may still be
		// encoding) so sales do not queue behind it.
		b.StopTimer()
		if err := r.waitPrinted(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.StopTimer()
	ms := func(d []time.Duration, p float64) float64 {
		return float64(percentile(d, p).Microseconds()) / 1000
	}
	slices.Sort(firsts)
	slices.Sort(datas)
	slices.Sort(acks)
	b.ReportMetric(ms(firsts, 50), "p50-first-byte-ms")
	b.ReportMetric(ms(firsts, 99), "p99-first-byte-ms")
	b.ReportMetric(ms(datas, 50), "p50-receipt-byte-ms")
	b.ReportMetric(ms(datas, 99), "p99-receipt-byte-ms")
	b.ReportMetric(ms(acks, 50), "p50-ack-ms")
	b.ReportMetric(ms(acks, 99), "p99-ack-ms")
}

// BenchmarkSaleToFirstByte measures agent.Issue → first byte of the sale's
// print job written to the printer port, in-process, with the bbolt commit
// fsynced; receipt-byte is the first byte after the job's status query.
func BenchmarkSaleToFirstByte(b *testing.B) {
	b.Run("native", func(b *testing.B) { benchFirstByte(b, receipt.QRNative) })
	b.Run("raster", func(b *testing.B) { benchFirstByte(b, receipt.QRRaster) })
}

// TestSaleToFirstByte proves the rig measures what it claims: each sale's
// first byte is its own job's status query, its receipt follows, and what
// the printer got after arming is that sale's whole receipt (its number and
// its two codes), however the receipt was streamed.
func TestSaleToFirstByte(t *testing.T) {
	prof, err := escpos.LookupProfile("generic-80")
	if err != nil {
		t.Fatal(err)
	}
	for _, qr := range []receipt.QRMode{receipt.QRNative, receipt.QRRaster} {
		t.Run(qr.String(), func(t *testing.T) {
			r := newRig(t, t.TempDir(), qr)
			for i := range 3 {
				s, err := r.firstByte(context.Background(), fmt.Sprintf("t-%d", i))
				if err != nil {
					t.Fatal(err)
				}
				if err := r.waitPrinted(); err != nil {
					t.Fatal(err)
				}
				if s.first <= 0 || s.ack <= 0 || s.data < s.first {
					t.Fatalf("first byte %v, receipt byte %v, ack %v: want positive, receipt after first", s.first, s.data, s.ack)
				}
				got := r.port.written()
				if !bytes.HasPrefix(got, []byte{0x10, 0x04, 0x01}) {
					t.Errorf("sale %d: the printer got % x first, want the job's status query", i, got[:min(len(got), 3)])
				}
				if !bytes.Contains(got, []byte(s.sale.Number)) {
					t.Errorf("sale %d: the bytes after arming lack its number %s", i, s.sale.Number)
				}
				page, err := escpos.Render(got, prof)
				if err != nil {
					t.Fatal(err)
				}
				codes, err := escpostest.DecodeAllQR(page)
				if err != nil {
					t.Fatal(err)
				}
				if want := []string{s.sale.KOD1, s.sale.KOD2}; !slices.Equal(codes, want) {
					t.Errorf("sale %d: printed codes %q, want %q", i, codes, want)
				}
				if page.Cuts != 1 {
					t.Errorf("sale %d: %d cuts, want 1 (one whole receipt)", i, page.Cuts)
				}
			}
		})
	}
}
