package metrics_test

import (
	"bytes"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/posagent/posagent/internal/metrics"
)

var update = flag.Bool("update", false, "rewrite golden files")

// demoRegistry registers the kinds of metrics the agent exposes, with values a
// demo-like run would leave.
func demoRegistry() *metrics.Registry {
	r := metrics.NewRegistry()
	sales := r.Counter("posagent_sales_total", "Sales issued as invoices.")
	for range 5 {
		sales.Inc()
	}
	jobs := r.CounterVec("posagent_print_jobs_total", "Print jobs by result.", "result")
	jobs.With("ok").Add(4)
	jobs.With("failed").Inc()
	errs := r.CounterVec("posagent_ksef_errors_total", "KSeF errors by code.", "code", "detail")
	errs.With("440", `duplicate "invoice"`).Inc()
	errs.With("21405", "path C:\\tmp\nsecond line").Add(2)
	lat := r.Histogram("posagent_upload_latency_seconds", "Upload latency from issue to KSeF acceptance.", []float64{0.5, 1, 5})
	for _, d := range []time.Duration{200 * time.Millisecond, 500 * time.Millisecond, 3 * time.Second, 8 * time.Second} {
		lat.ObserveDuration(d)
	}
	r.GaugeFunc("posagent_backlog_invoices", "Invoices not yet accepted by KSeF.", func() float64 { return 3 })
	r.GaugeFunc("posagent_deadline_seconds", "Seconds to the earliest upload deadline\\nbackslash kept.", func() float64 { return 86400.5 })
	r.CounterFunc("posagent_invoices_accepted_total", "Invoices KSeF has accepted, from the store.", func() uint64 { return 2 })
	days := r.Gauge("posagent_certificate_days_left", "Days until the Offline certificate expires.")
	days.Set(364)
	days.Dec()
	r.GaugeVec("posagent_unused", "A labelled family with no series is not written.", "x")
	return r
}

func TestExpositionGolden(t *testing.T) {
	var buf bytes.Buffer
	n, err := demoRegistry().WriteTo(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) {
		t.Errorf("WriteTo() = %d, wrote %d bytes", n, buf.Len())
	}
	golden := filepath.Join("testdata", "demo.prom")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if got := buf.String(); got != string(want) {
		t.Errorf("exposition mismatch\n--- got\n%s\n--- want\n%s", got, want)
	}
}

func TestHistogramBuckets(t *testing.T) {
	r := metrics.NewRegistry()
	h := r.Histogram("h", "h", []float64{1, 2})
	for _, v := range []float64{0.5, 1, 1.5, 2, 2.5, 100} {
		h.Observe(v)
	}
	var buf bytes.Buffer
	r.WriteTo(&buf)
	for _, line := range []string{`h_bucket{le="1"} 2`, `h_bucket{le="2"} 4`, `h_bucket{le="+Inf"} 6`, `h_sum 107.5`, `h_count 6`} {
		if !strings.Contains(buf.String(), line+"\n") {
			t.Errorf("output lacks %q:\n%s", line, buf.String())
		}
	}
}

func TestConcurrentUpdates(t *testing.T) {
	r := metrics.NewRegistry()
	c := r.CounterVec("c_total", "c", "k")
	g := r.Gauge("g", "g")
	h := r.Histogram("h", "h", []float64{1})
	const workers, each = 8, 1000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				c.With([]string{"a", "b"}[i%2]).Inc()
				g.Add(0.5)
				h.Observe(float64(w % 2 * 2))
				if i%100 == 0 {
					r.WriteTo(io.Discard) // scrapes race with updates
				}
			}
		})
	}
	wg.Wait()
	if got, want := c.With("a").Value()+c.With("b").Value(), uint64(workers*each); got != want {
		t.Errorf("counter total = %d, want %d", got, want)
	}
	if got, want := g.Value(), float64(workers*each)/2; got != want {
		t.Errorf("gauge = %v, want %v", got, want)
	}
	var buf bytes.Buffer
	r.WriteTo(&buf)
	if !strings.Contains(buf.String(), "h_count 8000\n") || !strings.Contains(buf.String(), `h_bucket{le="1"} 4000`) {
		t.Errorf("histogram after concurrent observes:\n%s", buf.String())
	}
}

