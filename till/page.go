package till

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/posagent/posagent/ksef"
)

//go:embed page.html
var pageHTML string

var pageTmpl = template.Must(template.New("page").Funcs(template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.In(ksef.Warsaw).Format("2006-01-02 15:04")
	},
	"whenp": func(t *time.Time) string {
		if t == nil || t.IsZero() {
			return "—"
		}
		return t.In(ksef.Warsaw).Format("2006-01-02 15:04")
	},
	"pln": func(a ksef.Amount) string { return a.String() + " PLN" },
}).Parse(pageHTML))

// pageData is what the status page template renders.
type pageData struct {
	*Status
	Errors     []ErrorItem
	LinkText   string
	LinkClass  string
	PrintClass string
	CertClass  string
	CertText   string
	AuthClass  string
	DueText    string
	DueClass   string
}

// Certificate warnings on the status page.
const (
	certWarnDays = 30
	certBadDays  = 7
)

func buildPage(st *Status) pageData {
	st = normalize(st)
	d := pageData{Status: st, Errors: st.Errors}
	switch st.Link.State {
	case "up":
		d.LinkText, d.LinkClass = "up", "ok"
	case "down":
		d.LinkText, d.LinkClass = "down", "bad"
	default:
		d.LinkText, d.LinkClass = "unknown", "warn"
	}
	d.PrintClass = "ok"
	switch st.Printer.State {
	case "ok":
	case "paper_low", "unknown":
		d.PrintClass = "warn"
	default:
		d.PrintClass = "bad"
	}
	switch c := st.Certificate; {
	case c.NotAfter == nil:
		d.CertText, d.CertClass = "no certificate", "bad"
	case c.KSeFState == "Revoked":
		d.CertText, d.CertClass = "revoked in KSeF", "bad"
	case c.KSeFState == "Blocked":
		d.CertText, d.CertClass = "suspended in KSeF", "bad"
	case c.DaysLeft < 0:
		d.CertText, d.CertClass = "expired", "bad"
	default:
		d.CertText = strconv.Itoa(c.DaysLeft) + " days left"
		d.CertClass = "ok"
		if c.DaysLeft < certWarnDays {
			d.CertClass = "warn"
		}
		if c.DaysLeft < certBadDays {
			d.CertClass = "bad"
		}
	}
	switch a := st.Auth; {
	case a.Alarm != "":
		d.AuthClass = "bad"
	case a.Method == "xades":
		d.AuthClass = "ok"
	default:
		d.AuthClass = "warn" // token logins end on 2026-12-31
	}
	switch e := st.Backlog.EarliestDeadline; {
	case e == nil:
		d.DueText, d.DueClass = "nothing due", "ok"
	case !e.After(st.Now):
		d.DueText, d.DueClass = "overdue by "+roundDur(st.Now.Sub(*e)), "bad"
	default:
		d.DueText, d.DueClass = "in "+roundDur(e.Sub(st.Now)), "ok"
		if e.Sub(st.Now) < 6*time.Hour {
			d.DueClass = "warn"
		}
	}
	return d
}

// roundDur writes a duration for people: "3 d 4 h", "5 h 10 min", "7 min".
func roundDur(d time.Duration) string {
	switch {
	case d >= 24*time.Hour:
		return fmt.Sprintf("%d d %d h", d/(24*time.Hour), d%(24*time.Hour)/time.Hour)
	case d >= time.Hour:
		return fmt.Sprintf("%d h %d min", d/time.Hour, d%time.Hour/time.Minute)
	}
	return fmt.Sprintf("%d min", d/time.Minute)
}

// RenderPage writes the status page for st. It is what GET / serves.
func RenderPage(st *Status) ([]byte, error) {
	var buf bytes.Buffer
	if err := pageTmpl.Execute(&buf, buildPage(st)); err != nil {
		return nil, fmt.Errorf("render status page: %w", err)
	}
	return buf.Bytes(), nil
}

func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	st, err := s.core.Status(r.Context())
	if err != nil {
		s.fail(w, r, err, nil)
		return
	}
	if st.Now.IsZero() {
		c := *st
		c.Now = s.opts.Now()
		st = &c
	}
	b, err := RenderPage(st)
	if err != nil {
		s.fail(w, r, err, nil)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("Cache-Control", "no-store")
	// No external assets: forbid them outright so a regression shows at once.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
	h.Set("X-Content-Type-Options", "nosniff")
	w.Write(b)
}
