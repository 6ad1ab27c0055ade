package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/internal/logx"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/outbox"
	"github.com/posagent/posagent/till"
	"github.com/posagent/posagent/till/tillagent"
)

func runInvoices(ctx context.Context, m *Main, args []string) error {
	return runSub(ctx, m, "invoices", args, []verb{
		{"list", "list stored invoices with their upload and print state", runInvoicesList},
		{"show", "show one invoice with its event log", runInvoicesShow},
		{"export", "write the XML (and UPO) of stored invoices to a directory", runInvoicesExport},
		{"reprint", "print a duplicate of an invoice", runInvoicesReprint},
		{"journal", "the announced KSeF outages and failed probes, for the tax office", runInvoicesJournal},
	})
}

// openStoreFor opens the configured store for a CLI verb. It never creates
// one, and reports a store held by the running service as errStoreBusy.
func openStoreFor(cfg *config.Config) (*outbox.Store, error) {
	path := filepath.Join(cfg.Store.Dir, storeFile)
	ok, err := exists(path)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if !ok {
		return nil, fmt.Errorf("no store at %s: nothing has been issued yet: %w", path, outbox.ErrNotFound)
	}
	st, err := outbox.Open(path, &outbox.Options{Timeout: 300 * time.Millisecond, MaxSize: int64(cfg.Store.CapMB) << 20})
	if errors.Is(err, outbox.ErrLocked) {
		return nil, fmt.Errorf("%w (%s): stop it, or use the till API (GET /v1/invoices)", errStoreBusy, path)
	}
	if err != nil {
		return nil, err
	}
	return st, nil
}

// uploadState checks the value of --state; "" means every state.
func uploadState(s string) (outbox.UploadState, error) {
	switch us := outbox.UploadState(s); us {
	case "", outbox.UploadQueued, outbox.UploadSending, outbox.UploadAccepted, outbox.UploadRejected, outbox.UploadBlocked, outbox.UploadOutside:
		return us, nil
	}
	return "", usagef("--state %q is not one of queued, sending, accepted, rejected, blocked, outside", s)
}

// invoiceRow is one invoice in `invoices list --json`.
type invoiceRow struct {
	ID         string    `json:"id"`
	Number     string    `json:"number"`
	Kind       string    `json:"kind"`
	P1         string    `json:"p1"`
	Mode       string    `json:"mode"`
	Upload     string    `json:"upload_state"`
	Print      string    `json:"print_state"`
	Deadline   time.Time `json:"deadline,omitzero"`
	KSeFNumber string    `json:"ksef_number,omitempty"`
	Gross      string    `json:"gross"`
}

func rowOf(inv *outbox.Invoice) invoiceRow {
	return invoiceRow{
		ID: inv.ID, Number: inv.Number, Kind: inv.Kind, P1: inv.P1, Mode: inv.Mode,
		Upload: string(inv.Upload), Print: string(inv.Print), Deadline: inv.Deadline,
		KSeFNumber: inv.KSeFNumber, Gross: ksef.Amount(inv.Gross).String(),
	}
}