func TestRegistrationPanics(t *testing.T) {
	tests := []struct {
		name string
		fn   func(r *metrics.Registry)
	}{
		{"bad name", func(r *metrics.Registry) { r.Counter("9lives", "") }},
		{"dash in name", func(r *metrics.Registry) { r.Gauge("a-b", "") }},
		{"duplicate", func(r *metrics.Registry) { r.Counter("x", ""); r.Gauge("x", "") }},
		{"histogram suffix clash", func(r *metrics.Registry) { r.Counter("h_count", ""); r.Histogram("h", "", nil) }},
		{"bad label", func(r *metrics.Registry) { r.CounterVec("x", "", "a-b") }},
		{"reserved label", func(r *metrics.Registry) { r.CounterVec("x", "", "__name") }},
		{"repeated label", func(r *metrics.Registry) { r.CounterVec("x", "", "a", "a") }},
		{"le on histogram", func(r *metrics.Registry) { r.HistogramVec("x", "", nil, "le") }},
		{"unsorted buckets", func(r *metrics.Registry) { r.Histogram("x", "", []float64{2, 1}) }},
		{"label count", func(r *metrics.Registry) { r.CounterVec("x", "", "a").With("1", "2") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				p := recover()
				if s, ok := p.(string); !ok || !strings.HasPrefix(s, "metrics: ") {
					t.Errorf("panic = %v, want a \"metrics: \" message", p)
				}
			}()
			tt.fn(metrics.NewRegistry())
		})
	}
}

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(demoRegistry())
	defer srv.Close()
	tests := []struct {
		method     string
		wantStatus int
		wantBody   bool
	}{
		{http.MethodGet, http.StatusOK, true},
		{http.MethodHead, http.StatusOK, false},
		{http.MethodPost, http.StatusMethodNotAllowed, false},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+"/metrics", nil)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if tt.wantStatus != http.StatusOK {
				return
			}
			if got := resp.Header.Get("Content-Type"); got != metrics.ContentType {
				t.Errorf("Content-Type = %q, want %q", got, metrics.ContentType)
			}
			if got := strings.Contains(string(body), "posagent_sales_total 5\n"); got != tt.wantBody {
				t.Errorf("body has sales = %v, want %v:\n%s", got, tt.wantBody, body)
			}
		})
	}
}

// TestAlignment guards the 64-bit atomics: atomic.Uint64 is 8-byte aligned by
// the runtime on every GOARCH, so embedding it first or anywhere is safe. Run
// `GOARCH=386 go test ./internal/metrics/` to exercise a 32-bit layout.
func TestAlignment(t *testing.T) {
	var c metrics.Counter
	var g metrics.Gauge
	for name, p := range map[string]uintptr{"Counter": uintptr(unsafe.Pointer(&c)), "Gauge": uintptr(unsafe.Pointer(&g))} {
		if p%8 != 0 {
			t.Errorf("%s at %#x is not 8-byte aligned", name, p)
		}
	}
	r := metrics.NewRegistry()
	h := r.Histogram("h", "h", []float64{1, 2, 3})
	for range 3 {
		h.Observe(1) // would fault on a misaligned 64-bit atomic on 386/ARM
	}
}

// Families lists labelled families with no series too, which a scrape leaves out.
func TestFamilies(t *testing.T) {
	got := demoRegistry().Families()
	want := []metrics.Family{
		{Name: "posagent_backlog_invoices", Type: "gauge", Help: "Invoices not yet accepted by KSeF."},
		{Name: "posagent_certificate_days_left", Type: "gauge", Help: "Days until the Offline certificate expires."},
		{Name: "posagent_deadline_seconds", Type: "gauge", Help: "Seconds to the earliest upload deadline\\nbackslash kept."},
		{Name: "posagent_invoices_accepted_total", Type: "counter", Help: "Invoices KSeF has accepted, from the store."},
		{Name: "posagent_ksef_errors_total", Type: "counter", Labels: []string{"code", "detail"}, Help: "KSeF errors by code."},
		{Name: "posagent_print_jobs_total", Type: "counter", Labels: []string{"result"}, Help: "Print jobs by result."},
		{Name: "posagent_sales_total", Type: "counter", Help: "Sales issued as invoices."},
		{Name: "posagent_unused", Type: "gauge", Labels: []string{"x"}, Help: "A labelled family with no series is not written."},
		{Name: "posagent_upload_latency_seconds", Type: "histogram", Help: "Upload latency from issue to KSeF acceptance."},
	}
	if len(got) != len(want) {
		t.Fatalf("Families() = %d families, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i].Name != want[i].Name || got[i].Type != want[i].Type || got[i].Help != want[i].Help ||
			!slices.Equal(got[i].Labels, want[i].Labels) {
			t.Errorf("Families()[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
}
