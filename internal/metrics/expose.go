package metrics

import (
	"bufio"
	"bytes"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// ContentType is the media type of the text exposition format.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// WriteTo writes every metric in the text exposition format 0.0.4.
func (r *Registry) WriteTo(w io.Writer) (int64, error) {
	r.mu.Lock()
	fams := make([]*family, 0, len(r.families))
	for _, f := range r.families {
		fams = append(fams, f)
	}
	r.mu.Unlock()
	slices.SortFunc(fams, func(a, b *family) int { return strings.Compare(a.name, b.name) })

	cw := &countWriter{w: w}
	bw := bufio.NewWriter(cw)
	for _, f := range fams {
		f.write(bw)
	}
	err := bw.Flush()
	return cw.n, err
}

func (f *family) write(w *bufio.Writer) {
	f.mu.RLock()
	all := make([]*series, 0, len(f.series))
	for _, s := range f.series {
		all = append(all, s)
	}
	f.mu.RUnlock()
	if len(all) == 0 {
		return // a labelled family with no children yet says nothing
	}
	slices.SortFunc(all, func(a, b *series) int { return slices.Compare(a.values, b.values) })

	w.WriteString("# HELP " + f.name + " " + escapeHelp(f.help) + "\n")
	w.WriteString("# TYPE " + f.name + " " + f.typ + "\n")
	for _, s := range all {
		labels := f.labelPairs(s.values)
		switch m := s.metric.(type) {
		case *Counter:
			sample(w, f.name, labels, "", strconv.FormatUint(m.Value(), 10))
		case *Gauge:
			sample(w, f.name, labels, "", formatFloat(m.Value()))
		case counterFunc:
			sample(w, f.name, labels, "", strconv.FormatUint(m(), 10))
		case gaugeFunc:
			sample(w, f.name, labels, "", formatFloat(m()))
		case *Histogram:
			var cum uint64
			for i := range m.counts {
				cum += m.counts[i].Load()
				le := "+Inf"
				if i < len(m.upper) {
					le = formatFloat(m.upper[i])
				}
				sample(w, f.name+"_bucket", labels, `le="`+le+`"`, strconv.FormatUint(cum, 10))
			}
			sample(w, f.name+"_sum", labels, "", formatFloat(math.Float64frombits(m.sum.Load())))
			sample(w, f.name+"_count", labels, "", strconv.FormatUint(cum, 10))
		}
	}
}

func (f *family) labelPairs(values []string) string {
	var b strings.Builder
	for i, name := range f.labels {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(name + `="` + escapeLabel(values[i]) + `"`)
	}
	return b.String()
}

func sample(w *bufio.Writer, name, labels, extra, value string) {
	w.WriteString(name)
	if labels != "" || extra != "" {
		w.WriteByte('{')
		w.WriteString(labels)
		if labels != "" && extra != "" {
			w.WriteByte(',')
		}
		w.WriteString(extra)
		w.WriteByte('}')
	}
	w.WriteString(" " + value + "\n")
}

var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

func escapeHelp(s string) string  { return helpEscaper.Replace(s) }
func escapeLabel(s string) string { return labelEscaper.Replace(s) }

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// ServeHTTP serves the registry for GET and HEAD.
func (r *Registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	var buf bytes.Buffer
	r.WriteTo(&buf) // a bytes.Buffer cannot fail
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.Header().Set("Cache-Control", "no-store")
	if req.Method == http.MethodGet {
		w.Write(buf.Bytes())
	}
}

var _ http.Handler = (*Registry)(nil)