func fmtDeadline(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(ksef.Warsaw).Format("2006-01-02 15:04")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func runInvoicesList(ctx context.Context, m *Main, args []string) error {
	f := m.newFlags("invoices list", "[--state STATE] [--limit N] [--json]",
		"Lists stored invoices in issue order. STATE is an upload state: queued, sending,\n"+
			"accepted, rejected, blocked or outside (issued in a total failure, not sent to\n"+
			"KSeF). While the service runs (and holds the store) the list comes from its till\n"+
			"API.").withConfig().withJSON()
	state := f.String("state", "", "only invoices in this upload `state`")
	limit := f.Int("limit", 0, "at most `N` invoices (0: all)")
	if _, err := f.parseN(args, 0); err != nil {
		return err
	}
	us, err := uploadState(*state)
	if err != nil {
		return err
	}
	if *limit < 0 {
		return usagef("--limit %d: want 0 (all) or more", *limit)
	}
	cfg, err := f.loadConfig()
	if err != nil {
		return err
	}
	rows := []invoiceRow{}
	st, err := openStoreFor(cfg)
	switch {
	case errors.Is(err, errStoreBusy):
		// The service holds the store: ask it through the till API.
		if rows, err = listViaTill(ctx, m.tillClient(cfg), *state, *limit); err != nil {
			return err
		}
	case err != nil:
		return err
	default:
		defer st.Close()
		err = eachInvoice(ctx, st, us, func(inv *outbox.Invoice) (bool, error) {
			rows = append(rows, rowOf(inv))
			return *limit <= 0 || len(rows) < *limit, nil
		})
		if err != nil {
			return err
		}
	}
	if f.json {
		return printJSON(m.Stdout, rows)
	}
	t := newTable(m.Stdout, "ID", "NUMBER", "KIND", "P1", "MODE", "UPLOAD", "PRINT", "DEADLINE", "GROSS", "KSEF NUMBER")
	for _, r := range rows {
		t.row(r.ID, r.Number, r.Kind, r.P1, r.Mode, r.Upload, dash(r.Print), fmtDeadline(r.Deadline), r.Gross, dash(r.KSeFNumber))
	}
	if err := t.flush(); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "%d invoice(s)\n", len(rows))
	return nil
}

// tillAPIErr is a failed call to the till API of the service that holds the
// store: both are said, since neither the store nor the API could answer.
func tillAPIErr(err error) error {
	return fmt.Errorf("%w; the till API: %w", errStoreBusy, err)
}

// listViaTill pages through GET /v1/invoices of the running agent.
func listViaTill(ctx context.Context, tc *tillClient, state string, limit int) ([]invoiceRow, error) {
	rows := []invoiceRow{}
	err := eachViaTill(ctx, tc, state, func(v *till.View) bool {
		r := invoiceRow{ID: v.ID, Number: v.Number, Kind: v.Kind, P1: v.IssueDate.String(), Mode: v.Mode,
			Upload: v.Upload, Print: v.Print, KSeFNumber: v.KSeFNumber, Gross: v.Gross.String()}
		if v.Deadline != nil {
			r.Deadline = *v.Deadline
		}
		rows = append(rows, r)
		return limit <= 0 || len(rows) < limit
	})
	return rows, err
}

// eachViaTill pages through GET /v1/invoices in id order until fn says stop.
func eachViaTill(ctx context.Context, tc *tillClient, state string, fn func(*till.View) bool) error {
	after := ""
	for {
		var page struct {
			Invoices []till.View `json:"invoices"`
			Next     string      `json:"next"` // the after= of the next page
		}
		q := url.Values{"limit": {strconv.Itoa(till.MaxLimit)}}
		if state != "" {
			q.Set("state", state)
		}
		if after != "" {
			q.Set("after", after)
		}
		if err := tc.do(ctx, http.MethodGet, "/v1/invoices?"+q.Encode(), nil, nil, &page); err != nil {
			return tillAPIErr(err)
		}
		for i := range page.Invoices {
			if !fn(&page.Invoices[i]) {
				return nil
			}
		}
		if page.Next == "" {
			return nil
		}
		after = page.Next
	}
}

// listPage is how many invoices eachInvoice reads per transaction.
const listPage = 500

// eachInvoice pages through the store's invoices in id order until fn says stop.
func eachInvoice(ctx context.Context, st *outbox.Store, us outbox.UploadState, fn func(*outbox.Invoice) (bool, error)) error {
	after := ""
	for {
		page, err := st.List(ctx, outbox.Filter{Upload: us, After: after, Limit: listPage})
		if err != nil {
			return err
		}
		for i := range page {
			more, err := fn(&page[i])
			if err != nil || !more {
				return err
			}
		}
		if len(page) < listPage {
			return nil
		}
		after = page[len(page)-1].ID
	}
}

