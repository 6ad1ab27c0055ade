package ksefe2e_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/posagent/posagent/internal/openapischema"
	"github.com/posagent/posagent/internal/testutil"
)

// exchange is one HTTP round trip as the wire saw it.
type exchange struct {
	Method   string
	Path     string // URL path, e.g. /v2/sessions/online
	Query    string // raw query
	Op       string // the OpenAPI path template, when the request is a /v2 operation
	Auth     bool   // an Authorization header was sent
	ReqType  string
	ReqBody  []byte
	Status   int // 0 when no response arrived
	RespType string
	Header   http.Header
	RespBody []byte
	Err      error
}

// codes returns the KSeF error codes of a problem+json or ExceptionResponse body.
func (ex exchange) codes() []int {
	var b struct {
		Errors []struct {
			Code int `json:"code"`
		} `json:"errors"`
		Exception struct {
			List []struct {
				Code int `json:"exceptionCode"`
			} `json:"exceptionDetailList"`
		} `json:"exception"`
	}
	_ = json.Unmarshal(ex.RespBody, &b)
	var out []int
	for _, e := range b.Errors {
		out = append(out, e.Code)
	}
	for _, e := range b.Exception.List {
		out = append(out, e.Code)
	}
	return out
}

func (ex exchange) String() string {
	s := fmt.Sprintf("%s %s → %d", ex.Method, ex.Path, ex.Status)
	if c := ex.codes(); len(c) > 0 {
		s += fmt.Sprint(" ", c)
	}
	if ex.Err != nil {
		s += " (" + ex.Err.Error() + ")"
	}
	return s
}

// wire is the http.RoundTripper between the client and the simulator. It
// records every exchange, validates /v2 bodies against the OpenAPI document
// (a violation fails the test), and lets a test replace an outcome with hook.
type wire struct {
	t    testing.TB
	next *http.Transport
	spec *apiSpec

	mu   sync.Mutex // guards log and hook
	log  []exchange
	hook func(ex *exchange) error
}

func newWire(t testing.TB, spec *apiSpec) *wire {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	return &wire{t: t, next: tr, spec: spec}
}

// setHook installs fn, called after the simulator answered (and after the
// answer was validated). fn may change ex.Status and ex.RespBody; a non-nil
// error replaces the response (the request was processed, the answer lost).
func (w *wire) setHook(fn func(ex *exchange) error) {
	w.mu.Lock()
	w.hook = fn
	w.mu.Unlock()
}

// exchanges returns a copy of the log.
func (w *wire) exchanges() []exchange {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.log)
}

// mark returns the log length, for since.
func (w *wire) mark() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.log)
}

// since returns the exchanges after mark.
func (w *wire) since(mark int) []exchange { return w.exchanges()[mark:] }

func (w *wire) RoundTrip(req *http.Request) (*http.Response, error) {
	ex := exchange{Method: req.Method, Path: req.URL.Path, Query: req.URL.RawQuery, Auth: req.Header.Get("Authorization") != "", ReqType: req.Header.Get("Content-Type")}
	out := req
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		ex.ReqBody = b
		out = req.Clone(req.Context())
		out.Body = io.NopCloser(bytes.NewReader(b))
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	resp, err := w.next.RoundTrip(out)
	if err != nil {
		ex.Err = err
		w.record(ex)
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		ex.Err = err
		w.record(ex)
		return nil, err
	}
	ex.Status, ex.RespType, ex.Header, ex.RespBody = resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Clone(), body
	if w.spec != nil {
		op, errs := w.spec.check(ex)
		ex.Op = op
		for _, e := range errs {
			w.t.Errorf("conformance: %s %s → %d: %v", ex.Method, ex.Path, ex.Status, e)
		}
	}
	w.mu.Lock()
	hook := w.hook
	w.mu.Unlock()
	if hook != nil {
		if err := hook(&ex); err != nil {
			ex.Err = err
			w.record(ex)
			return nil, err
		}
	}
	w.record(ex)
	if ex.Status != resp.StatusCode {
		resp.StatusCode, resp.Status = ex.Status, fmt.Sprintf("%d %s", ex.Status, http.StatusText(ex.Status))
	}
	resp.Body = io.NopCloser(bytes.NewReader(ex.RespBody))
	resp.ContentLength = int64(len(ex.RespBody))
	resp.Header.Del("Content-Length")
	return resp, nil
}

func (w *wire) record(ex exchange) {
	w.mu.Lock()
	w.log = append(w.log, ex)
	w.mu.Unlock()
}

// apiSpec is the operations table of the official OpenAPI document.
type apiSpec struct {
	doc  *openapischema.Doc
	base string // the servers' path prefix, "/v2"
	ops  []operation
}

