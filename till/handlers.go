package till

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/posagent/posagent/ksef"
)

// route is one endpoint of the API; docs/openapi-till.json describes each.
type route struct {
	method, path string
	handle       func(*Server, http.ResponseWriter, *http.Request)
}

var routeTable = []route{
	{"POST", "/v1/sales", (*Server).postSale},
	{"GET", "/v1/invoices", (*Server).listInvoices},
	{"GET", "/v1/invoices/{id}", (*Server).getInvoice},
	{"GET", "/v1/invoices/{id}/xml", (*Server).getXML},
	{"GET", "/v1/invoices/{id}/upo", (*Server).getUPO},
	{"POST", "/v1/invoices/{id}/reprint", (*Server).reprint},
	{"POST", "/v1/invoices/{id}/corrections", (*Server).correct},
	{"GET", "/v1/status", (*Server).status},
	{"POST", "/v1/mode", (*Server).setMode},
	{"GET", "/v1/journal", (*Server).journal},
	{"GET", "/metrics", (*Server).metrics},
	{"GET", "/", (*Server).page},
}

func (s *Server) routes() {
	s.mux = http.NewServeMux()
	allow := map[string][]string{}
	for _, rt := range routeTable {
		pattern := rt.path
		if pattern == "/" {
			pattern = "/{$}"
		}
		h := rt.handle
		s.mux.HandleFunc(rt.method+" "+pattern, func(w http.ResponseWriter, r *http.Request) { h(s, w, r) })
		allow[pattern] = append(allow[pattern], rt.method)
	}
	for pattern, methods := range allow {
		if slices.Contains(methods, "GET") {
			methods = append(methods, "HEAD")
		}
		allowed := strings.Join(methods, ", ")
		s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allowed)
			writeProblem(w, newProblem(http.StatusMethodNotAllowed, CodeMethodNotAllowed, fmt.Sprintf("%s is not allowed here; allowed: %s", r.Method, allowed)))
		})
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, newProblem(http.StatusNotFound, CodeRouteNotFound, "no such endpoint: "+r.URL.Path))
	})
	s.handler = s.wrap(s.mux)
}

// fail maps an error from the core (or a *Problem) to a response. sale, when
// known, lets validation errors get precise codes.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error, sale *ksef.Sale) {
	var p *Problem
	var size *ksef.SizeError
	switch {
	case errors.As(err, &p):
	case errors.As(err, &size):
		// Nothing was stored and no number used: the till may split the sale.
		p = newProblem(http.StatusUnprocessableEntity, CodeInvoiceTooLarge, fmt.Sprintf(
			"the invoice's XML would be %d bytes and KSeF accepts at most %d: split the sale into smaller invoices", size.Size, size.Limit))
		p.Size, p.Limit = size.Size, size.Limit
	case errors.Is(err, ksef.ErrInvalidSale):
		p = validationProblem(sale, err)
	case errors.Is(err, ErrNoUPO):
		p = newProblem(http.StatusNotFound, CodeUPONotAvailable, "invoice "+strconv.Quote(r.PathValue("id"))+
			" has no UPO yet: KSeF has not accepted it, or its UPO is still to be downloaded; see upload_state")
	case errors.Is(err, ErrNotFound):
		p = newProblem(http.StatusNotFound, CodeNotFound, "no invoice with id "+strconv.Quote(r.PathValue("id")))
	case errors.Is(err, ErrKeyConflict):
		p = newProblem(http.StatusConflict, CodeKeyReused, "this Idempotency-Key was used with a different sale (requests are compared as decoded, not byte for byte)")
	case errors.Is(err, ErrNotCorrectable):
		p = newProblem(http.StatusConflict, CodeNotCorrectable, "invoice "+strconv.Quote(r.PathValue("id"))+" cannot be corrected")
	case errors.Is(err, ErrInvalidMode):
		p = newProblem(http.StatusUnprocessableEntity, CodeInvalidMode, "unknown mode override")
	case errors.Is(err, ErrStoreFull):
		// Room comes back as KSeF accepts the queue, in minutes, not seconds.
		w.Header().Set("Retry-After", "60")
		p = newProblem(http.StatusServiceUnavailable, CodeStoreFull,
			"the invoice store is full: new sales are refused until queued invoices are accepted by KSeF; nothing stored is lost (see posagent doctor)")
	case errors.Is(err, ErrOfflineCertificateInvalid):
		p = OfflineCertificateProblem("expired, revoked or suspended")
	case errors.Is(err, ErrUnavailable):
		w.Header().Set("Retry-After", "5")
		p = newProblem(http.StatusServiceUnavailable, CodeUnavailable, "the agent cannot take requests now; retry later")
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		return // the client is gone
	default:
		// Internal details stay in the log: they may name paths or keys.
		s.log.ErrorContext(r.Context(), "till request failed", "route", r.Pattern, "error", err)
		p = newProblem(http.StatusInternalServerError, CodeInternal, "internal error; see the agent's log")
	}
	writeProblem(w, p)
}