// findInvoice looks an invoice up by id, or by number when ref is not an id.
func findInvoice(ctx context.Context, st *outbox.Store, ref string) (*outbox.Invoice, error) {
	inv, err := st.Get(ctx, ref)
	if err == nil {
		return inv, nil
	}
	if !errors.Is(err, outbox.ErrInvalidID) && !errors.Is(err, outbox.ErrNotFound) {
		return nil, err
	}
	byNum, err := st.ByNumber(ctx, ref)
	if errors.Is(err, outbox.ErrNotFound) {
		return nil, fmt.Errorf("invoice %q: %w", ref, outbox.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("invoice %q: %w", ref, err)
	}
	return st.Get(ctx, byNum.ID)
}

// invoiceDetail is `invoices show --json`.
type invoiceDetail struct {
	*outbox.Invoice
	UPOSize int `json:"upo_size,omitempty"`
	XMLSize int `json:"xml_size"`
}

func runInvoicesShow(ctx context.Context, m *Main, args []string) error {
	f := m.newFlags("invoices show", "[--xml] [--json] ID|NUMBER",
		"Shows one invoice: its numbers, mode, deadline, states, QR links and the event\n"+
			"log of everything that happened to it. --xml prints the exact stored XML.\n"+
			"While the service runs (and holds the store) the invoice comes from its till\n"+
			"API: --xml is the same bytes, the table has no event log, and --json prints\n"+
			"the API's invoice object (docs/openapi-till.json).").withConfig().withJSON()
	xml := f.Bool("xml", false, "print the stored FA(3) XML bytes instead")
	pos, err := f.parseN(args, 1)
	if err != nil {
		return err
	}
	cfg, err := f.loadConfig()
	if err != nil {
		return err
	}
	st, err := openStoreFor(cfg)
	if errors.Is(err, errStoreBusy) {
		return showViaTill(ctx, m, m.tillClient(cfg), pos[0], *xml, f.json)
	}
	if err != nil {
		return err
	}
	defer st.Close()
	inv, err := findInvoice(ctx, st, pos[0])
	if err != nil {
		return err
	}
	switch {
	case *xml:
		_, err := m.Stdout.Write(inv.XML)
		return err
	case f.json:
		return printJSON(m.Stdout, invoiceDetail{Invoice: inv, UPOSize: len(inv.UPO), XMLSize: len(inv.XML)})
	}
	w := m.Stdout
	kv := newTable(w, "FIELD", "VALUE")
	for _, r := range [][2]string{
		{"id", inv.ID}, {"number", inv.Number}, {"kind", inv.Kind}, {"p1", inv.P1},
		{"issued", inv.IssuedAt.In(ksef.Warsaw).Format(time.RFC3339)}, {"mode", inv.Mode},
		{"buyer", dash(inv.BuyerClass)}, {"gross", ksef.Amount(inv.Gross).String()}, {"vat", ksef.Amount(inv.VAT).String()},
		{"deadline", fmtDeadline(inv.Deadline)}, {"upload", string(inv.Upload)}, {"print", dash(string(inv.Print))},
		{"ksef number", dash(inv.KSeFNumber)}, {"hash", inv.Hash.String()}, {"kod1", dash(inv.KOD1)}, {"kod2", dash(inv.KOD2)},
		{"reprints", strconv.Itoa(len(inv.Reprints))}, {"upo", fmt.Sprintf("%d bytes", len(inv.UPO))},
		{"correction of", dash(inv.CorrectionOf)}, {"corrections", dash(strings.Join(inv.Corrections, ","))},
		{"rejected", dash(strings.TrimSpace(inv.RejectCode + " " + inv.RejectInfo))},
	} {
		kv.row(r[0], r[1])
	}
	if err := kv.flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nevents:")
	t := newTable(w, "  AT", "EVENT", "CODE")
	for _, e := range inv.Events {
		t.row("  "+e.At.In(ksef.Warsaw).Format("2006-01-02 15:04:05.000"), e.What, dash(e.Code))
	}
	return t.flush()
}

// showViaTill is invoices show while the service holds the store: bbolt
// cannot open it even read-only then (a read-only open takes a shared flock,
// which the service's exclusive one excludes), so the running agent answers.
func showViaTill(ctx context.Context, m *Main, tc *tillClient, ref string, xml, asJSON bool) error {
	v, err := findViaTill(ctx, tc, ref)
	if err != nil {
		return err
	}
	if xml {
		data, err := tc.raw(ctx, "/v1/invoices/"+url.PathEscape(v.ID)+"/xml")
		if err != nil {
			return tillAPIErr(err)
		}
		_, err = m.Stdout.Write(data)
		return err
	}
	if asJSON {
		return printJSON(m.Stdout, v)
	}
	deadline := time.Time{}
	if v.Deadline != nil {
		deadline = *v.Deadline
	}
	kv := newTable(m.Stdout, "FIELD", "VALUE")
	for _, r := range [][2]string{
		{"id", v.ID}, {"number", v.Number}, {"kind", v.Kind}, {"p1", v.IssueDate.String()}, {"mode", v.Mode},
		{"gross", v.Gross.String()}, {"vat", v.VAT.String()}, {"deadline", fmtDeadline(deadline)},
		{"upload", v.Upload}, {"print", dash(v.Print)}, {"ksef number", dash(v.KSeFNumber)}, {"hash", dash(v.Hash)},
		{"kod1", dash(v.Kod1)}, {"kod2", dash(v.Kod2)}, {"correction of", dash(v.Corrects)}, {"rejected", dash(v.Error)},
	} {
		kv.row(r[0], r[1])
	}
	if err := kv.flush(); err != nil {
		return err
	}
	fmt.Fprintln(m.Stdout, "\n(from the running service's till API; the event log shows once it is stopped)")
	return nil
}

// findViaTill finds an invoice by id, or else by number, through the till
// API.
func findViaTill(ctx context.Context, tc *tillClient, ref string) (*till.View, error) {
	var v till.View
	err := tc.do(ctx, http.MethodGet, "/v1/invoices/"+url.PathEscape(ref), nil, nil, &v)
	var te *tillError
	switch {
	case err == nil:
		return &v, nil
	case !errors.As(err, &te) || te.Status != http.StatusNotFound:
		return nil, tillAPIErr(err)
	}
	// Not an id: a number. The API lists in id order; a technical correction
	// shares its number with the rejected original and comes later.
	var found *till.View
	err = eachViaTill(ctx, tc, "", func(v *till.View) bool {
		if v.Number == ref {
			found = v
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	if found == nil {
		return nil, fmt.Errorf("invoice %q: %w", ref, outbox.ErrNotFound)
	}
	return found, nil
}

// fileName turns an invoice number into a safe file name stem, the one the
// till API names the invoice's files with.
var fileName = till.FileStem

// progress prints "label n/total" when n changes, and always the final
// count: on a terminal rewritten in place (\r) at most every 100 ms,
// elsewhere (a log, a pipe) as whole lines at most every second, which a
// \r would run together.
type progress struct {
	w     io.Writer
	label string
	total int
	tty   bool
	last  time.Time
	shown int
}

func newProgress(w io.Writer, label string, total int) *progress {
	return &progress{w: w, label: label, total: total, tty: logx.IsTerminal(w)}
}

func (p *progress) step(n int) {
	every := time.Second
	if p.tty {
		every = 100 * time.Millisecond
	}
	if n < p.total && (n == p.shown || time.Since(p.last) < every) {
		return
	}
	p.last, p.shown = time.Now(), n
	if !p.tty {
		fmt.Fprintf(p.w, "%s %d/%d\n", p.label, n, p.total)
		return
	}
	fmt.Fprintf(p.w, "\r%s %d/%d", p.label, n, p.total)
	if n >= p.total {
		fmt.Fprintln(p.w)
	}
}

func runInvoicesExport(ctx context.Context, m *Main, args []string) error {
	f := m.newFlags("invoices export", "--dir DIR [--state STATE]",
		"Writes each invoice's exact stored XML to DIR/<number>.xml and its UPO, when KSeF\n"+
			"sent one, to DIR/<number>.upo.xml. Progress goes to standard error. While the\n"+
			"service runs (and holds the store) the files come from its till API, byte for\n"+
			"byte the same.").withConfig().withJSON()
	dir := f.String("dir", "", "output `directory` (created)")
	state := f.String("state", "", "only invoices in this upload `state`")
	if _, err := f.parseN(args, 0); err != nil {
		return err
	}
	if *dir == "" {
		return usagef("invoices export: --dir is required")
	}
	us, err := uploadState(*state)
	if err != nil {
		return err
	}
	cfg, err := f.loadConfig()
	if err != nil {
		return err
	}
	st, err := openStoreFor(cfg)
	busy := errors.Is(err, errStoreBusy)
	if err != nil && !busy {
		return err
	}
	if st != nil {
		defer st.Close()
	}
	if err := os.MkdirAll(*dir, 0o750); err != nil {
		return fmt.Errorf("invoices export: %w", err)
	}
	ex := &exporter{dir: *dir, done: []exported{}, seen: map[string]bool{}}
	if busy {
		err = ex.viaTill(ctx, m, m.tillClient(cfg), *state)
	} else {
		err = ex.fromStore(ctx, m, st, us)
	}
	if err != nil {
		return fmt.Errorf("invoices export: %w", err)
	}
	if f.json {
		return printJSON(m.Stdout, ex.done)
	}
	fmt.Fprintf(m.Stdout, "exported %d invoice(s) to %s\n", len(ex.done), *dir)
	return nil
}

// exported is one invoice in `invoices export --json`.
type exported struct {
	Number string `json:"number"`
	XML    string `json:"xml"`
	UPO    string `json:"upo,omitempty"`
}

// exporter writes invoices' files into dir.
type exporter struct {
	dir  string
	prog *progress
	done []exported
	seen map[string]bool // numbers written in this run
}

// write writes one invoice's XML and, if any, its UPO. A technical
// correction has its rejected original's number: it is told apart by its id.
func (ex *exporter) write(id, number string, tech bool, xml, upo []byte) error {
	stem := fileName(number)
	if tech || ex.seen[number] {
		stem += ".tech-" + id
	}
	ex.seen[number] = true
	e := exported{Number: number, XML: filepath.Join(ex.dir, stem+".xml")}
	if err := writeFileAtomic(e.XML, xml, 0o640); err != nil {
		return err
	}
	if len(upo) > 0 {
		e.UPO = filepath.Join(ex.dir, stem+".upo.xml")
		if err := writeFileAtomic(e.UPO, upo, 0o640); err != nil {
			return err
		}
	}
	ex.done = append(ex.done, e)
	ex.prog.step(len(ex.done))
	return nil
}

// finish prints the final count when fewer than announced were written.
func (ex *exporter) finish() {
	if ex.prog.total == 0 || len(ex.done) < ex.prog.total {
		ex.prog.total = len(ex.done)
		ex.prog.step(len(ex.done))
	}
}

func (ex *exporter) fromStore(ctx context.Context, m *Main, st *outbox.Store, us outbox.UploadState) error {
	stats, err := st.Stats(ctx, m.now())
	if err != nil {
		return err
	}
	total := 0
	for s, n := range stats.Upload {
		if us == "" || s == us {
			total += n
		}
	}
	ex.prog = newProgress(m.Stderr, "export", total)
	err = eachInvoice(ctx, st, us, func(row *outbox.Invoice) (bool, error) {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		inv, err := st.Get(ctx, row.ID)
		if err != nil {
			return false, err
		}
		return true, ex.write(inv.ID, inv.Number, inv.TechnicalCorrectionOf != "", inv.XML, inv.UPO)
	})
	ex.finish()
	return err
}

// viaTill exports through the running agent's till API: the list, then each
// invoice's stored XML and, once accepted, its UPO.
func (ex *exporter) viaTill(ctx context.Context, m *Main, tc *tillClient, state string) error {
	var list []till.View
	if err := eachViaTill(ctx, tc, state, func(v *till.View) bool { list = append(list, *v); return true }); err != nil {
		return err
	}
	ex.prog = newProgress(m.Stderr, "export", len(list))
	for i := range list {
		v := &list[i]
		base := "/v1/invoices/" + url.PathEscape(v.ID)
		xml, err := tc.raw(ctx, base+"/xml")
		if err != nil {
			return tillAPIErr(err)
		}
		var upo []byte
		if v.Upload == string(outbox.UploadAccepted) {
			upo, err = tc.raw(ctx, base+"/upo")
			var te *tillError
			if errors.As(err, &te) && te.Problem.Code == till.CodeUPONotAvailable {
				err = nil // accepted, its UPO not downloaded yet
			}
			if err != nil {
				return tillAPIErr(err)
			}
		}
		if err := ex.write(v.ID, v.Number, false, xml, upo); err != nil {
			return err
		}
	}
	ex.finish()
	return nil
}

func runInvoicesReprint(ctx context.Context, m *Main, args []string) error {
	f := m.newFlags("invoices reprint", "ID|NUMBER",
		"Prints a duplicate (DUPLIKAT) of an invoice, with the KSeF number under KOD I once\n"+
			"accepted. With the service running it prints at once through the till API;\n"+
			"otherwise the duplicate is queued in the store and prints when the service starts.").withConfig()
	pos, cfg, err := f.parseConfig(args, 1)
	if err != nil {
		return err
	}
	err = m.tillClient(cfg).do(ctx, http.MethodPost, "/v1/invoices/"+url.PathEscape(pos[0])+"/reprint", nil, nil, nil)
	if err == nil {
		fmt.Fprintf(m.Stdout, "duplicate of %s sent to the printer\n", pos[0])
		return nil
	}
	if !notRunning(err) {
		return fmt.Errorf("invoices reprint: %w", err)
	}
	st, err := openStoreFor(cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	inv, err := findInvoice(ctx, st, pos[0])
	if err != nil {
		return err
	}
	job, err := st.Reprint(ctx, inv.ID)
	if err != nil {
		return fmt.Errorf("invoices reprint: %w", err)
	}
	fmt.Fprintf(m.Stdout, "duplicate of %s queued as print job %s; it prints when the service starts\n", inv.Number, job.ID)
	return nil
}

// journalRow is one announcement of `invoices journal --json`: the till
// API's wire type, the same whether read from the store or the service.
type journalRow = till.Announcement

func runInvoicesJournal(ctx context.Context, m *Main, args []string) error {
	f := m.newFlags("invoices journal", "[--json]",
		"Prints the journal of announced KSeF outages: each unavailability, failure and total\n"+
			"failure the agent learned of from the availability feed or that the operator\n"+
			"recorded (posagent mode … --reference), with its days, its source and the MF\n"+
			"announcement's reference, and for a total failure the attempts to reach KSeF that\n"+
			"failed meanwhile. --json is the export for the tax office. While the service runs\n"+
			"the journal comes from its till API (GET /v1/journal).").withConfig().withJSON()
	if _, err := f.parseN(args, 0); err != nil {
		return err
	}
	cfg, err := f.loadConfig()
	if err != nil {
		return err
	}
	var rows []journalRow
	st, err := openStoreFor(cfg)
	switch {
	case errors.Is(err, errStoreBusy):
		var body struct {
			Announcements []journalRow `json:"announcements"`
		}
		if err := m.tillClient(cfg).do(ctx, http.MethodGet, "/v1/journal", nil, nil, &body); err != nil {
			return tillAPIErr(err)
		}
		rows = body.Announcements
	case err != nil:
		return err
	default:
		defer st.Close()
		list, err := st.Announcements(ctx)
		if err != nil {
			return err
		}
		rows = tillagent.Journal(list)
	}
	if rows == nil {
		rows = []journalRow{}
	}
	if f.json {
		return printJSON(m.Stdout, rows)
	}
	t := newTable(m.Stdout, "ID", "MODE", "START", "END", "SOURCE", "FAILED PROBES", "REFERENCE")
	for _, r := range rows {
		n := r.ProbesDropped
		for _, p := range r.Probes {
			n += p.Count
		}
		t.row(r.ID, r.Mode, r.Start, dash(r.End), r.Source, strconv.Itoa(n), dash(r.Reference))
	}
	if err := t.flush(); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "%d announcement(s)\n", len(rows))
	return nil
}