type operation struct {
	method   string
	template string
	segs     []string
	literals int
	params   map[string]json.RawMessage            // path parameter → schema
	req      map[string]json.RawMessage            // media type → schema
	resp     map[string]map[string]json.RawMessage // status → media type → schema
}

var (
	specOnce sync.Once
	specVal  *apiSpec
	specErr  error
)

// loadSpec reads open-api.json once per test binary.
func loadSpec(t testing.TB) *apiSpec {
	t.Helper()
	doc := openapischema.Load(t)
	specOnce.Do(func() { specVal, specErr = parseSpec(doc, testutil.Official(openapischema.OfficialPath)) })
	if specErr != nil {
		t.Fatalf("load OpenAPI operations: %v", specErr)
	}
	return specVal
}

func parseSpec(doc *openapischema.Doc, path string) (*apiSpec, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	type content map[string]struct {
		Schema json.RawMessage `json:"schema"`
	}
	var d struct {
		Servers []struct {
			URL string `json:"url"`
		} `json:"servers"`
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, err
	}
	if len(d.Servers) == 0 {
		return nil, fmt.Errorf("no servers")
	}
	u, err := url.Parse(d.Servers[0].URL)
	if err != nil {
		return nil, err
	}
	s := &apiSpec{doc: doc, base: strings.TrimRight(u.Path, "/")}
	for tmpl, methods := range d.Paths {
		for m, rawOp := range methods {
			m = strings.ToUpper(m)
			if !slices.Contains([]string{"GET", "POST", "PUT", "DELETE", "PATCH"}, m) {
				continue
			}
			var o struct {
				Parameters []struct {
					Name   string          `json:"name"`
					In     string          `json:"in"`
					Schema json.RawMessage `json:"schema"`
				} `json:"parameters"`
				RequestBody *struct {
					Content content `json:"content"`
				} `json:"requestBody"`
				Responses map[string]struct {
					Content content `json:"content"`
				} `json:"responses"`
			}
			if err := json.Unmarshal(rawOp, &o); err != nil {
				return nil, fmt.Errorf("%s %s: %w", m, tmpl, err)
			}
			op := operation{method: m, template: tmpl, segs: strings.Split(strings.Trim(tmpl, "/"), "/"),
				params: map[string]json.RawMessage{}, resp: map[string]map[string]json.RawMessage{}}
			for _, p := range o.Parameters {
				if p.In == "path" {
					op.params[p.Name] = p.Schema
				}
			}
			for _, seg := range op.segs {
				if !strings.HasPrefix(seg, "{") {
					op.literals++
				}
			}
			if o.RequestBody != nil {
				op.req = map[string]json.RawMessage{}
				for mt, c := range o.RequestBody.Content {
					op.req[mt] = c.Schema
				}
			}
			for code, r := range o.Responses {
				op.resp[code] = map[string]json.RawMessage{}
				for mt, c := range r.Content {
					op.resp[code][mt] = c.Schema
				}
			}
			s.ops = append(s.ops, op)
		}
	}
	sort.Slice(s.ops, func(i, j int) bool { return s.ops[i].template < s.ops[j].template })
	return s, nil
}

// find returns the operation for method and a concrete path; a literal
// segment beats a parameter (/invoices/failed over /invoices/{ref}).
func (s *apiSpec) find(method, path string) *operation {
	rest, ok := strings.CutPrefix(path, s.base+"/")
	if !ok {
		return nil
	}
	segs := strings.Split(strings.Trim(rest, "/"), "/")
	var best *operation
	for i := range s.ops {
		op := &s.ops[i]
		if op.method != method || len(op.segs) != len(segs) {
			continue
		}
		match := true
		for j, seg := range op.segs {
			if !strings.HasPrefix(seg, "{") && seg != segs[j] {
				match = false
				break
			}
		}
		if match && (best == nil || op.literals > best.literals) {
			best = op
		}
	}
	return best
}

// check validates one exchange of a /v2 operation and returns the operation's
// template. Other paths (pre-signed blobs, the availability feed) have no
// OpenAPI operation and are not checked. Undeclared 5xx answers (a proxy's 502,
// an injected fault) are not checked either; every other answer must be
// declared with its media type and validate.
func (s *apiSpec) check(ex exchange) (string, []error) {
	if !strings.HasPrefix(ex.Path, s.base+"/") {
		return "", nil
	}
	op := s.find(ex.Method, ex.Path)
	if op == nil {
		return "", []error{fmt.Errorf("no such operation in open-api.json")}
	}
	var errs []error
	if err := s.checkPath(op, ex.Path); err != nil {
		errs = append(errs, fmt.Errorf("path: %w", err))
	}
	if err := s.checkRequest(op, ex.ReqType, ex.ReqBody); err != nil {
		errs = append(errs, fmt.Errorf("request: %w", err))
	}
	if err := s.checkResponse(op, ex.Status, ex.RespType, ex.RespBody); err != nil {
		errs = append(errs, fmt.Errorf("response: %w", err))
	}
	return op.template, errs
}