// keyedBody reads the Idempotency-Key and the size-limited body of a request
// that creates an invoice. On a problem it answers it and reports false.
func (s *Server) keyedBody(w http.ResponseWriter, r *http.Request) (key string, body []byte, ok bool) {
	key, p := idempotencyKey(r)
	if p == nil {
		if body, p = s.readBody(w, r); p == nil {
			return key, body, true
		}
	}
	writeProblem(w, p)
	return "", nil, false
}

func (s *Server) postSale(w http.ResponseWriter, r *http.Request) {
	key, body, ok := s.keyedBody(w, r)
	if !ok {
		return
	}
	sale, err := DecodeSale(body)
	if err != nil {
		s.fail(w, r, err, nil)
		return
	}
	res, err := s.core.Issue(r.Context(), IssueRequest{Key: key, Body: body, Sale: sale})
	if err != nil {
		s.fail(w, r, err, &sale)
		return
	}
	s.writeIssued(w, res)
}

func (s *Server) writeIssued(w http.ResponseWriter, res *Issued) {
	if p := res.Pending; p != nil {
		if res.Replayed {
			w.Header().Set("Idempotent-Replayed", "true")
		}
		pc := *p
		pc.State = StatePending
		w.Header().Set("Location", "/v1/invoices/"+url.PathEscape(pc.Corrects))
		writeJSON(w, http.StatusAccepted, pc)
		return
	}
	if res.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
		writeJSON(w, http.StatusOK, res.View)
		return
	}
	w.Header().Set("Location", "/v1/invoices/"+url.PathEscape(res.ID))
	writeJSON(w, http.StatusCreated, res.View)
}

func (s *Server) getInvoice(w http.ResponseWriter, r *http.Request) {
	id, p := pathID(r)
	if p != nil {
		writeProblem(w, p)
		return
	}
	v, err := s.core.Invoice(r.Context(), id)
	if err != nil {
		s.fail(w, r, err, nil)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) getXML(w http.ResponseWriter, r *http.Request) {
	s.document(w, r, s.core.InvoiceXML, ".xml")
}

func (s *Server) getUPO(w http.ResponseWriter, r *http.Request) {
	s.document(w, r, s.core.InvoiceUPO, ".upo.xml")
}

// document answers with a stored file of an invoice, byte for byte, as
// application/xml (both the FA(3) invoice and the UPO are XML documents
// that declare their encoding), named after the invoice's number.
func (s *Server) document(w http.ResponseWriter, r *http.Request, get func(context.Context, string) (*Document, error), suffix string) {
	id, p := pathID(r)
	if p != nil {
		writeProblem(w, p)
		return
	}
	doc, err := get(r.Context(), id)
	if err != nil {
		s.fail(w, r, err, nil)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(len(doc.Data)))
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": FileStem(doc.Number) + suffix}))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	w.Write(doc.Data)
}

// FileStem makes an invoice number (FV/T1/2026/000001) a file name stem
// (FV_T1_2026_000001): letters, digits, '-' and '.' stay, anything else
// becomes '_'.
func FileStem(number string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.':
			return r
		}
		return '_'
	}, number)
}

// invoiceList is the body of GET /v1/invoices.
type invoiceList struct {
	Invoices []View `json:"invoices"`
	Next     string `json:"next,omitempty"` // pass as after= for the next page
}

func (s *Server) listInvoices(w http.ResponseWriter, r *http.Request) {
	f, p := parseFilter(r.URL.Query())
	if p != nil {
		writeProblem(w, p)
		return
	}
	views, err := s.core.Invoices(r.Context(), f)
	if err != nil {
		s.fail(w, r, err, nil)
		return
	}
	out := invoiceList{Invoices: views}
	if out.Invoices == nil {
		out.Invoices = []View{}
	}
	if len(views) == f.Limit && f.Limit > 0 {
		out.Next = views[len(views)-1].ID
	}
	writeJSON(w, http.StatusOK, out)
}

func parseFilter(q url.Values) (Filter, *Problem) {
	f := Filter{Limit: DefaultLimit}
	for k, vs := range q {
		if k != "state" && k != "limit" && k != "after" {
			return f, fieldProblem(http.StatusBadRequest, CodeInvalidQuery, k, "unknown query parameter (want state, limit, after)")
		}
		if len(vs) != 1 {
			return f, fieldProblem(http.StatusBadRequest, CodeInvalidQuery, k, "given more than once")
		}
	}
	if st := q.Get("state"); q.Has("state") {
		if !slices.Contains(States, st) {
			return f, fieldProblem(http.StatusBadRequest, CodeInvalidState, "state", fmt.Sprintf("unknown state %q (want one of %s)", st, strings.Join(States, ", ")))
		}
		f.State = st
	}
	if q.Has("limit") {
		n, err := strconv.Atoi(q.Get("limit"))
		if err != nil || n < 1 || n > MaxLimit {
			return f, fieldProblem(http.StatusBadRequest, CodeInvalidQuery, "limit", fmt.Sprintf("want an integer 1-%d, got %q", MaxLimit, q.Get("limit")))
		}
		f.Limit = n
	}
	if q.Has("after") {
		a := q.Get("after")
		if !validID(a) {
			return f, fieldProblem(http.StatusBadRequest, CodeInvalidQuery, "after", "not an invoice id")
		}
		f.After = a
	}
	return f, nil
}

