package metrics

import (
	"math"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Metric types as written on the TYPE line.
const (
	typeCounter   = "counter"
	typeGauge     = "gauge"
	typeHistogram = "histogram"
)

var (
	nameRe  = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelRe = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// Registry holds metric families. The zero value is not usable; use [NewRegistry].
type Registry struct {
	mu       sync.Mutex // guards families
	families map[string]*family
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{families: map[string]*family{}} }

// family is one metric name with its series.
type family struct {
	name, help, typ string
	labels          []string
	buckets         []float64 // histograms only

	mu     sync.RWMutex // guards series
	series map[string]*series
}

type series struct {
	values []string // label values, in the family's label order
	metric any      // *Counter, *Gauge, *Histogram or gaugeFunc
}

type (
	gaugeFunc   func() float64
	counterFunc func() uint64
)

func (r *Registry) register(name, help, typ string, labels []string, buckets []float64) *family {
	if !nameRe.MatchString(name) {
		panic("metrics: invalid metric name " + name)
	}
	seen := map[string]bool{}
	for _, l := range labels {
		if !labelRe.MatchString(l) || strings.HasPrefix(l, "__") || seen[l] || (typ == typeHistogram && l == "le") {
			panic("metrics: invalid or repeated label name " + l + " for " + name)
		}
		seen[l] = true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, suffix := range []string{"", "_bucket", "_sum", "_count"} {
		if _, dup := r.families[name+suffix]; dup {
			panic("metrics: duplicate metric name " + name)
		}
	}
	f := &family{name: name, help: help, typ: typ, labels: slices.Clone(labels), buckets: buckets, series: map[string]*series{}}
	r.families[name] = f
	return f
}

// with returns the series for label values, creating it with mk.
func (f *family) with(values []string, mk func() any) any {
	if len(values) != len(f.labels) {
		panic("metrics: " + f.name + " takes labels " + strings.Join(f.labels, ",") + ", got " + strings.Join(values, ","))
	}
	key := strings.Join(values, "\xff")
	f.mu.RLock()
	s, ok := f.series[key]
	f.mu.RUnlock()
	if ok {
		return s.metric
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.series[key]; ok {
		return s.metric
	}
	s = &series{values: slices.Clone(values), metric: mk()}
	f.series[key] = s
	return s.metric
}

// Counter counts events; it only goes up.
type Counter struct{ v atomic.Uint64 }

// Inc adds one.
func (c *Counter) Inc() { c.v.Add(1) }

// Add adds n.
func (c *Counter) Add(n uint64) { c.v.Add(n) }

// Value returns the current count.
func (c *Counter) Value() uint64 { return c.v.Load() }

// CounterVec is a counter family with labels.
type CounterVec struct{ f *family }

// With returns the counter for the label values, in the order the labels were
// registered.
func (v *CounterVec) With(values ...string) *Counter {
	return v.f.with(values, func() any { return new(Counter) }).(*Counter)
}

// Counter registers an unlabelled counter.
func (r *Registry) Counter(name, help string) *Counter {
	return (&CounterVec{r.register(name, help, typeCounter, nil, nil)}).With()
}

// CounterVec registers a counter family with the given label names.
func (r *Registry) CounterVec(name, help string, labels ...string) *CounterVec {
	return &CounterVec{r.register(name, help, typeCounter, labels, nil)}
}

// CounterFunc registers a counter whose value fn reads at every scrape, for
// totals kept elsewhere (such as in the store, where they survive restarts).
// fn must be safe for concurrent use, quick, and never decrease.
func (r *Registry) CounterFunc(name, help string, fn func() uint64) {
	f := r.register(name, help, typeCounter, nil, nil)
	f.with(nil, func() any { return counterFunc(fn) })
}

// Gauge is a value that goes up and down.
type Gauge struct{ bits atomic.Uint64 }

// Set sets the value.
func (g *Gauge) Set(v float64) { g.bits.Store(math.Float64bits(v)) }

// Add adds d (which may be negative).
func (g *Gauge) Add(d float64) { addFloat(&g.bits, d) }

// Inc adds one.
func (g *Gauge) Inc() { g.Add(1) }

// Dec subtracts one.
func (g *Gauge) Dec() { g.Add(-1) }

// SetTime sets the value to t as Unix seconds.
func (g *Gauge) SetTime(t time.Time) { g.Set(float64(t.UnixNano()) / 1e9) }

// Value returns the current value.
func (g *Gauge) Value() float64 { return math.Float64frombits(g.bits.Load()) }

func addFloat(bits *atomic.Uint64, d float64) {
	for {
		old := bits.Load()
		if bits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+d)) {
			return
		}
	}
}

// GaugeVec is a gauge family with labels.
type GaugeVec struct{ f *family }

// With returns the gauge for the label values.
func (v *GaugeVec) With(values ...string) *Gauge {
	return v.f.with(values, func() any { return new(Gauge) }).(*Gauge)
}

// Gauge registers an unlabelled gauge.
func (r *Registry) Gauge(name, help string) *Gauge {
	return (&GaugeVec{r.register(name, help, typeGauge, nil, nil)}).With()
}

// GaugeVec registers a gauge family with the given label names.
func (r *Registry) GaugeVec(name, help string, labels ...string) *GaugeVec {
	return &GaugeVec{r.register(name, help, typeGauge, labels, nil)}
}

// GaugeFunc registers a gauge whose value fn computes at every scrape, such as
// the backlog size or seconds to the earliest deadline. fn must be safe for
// concurrent use and quick; it runs while the scrape is written.
func (r *Registry) GaugeFunc(name, help string, fn func() float64) {
	f := r.register(name, help, typeGauge, nil, nil)
	f.with(nil, func() any { return gaugeFunc(fn) })
}

// Histogram counts observations into fixed buckets.
type Histogram struct {
	upper  []float64       // bucket upper bounds, ascending; +Inf implied
	counts []atomic.Uint64 // per bucket (not cumulative); last is +Inf
	sum    atomic.Uint64   // float64 bits
}

// Observe records one value.
func (h *Histogram) Observe(v float64) {
	i, _ := slices.BinarySearch(h.upper, v) // first bound >= v: "le" is inclusive
	h.counts[i].Add(1)
	addFloat(&h.sum, v)
}

// ObserveDuration records d in seconds, the Prometheus base unit.
func (h *Histogram) ObserveDuration(d time.Duration) { h.Observe(d.Seconds()) }

// HistogramVec is a histogram family with labels.
type HistogramVec struct{ f *family }

// With returns the histogram for the label values.
func (v *HistogramVec) With(values ...string) *Histogram {
	return v.f.with(values, func() any {
		return &Histogram{upper: v.f.buckets, counts: make([]atomic.Uint64, len(v.f.buckets)+1)}
	}).(*Histogram)
}

// DefBuckets suit request latencies in seconds, 5 ms to 30 s.
var DefBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// Histogram registers an unlabelled histogram with the given bucket upper
// bounds (strictly ascending, finite; nil means DefBuckets).
func (r *Registry) Histogram(name, help string, buckets []float64) *Histogram {
	return r.HistogramVec(name, help, buckets).With()
}

// HistogramVec registers a histogram family with the given label names.
func (r *Registry) HistogramVec(name, help string, buckets []float64, labels ...string) *HistogramVec {
	if buckets == nil {
		buckets = DefBuckets
	}
	for i, b := range buckets {
		if math.IsNaN(b) || math.IsInf(b, 0) || (i > 0 && b <= buckets[i-1]) {
			panic("metrics: buckets of " + name + " must be finite and strictly ascending")
		}
	}
	return &HistogramVec{r.register(name, help, typeHistogram, labels, slices.Clone(buckets))}
}

// Family describes one registered metric family.
type Family struct {
	Name   string
	Type   string   // "counter", "gauge" or "histogram"
	Labels []string // label names in registration order (a histogram's "le" is implied)
	Help   string
}

// Families lists every registered family sorted by name, including labelled
// ones with no series yet, which a scrape does not show. Documentation and
// dashboards are checked against it.
func (r *Registry) Families() []Family {
	r.mu.Lock()
	out := make([]Family, 0, len(r.families))
	for _, f := range r.families {
		out = append(out, Family{Name: f.name, Type: f.typ, Labels: slices.Clone(f.labels), Help: f.help})
	}
	r.mu.Unlock()
	slices.SortFunc(out, func(a, b Family) int { return strings.Compare(a.Name, b.Name) })
	return out
}