// checkPath validates the path parameters (reference numbers, KSeF numbers)
// that the client took from earlier answers of the simulator.
func (s *apiSpec) checkPath(op *operation, path string) error {
	segs := strings.Split(strings.Trim(strings.TrimPrefix(path, s.base), "/"), "/")
	for i, seg := range op.segs {
		name, ok := strings.CutPrefix(seg, "{")
		if !ok {
			continue
		}
		name = strings.TrimSuffix(name, "}")
		schema, ok := op.params[name]
		if !ok {
			return fmt.Errorf("parameter %s is not declared", name)
		}
		v, err := url.PathUnescape(segs[i])
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if err := s.checkBody(schema, b); err != nil {
			return fmt.Errorf("%s %q: %w", name, v, err)
		}
	}
	return nil
}

func (s *apiSpec) checkRequest(op *operation, ctype string, body []byte) error {
	if op.req == nil {
		if len(body) > 0 {
			return fmt.Errorf("%d-byte body sent to an operation that takes none", len(body))
		}
		return nil
	}
	if len(body) == 0 {
		return fmt.Errorf("no body, the operation requires one of %v", keys(op.req))
	}
	schema, ok := op.req[mediaType(ctype)]
	if !ok {
		return fmt.Errorf("Content-Type %q, the operation accepts %v", ctype, keys(op.req))
	}
	return s.checkBody(schema, body)
}

func (s *apiSpec) checkResponse(op *operation, status int, ctype string, body []byte) error {
	media, ok := op.resp[strconv.Itoa(status)]
	if !ok {
		if status >= 500 {
			return nil
		}
		return fmt.Errorf("status %d is not declared (declared: %v)", status, keys(op.resp))
	}
	if len(media) == 0 {
		if len(body) > 0 {
			return fmt.Errorf("status %d declares no content, got %d bytes", status, len(body))
		}
		return nil
	}
	schema, ok := media[mediaType(ctype)]
	if !ok {
		return fmt.Errorf("Content-Type %q is not declared for status %d (declared: %v)", ctype, status, keys(media))
	}
	return s.checkBody(schema, body)
}

// checkBody validates body against an operation-level schema: a $ref to a
// component, an allOf of such with a required list, an array of them, or a
// plain string (the XML payloads, checked against their XSDs elsewhere). Any
// other form is an error, so a schema the check does not understand can never
// pass silently.
func (s *apiSpec) checkBody(schema json.RawMessage, body []byte) error {
	var sc struct {
		Ref      string            `json:"$ref"`
		AllOf    []json.RawMessage `json:"allOf"`
		Required []string          `json:"required"`
		Type     string            `json:"type"`
		Items    json.RawMessage   `json:"items"`
	}
	if err := json.Unmarshal(schema, &sc); err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	switch {
	case sc.Ref != "":
		name, ok := strings.CutPrefix(sc.Ref, "#/components/schemas/")
		if !ok {
			return fmt.Errorf("unsupported $ref %q", sc.Ref)
		}
		if err := s.doc.Validate(name, body); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	case len(sc.AllOf) > 0:
		for _, sub := range sc.AllOf {
			if err := s.checkBody(sub, body); err != nil {
				return err
			}
		}
	case sc.Type == "array":
		var items []json.RawMessage
		if err := json.Unmarshal(body, &items); err != nil {
			return fmt.Errorf("want a JSON array: %w", err)
		}
		for i, it := range items {
			if err := s.checkBody(sc.Items, it); err != nil {
				return fmt.Errorf("item %d: %w", i, err)
			}
		}
	case sc.Type == "string":
		return nil
	default:
		return fmt.Errorf("schema form not understood: %s", schema)
	}
	if len(sc.Required) > 0 {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			return fmt.Errorf("want a JSON object: %w", err)
		}
		for _, k := range sc.Required {
			if _, ok := m[k]; !ok {
				return fmt.Errorf("required property %q missing", k)
			}
		}
	}
	return nil
}

func mediaType(ctype string) string {
	mt, _, err := mime.ParseMediaType(ctype)
	if err != nil {
		return ctype
	}
	return mt
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