// validID accepts what an invoice id may look like: 1-64 of A-Z a-z 0-9 _ -.
func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// pathID returns the {id} path value; a malformed one is simply not found.
func pathID(r *http.Request) (string, *Problem) {
	id := r.PathValue("id")
	if !validID(id) {
		return "", newProblem(http.StatusNotFound, CodeNotFound, "no invoice with id "+strconv.Quote(id))
	}
	return id, nil
}

func (s *Server) reprint(w http.ResponseWriter, r *http.Request) {
	id, p := pathID(r)
	if p != nil {
		writeProblem(w, p)
		return
	}
	v, err := s.core.Reprint(r.Context(), id)
	if err != nil {
		s.fail(w, r, err, nil)
		return
	}
	writeJSON(w, http.StatusAccepted, v)
}

func (s *Server) correct(w http.ResponseWriter, r *http.Request) {
	id, p := pathID(r)
	if p != nil {
		writeProblem(w, p)
		return
	}
	key, body, ok := s.keyedBody(w, r)
	if !ok {
		return
	}
	c, err := decodeCorrection(body)
	if err != nil {
		s.fail(w, r, err, nil)
		return
	}
	res, err := s.core.Correct(r.Context(), id, CorrectionRequest{Key: key, Body: body, Reason: c.Reason, Type: c.Type, Lines: c.Lines})
	if err != nil {
		s.fail(w, r, err, &ksef.Sale{Lines: c.Lines})
		return
	}
	s.writeIssued(w, res)
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	st, err := s.core.Status(r.Context())
	if err != nil {
		s.fail(w, r, err, nil)
		return
	}
	writeJSON(w, http.StatusOK, normalize(st))
}

// normalize returns a copy of st fit for JSON: empty lists, not null, and at
// most MaxErrors errors.
func normalize(st *Status) *Status {
	c := *st
	if c.Errors == nil {
		c.Errors = []ErrorItem{}
	}
	if len(c.Errors) > MaxErrors {
		c.Errors = c.Errors[:MaxErrors]
	}
	if c.Backlog.Overdue == nil {
		c.Backlog.Overdue = []Overdue{}
	}
	if c.Auth.Method == "" {
		c.Auth.Method = "unknown"
	}
	return &c
}

func (s *Server) setMode(w http.ResponseWriter, r *http.Request) {
	body, p := s.readBody(w, r)
	if p != nil {
		writeProblem(w, p)
		return
	}
	var m modeBody
	if err := decodeStrict(body, &m); err != nil {
		s.fail(w, r, err, nil)
		return
	}
	if !slices.Contains(Modes, m.Mode) {
		writeProblem(w, fieldProblem(http.StatusUnprocessableEntity, CodeInvalidMode, "mode", fmt.Sprintf("unknown mode %q (want one of %s)", m.Mode, strings.Join(Modes, ", "))))
		return
	}
	var err error
	switch {
	case m.Reference == "":
		err = s.core.SetMode(r.Context(), m.Mode)
	case !slices.Contains(AnnouncedModes, m.Mode):
		err = fieldProblem(http.StatusUnprocessableEntity, CodeInvalidRequest, "reference",
			"an announcement's reference goes with offline, emergency or total_failure")
	default:
		err = s.core.Announce(r.Context(), m.Mode, m.Reference)
	}
	if err != nil {
		s.fail(w, r, err, nil)
		return
	}
	st, err := s.core.Status(r.Context())
	if err != nil {
		s.fail(w, r, err, nil)
		return
	}
	writeJSON(w, http.StatusOK, normalize(st))
}

// journalBody is the body of GET /v1/journal.
type journalBody struct {
	Announcements []Announcement `json:"announcements"`
}

func (s *Server) journal(w http.ResponseWriter, r *http.Request) {
	list, err := s.core.Journal(r.Context())
	if err != nil {
		s.fail(w, r, err, nil)
		return
	}
	out := journalBody{Announcements: list}
	if out.Announcements == nil {
		out.Announcements = []Announcement{}
	}
	for i := range out.Announcements {
		if out.Announcements[i].Probes == nil {
			out.Announcements[i].Probes = []Probe{}
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	s.opts.Metrics.ServeHTTP(w, r)
}
