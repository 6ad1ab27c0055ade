package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/certstore"
	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/escpos"
	"github.com/posagent/posagent/internal/logx"
	"github.com/posagent/posagent/internal/metrics"
	"github.com/posagent/posagent/ksef/ksefapi"
	"github.com/posagent/posagent/ksef/ksefsim"
	"github.com/posagent/posagent/outbox"
	"github.com/posagent/posagent/printer"
	"github.com/posagent/posagent/receipt"
	"github.com/posagent/posagent/till"
)

// Demo seller and buyers: Polish letters in names and addresses on purpose.
const (
	demoNIP      = "5265877635"
	demoBuyerNIP = "7740001454"
	demoTimeout  = 50 * time.Second
)

// demoFile is DIR/demo.json.
type demoFile struct {
	SellerNIP   string        `json:"seller_nip"`
	Environment string        `json:"environment"`
	Invoices    []demoInvoice `json:"invoices"`
}

// demoInvoice is one invoice of demo.json.
type demoInvoice struct {
	Number     string `json:"number"`
	File       string `json:"file"` // relative to DIR
	P1         string `json:"p1"`
	Mode       string `json:"mode"`
	KOD1       string `json:"kod1"`
	KOD2       string `json:"kod2"`
	KSeFNumber string `json:"ksef_number"`
	State      string `json:"state"`

	deadline time.Time
	receipts []string
}

// printedJob is one job the agent handed to the print worker.
type printedJob struct {
	ID   string
	Data []byte
}

// recordingPrinter passes jobs to the worker and keeps a copy of each, so the
// demo can render every receipt it printed.
type recordingPrinter struct {
	agent.Printer
	mu   sync.Mutex // guards jobs
	jobs []printedJob
}

func (r *recordingPrinter) Submit(ctx context.Context, j printer.Job) error {
	r.mu.Lock()
	r.jobs = append(r.jobs, printedJob{ID: j.ID, Data: bytes.Clone(j.Data)})
	r.mu.Unlock()
	return r.Printer.Submit(ctx, j)
}

func (r *recordingPrinter) recorded() []printedJob {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]printedJob(nil), r.jobs...)
}

func runDemo(ctx context.Context, m *Main, args []string) error {
	f := m.newFlags("demo", "--dir DIR [--sales N] [--qr native|raster] [--key ec|rsa] [--paper 58|80] [--date YYYY-MM-DD[THH:MM]]",
		"Runs posagent on this machine with no hardware: an embedded KSeF simulator on\n"+
			"loopback, a virtual printer, generated Offline and Authentication certificates\n"+
			"(the agent logs in with XAdES, as every station must from 2027) and the real till API.\n"+
			"It sells during a link outage (a consumer, a B2B buyer, an EU buyer, a UPR and a\n"+
			"correction; the buyers with a NIP get a POTWIERDZENIE TRANSAKCJI), brings the link\n"+
			"back, drains the outbox until KSeF accepted every invoice, prints the B2B invoices,\n"+
			"reprints a duplicate, and leaves in DIR: printer.bin, invoices/*.xml,\n"+
			"receipts/*.png, cert.pem, auth-cert.pem and demo.json. --date rehearses another\n"+
			"day: the simulator and the agent both run on a clock that starts there.").withJSON().withDate()
	dir := f.String("dir", "", "output `directory` (created)")
	sales := f.Int("sales", 0, "extra consumer `sales`")
	qr := f.String("qr", "native", "QR `mode`: native (GS ( k) or raster (GS v 0)")
	key := f.String("key", "ec", "Offline and Authentication certificate key `type`: ec or rsa")
	paper := f.Int("paper", 80, "paper `width` in mm: 58 or 80")
	if _, err := f.parseN(args, 0); err != nil {
		return err
	}
	switch {
	case *dir == "":
		return usagef("demo: --dir is required")
	case *sales < 0 || *sales > 1000:
		return usagef("demo: --sales must be 0-1000")
	case *qr != "native" && *qr != "raster":
		return usagef("demo: --qr must be native or raster")
	case *key != "ec" && *key != "rsa":
		return usagef("demo: --key must be ec or rsa")
	case *paper != 58 && *paper != 80:
		return usagef("demo: --paper must be 58 or 80")
	}
	ctx, cancel := context.WithTimeout(ctx, demoTimeout)
	defer cancel()
	d := &demo{m: m, dir: *dir, extra: *sales, qr: *qr, key: certstore.KeyType(*key), paper: *paper}
	res, err := d.run(ctx)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if f.json {
		return printJSON(m.Stdout, res)
	}
	return d.summary(res)
}

// demo is one run of the demo.
type demo struct {
	m     *Main
	dir   string
	extra int
	qr    string
	key   certstore.KeyType
	paper int

	logBuf bytes.Buffer // the agent's log, written to DIR/posagent.log
	cfg    *config.Config
	prof   escpos.Profile
	tc     *tillClient
	sim    *ksefsim.Server
	store  *outbox.Store
	rec    *recordingPrinter
}

func (d *demo) say(format string, args ...any) {
	fmt.Fprintf(d.m.Stderr, "demo: "+format+"\n", args...)
}

// demoArtefacts are what a demo run leaves in DIR; a new run replaces them.
var demoArtefacts = []string{"printer.bin", "invoices", "receipts", "state", "cert.pem", "auth-cert.pem", "demo.json", "metrics.txt", "posagent.log"}

// prepareDir makes DIR ready for a fresh run. A previous demo's artefacts
// are removed, so the store, receipts and demo.json describe this run only;
// a non-empty directory that is not a demo's is refused, never emptied.
func (d *demo) prepareDir() error {
	entries, err := os.ReadDir(d.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		return nil
	}
	ok, err := exists(filepath.Join(d.dir, "demo.json"))
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if !ok {
		return usagef("demo: %s is not empty and holds no earlier demo (no demo.json); choose an empty or new directory", d.dir)
	}
	for _, name := range demoArtefacts {
		if err := os.RemoveAll(filepath.Join(d.dir, name)); err != nil {
			return fmt.Errorf("demo: clear the previous run: %w", err)
		}
	}
	return nil
}

func (d *demo) run(ctx context.Context) (*demoFile, error) {
	if err := d.prepareDir(); err != nil {
		return nil, err
	}
	for _, sub := range []string{"", "invoices", "receipts", "state"} {
		if err := os.MkdirAll(filepath.Join(d.dir, sub), 0o750); err != nil {
			return nil, err
		}
	}
	now := d.m.now()

	// The embedded simulator on loopback.
	sim, err := ksefsim.New(&ksefsim.Options{Now: d.m.Now})
	if err != nil {
		return nil, fmt.Errorf("simulator: %w", err)
	}
	d.sim = sim
	simCtx, stopSim := context.WithCancel(context.Background())
	defer stopSim()
	if err := d.sim.Start(simCtx, "127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("start the simulator: %w", err)
	}
	defer d.sim.Close()
	d.say("KSeF simulator on %s", d.sim.URL())

	// A generated Offline certificate; cert.pem is what verifies KOD II.
	certPEM, keyPEM, err := certstore.Generate(certstore.Offline, demoNIP, d.key, now.Add(-time.Hour), 2*365*24*time.Hour)
	if err != nil {
		return nil, fmt.Errorf("generate the Offline certificate: %w", err)
	}
	signer, err := certstore.Parse(certstore.Offline, append(append([]byte{}, certPEM...), keyPEM...), "", now)
	if err != nil {
		return nil, fmt.Errorf("load the Offline certificate: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(d.dir, "cert.pem"), certPEM, 0o644); err != nil {
		return nil, err
	}
	d.say("Offline certificate %s (%s key) in cert.pem", signer.CertSerial(), d.key)

	// A generated Authentication certificate signs the XAdES login (the
	// simulator, like KSeF's test environment, accepts a self-signed one).
	authPEM, authKey, err := certstore.Generate(certstore.Authentication, demoNIP, d.key, now.Add(-time.Hour), 2*365*24*time.Hour)
	if err != nil {
		return nil, fmt.Errorf("generate the Authentication certificate: %w", err)
	}
	authCert, err := certstore.Parse(certstore.Authentication, append(append([]byte{}, authPEM...), authKey...), "", now)
	if err != nil {
		return nil, fmt.Errorf("load the Authentication certificate: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(d.dir, "auth-cert.pem"), authPEM, 0o644); err != nil {
		return nil, err
	}
	d.say("Authentication certificate %s in auth-cert.pem: the agent logs in with XAdES", authCert.CertSerial())

	// The till API on a loopback port of its own.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("till API: %w", err)
	}
	defer ln.Close()
	if err := d.configure(ln.Addr().String()); err != nil {
		return nil, err
	}

	d.store, err = outbox.Open(filepath.Join(d.dir, "state", storeFile), &outbox.Options{MaxSize: int64(d.cfg.Store.CapMB) << 20, Now: d.m.Now})
	if err != nil {
		return nil, fmt.Errorf("open the store: %w", err)
	}
	defer d.store.Close()
	logger := logx.New(&d.logBuf, logx.Options{Level: "debug", Format: logx.FormatText, Getenv: func(string) string { return "" }, Now: d.m.Now})
	relay := &agentRelay{}
	client, err := ksefapi.New(ksefapi.Config{
		BaseURL: d.sim.URL() + "/v2", AvailabilityURL: d.sim.URL() + "/latarnia",
		HTTPClient: &http.Client{Timeout: 5 * time.Second},
		Context:    ksefapi.ContextIdentifier{Type: ksefapi.ContextNip, Value: demoNIP},
		Auth:       ksefapi.XAdESAuth{Signer: authCert, Certificate: authCert.Certificate()}, Logger: logger,
		Now: d.m.Now, OnLogin: relay.LoginResult,
		PollInterval: 20 * time.Millisecond, PollMax: 200 * time.Millisecond, PollTimeout: 20 * time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("KSeF client: %w", err)
	}
	bin, err := os.Create(filepath.Join(d.dir, "printer.bin"))
	if err != nil {
		return nil, err
	}
	defer bin.Close()
	vp := printer.NewVirtual(bin)
	d.rec = &recordingPrinter{}
	st, err := newStack(stackConfig{
		cfg: d.cfg, store: d.store, signer: signer, ksef: client, feed: client,
		open: vp.Open, popts: printer.Options{Backoff: printer.Backoff{Min: 20 * time.Millisecond, Max: 200 * time.Millisecond}},
		logger: logger, metrics: metrics.NewRegistry(), now: d.m.Now, listener: ln,
		authMethod: "xades", relay: relay,
		wrapPrinter: func(p agent.Printer) agent.Printer { d.rec.Printer = p; return d.rec },
		agentMod: func(o *agent.Options) {
			o.UploadInterval, o.ProbeInterval, o.PollInterval = 100*time.Millisecond, 100*time.Millisecond, 30*time.Millisecond
			o.PrintInterval, o.RetryMin, o.RetryMax = 50*time.Millisecond, 50*time.Millisecond, 300*time.Millisecond
		},
	})
	if err != nil {
		return nil, fmt.Errorf("build the agent: %w", err)
	}
	st.agent.SetCertificate(certStateOf(authCert.Info(), certstore.Record{}))
	runCtx, stopStack := context.WithCancel(context.Background())
	stackDone := make(chan error, 1)
	go func() { stackDone <- st.Run(runCtx) }()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		stopStack()
		return <-stackDone
	}
	defer stop()
	d.tc = &tillClient{base: "http://" + ln.Addr().String(), http: &http.Client{Timeout: 10 * time.Second}}

	if err := d.scenario(ctx); err != nil {
		if werr := os.WriteFile(filepath.Join(d.dir, "posagent.log"), d.logBuf.Bytes(), 0o640); werr != nil {
			err = errors.Join(err, werr)
		}
		return nil, err
	}
	if err := stop(); err != nil {
		return nil, fmt.Errorf("stop the agent: %w", err)
	}
	if err := os.WriteFile(filepath.Join(d.dir, "posagent.log"), d.logBuf.Bytes(), 0o640); err != nil {
		return nil, err
	}
	if err := bin.Sync(); err != nil {
		return nil, err
	}
	return d.artefacts(ctx)
}

// configure builds the demo's configuration, validated like a real one.
func (d *demo) configure(listen string) error {
	cfg := config.Default()
	cfg.Seller = config.Seller{NIP: demoNIP, Name: "Stacja Paliw „Żuraw” Sp. z o.o.",
		AddressLine1: "ul. Źródlana 7/3", AddressLine2: "90-001 Łódź", Country: "PL"}
	cfg.Terminal.ID = "KASA01"
	cfg.Terminal.Place = "Łódź"
	cfg.KSeF.Environment = "test"
	cfg.KSeF.URL = d.sim.URL() + "/v2"
	cfg.KSeF.AvailabilityURL = d.sim.URL() + "/latarnia"
	cfg.Printer.Port = "virtual"
	cfg.Printer.Paper = d.paper
	cfg.Printer.QR = d.qr
	cfg.Printer.Profile = "generic-" + strconv.Itoa(d.paper)
	// The B2B buyers get a transaction confirmation during the outage, and
	// their invoices print as soon as KSeF accepts them.
	cfg.Printer.PrintOnAcceptance = true
	if d.paper == 58 && d.qr == "native" {
		// The generic 58 mm profile has no native QR: use an Epson-compatible
		// head on a 58 mm roll.
		cfg.Printer.Profile = "generic-80"
	}
	cfg.Till.Listen = listen
	cfg.Store.Dir = filepath.Join(d.dir, "state")
	if abs, err := filepath.Abs(cfg.Store.Dir); err == nil {
		cfg.Store.Dir = abs
	}
	if err := cfg.Validate(); err != nil {
		return &configError{path: "(demo)", err: err}
	}
	prof, err := profileFor(cfg.Printer)
	if err != nil {
		return err
	}
	d.cfg, d.prof = cfg, prof
	return nil
}

// sale is a till request body.
type sale map[string]any

func demoLine(name, unit, qty, price, rate string) map[string]any {
	return map[string]any{"name": name, "unit": unit, "quantity": qty, "unit_price": price, "vat_rate": rate}
}

// scenario drives the till API: outage, sales, correction, link back, drain,
// duplicate.
func (d *demo) scenario(ctx context.Context) error {
	if err := d.waitFor(ctx, "the till API", func() (bool, error) {
		err := d.tc.do(ctx, http.MethodGet, "/v1/status", nil, nil, nil)
		return err == nil, nil
	}); err != nil {
		return err
	}

	d.say("link down: the simulator drops every connection")
	if err := d.sim.InjectFault(ksefsim.Fault{Kind: ksefsim.FaultDrop, Count: ksefsim.Forever, PathPrefix: "/v2"}); err != nil {
		return fmt.Errorf("take the link down: %w", err)
	}
	sales := []struct {
		key  string
		what string
		body sale
	}{
		{"demo-consumer", "consumer sale", sale{
			"buyer": map[string]any{"kind": "consumer"},
			"lines": []any{demoLine("Benzyna Pb95", "l", "32.45", "6.49", "23"), demoLine("Drożdżówka z serem", "szt.", "2", "4.99", "5"),
				demoLine("Kawa źródlana", "szt.", "1", "9.90", "8")},
			"payment": map[string]any{"form": "card", "paid": true}}},
		{"demo-b2b", "B2B sale (Polish NIP)", sale{
			"buyer": map[string]any{"kind": "nip", "nip": demoBuyerNIP, "name": "Przedsiębiorstwo Transportowe „Łoś” S.A.",
				"address": map[string]any{"country": "PL", "line1": "ul. Żółkiewskiego 15", "line2": "09-400 Płock"}},
			"price_mode": "net",
			"lines":      []any{demoLine("Olej napędowy ON", "l", "412.5", "5.28", "23"), demoLine("Myjnia premium", "usł.", "1", "40.65", "23")},
			"payment":    map[string]any{"form": "transfer", "paid": false}}},
		{"demo-eu", "EU buyer (WDT)", sale{
			"buyer": map[string]any{"kind": "eu", "eu_code": "DE", "eu_vat": "123456789", "name": "Spedition Müller GmbH",
				"address": map[string]any{"country": "DE", "line1": "Hauptstraße 12", "line2": "10115 Berlin"}},
			"price_mode": "net",
			"lines":      []any{demoLine("Filtry paliwa", "szt.", "10", "45.00", "0 WDT")},
			"payment":    map[string]any{"form": "transfer", "paid": false}}},
		{"demo-upr", "simplified invoice (UPR)", sale{
			"kind":    "UPR",
			"buyer":   map[string]any{"kind": "nip", "nip": demoBuyerNIP},
			"lines":   []any{demoLine("Benzyna Pb95", "l", "40.12", "6.49", "23")},
			"payment": map[string]any{"form": "cash", "paid": true}}},
	}
	for i := range d.extra {
		sales = append(sales, struct {
			key  string
			what string
			body sale
		}{fmt.Sprintf("demo-extra-%04d", i+1), "consumer sale", sale{
			"buyer":   map[string]any{"kind": "consumer"},
			"lines":   []any{demoLine("Hot-dog z cebulką", "szt.", strconv.Itoa(1+i%3), "8.99", "8")},
			"payment": map[string]any{"form": "cash", "paid": true}}})
	}
	var ids, numbers, confirmed []string
	for _, s := range sales {
		var v till.View
		if err := d.tc.do(ctx, http.MethodPost, "/v1/sales", map[string]string{"Idempotency-Key": s.key}, s.body, &v); err != nil {
			return fmt.Errorf("%s: %w", s.what, err)
		}
		if s.key == "demo-consumer" {
			// The till retries after a lost answer: the same key gives the same invoice.
			var again till.View
			if err := d.tc.do(ctx, http.MethodPost, "/v1/sales", map[string]string{"Idempotency-Key": s.key}, s.body, &again); err != nil {
				return fmt.Errorf("replay: %w", err)
			}
			if again.ID != v.ID {
				return fmt.Errorf("replay of %s issued %s, want %s", s.key, again.Number, v.Number)
			}
		}
		ids, numbers = append(ids, v.ID), append(numbers, v.Number)
		if v.Confirmation {
			confirmed = append(confirmed, v.ID)
		}
		if len(ids) <= 4 {
			handed := ""
			if v.Confirmation {
				handed = "  (handed a POTWIERDZENIE TRANSAKCJI; the invoice waits for KSeF)"
			}
			d.say("%-26s %s  %s%s", s.what, v.Number, v.Mode, handed)
		}
	}
	if d.extra > 0 {
		d.say("%d extra consumer sales", d.extra)
	}
	corr := map[string]any{"reason": "Zwrot drożdżówki", "type": 2,
		"lines": []any{demoLine("Benzyna Pb95", "l", "32.45", "6.49", "23"), demoLine("Drożdżówka z serem", "szt.", "1", "4.99", "5"),
			demoLine("Kawa źródlana", "szt.", "1", "9.90", "8")}}
	// The original has no KSeF number yet: the correction is kept pending
	// (202), a slip says so, and it is issued once KSeF accepts the original.
	correct := func(out any) error {
		return d.tc.do(ctx, http.MethodPost, "/v1/invoices/"+url.PathEscape(ids[0])+"/corrections",
			map[string]string{"Idempotency-Key": "demo-correction"}, corr, out)
	}
	var pend till.PendingCorrection
	if err := correct(&pend); err != nil {
		return fmt.Errorf("correction: %w", err)
	}
	if pend.State != till.StatePending {
		return fmt.Errorf("correction of %s during the outage: %+v, want it pending", numbers[0], pend)
	}
	d.say("%-26s pending until %s has its KSeF number (slip printed)", "correction of "+numbers[0], numbers[0])

	if err := d.waitFor(ctx, "receipts printed during the outage", func() (bool, error) {
		for _, id := range ids {
			var v till.View
			if err := d.tc.do(ctx, http.MethodGet, "/v1/invoices/"+id, nil, nil, &v); err != nil {
				return false, err
			}
			if v.Print != "printed" {
				return false, nil
			}
		}
		return true, nil
	}); err != nil {
		return err
	}
	var stat till.Status
	if err := d.tc.do(ctx, http.MethodGet, "/v1/status", nil, nil, &stat); err != nil {
		return err
	}
	d.say("%d receipts printed offline; link %s, backlog %d", len(ids), stat.Link.State, stat.Backlog.Count)

	d.say("link back: the simulator answers again")
	d.sim.ClearFaults()
	total := len(ids)
	prog := newProgress(d.m.Stderr, "demo: drain: accepted", total)
	if err := d.waitFor(ctx, "the outbox to drain", func() (bool, error) {
		if err := d.tc.do(ctx, http.MethodGet, "/v1/status", nil, nil, &stat); err != nil {
			return false, err
		}
		prog.step(total - stat.Backlog.Count)
		return stat.Backlog.Count == 0, nil
	}); err != nil {
		return err
	}
	// The correction was issued when KSeF accepted its original; the till's
	// replay of its key now answers with it.
	var kor till.View
	if err := d.waitFor(ctx, "the correction", func() (bool, error) {
		var raw json.RawMessage
		if err := correct(&raw); err != nil {
			return false, err
		}
		kor = till.View{}
		if err := json.Unmarshal(raw, &kor); err != nil || kor.ID == "" {
			return false, err
		}
		if err := d.tc.do(ctx, http.MethodGet, "/v1/invoices/"+kor.ID, nil, nil, &kor); err != nil {
			return false, err
		}
		return kor.Upload == "accepted" && kor.Print == "printed", nil
	}); err != nil {
		return err
	}
	d.say("%-26s %s  issued after its original, %s", "correction of "+numbers[0], kor.Number, kor.Upload)

	// The buyers handed a confirmation get their invoices once KSeF has
	// them (printer.print_on_acceptance): KOD I labelled with the KSeF number.
	for _, id := range confirmed {
		if err := d.waitReprinted(ctx, id); err != nil {
			return err
		}
	}
	d.say("%d invoices of the buyers handed a confirmation printed with their KSeF numbers", len(confirmed))
	// A duplicate after acceptance: KOD I labelled with the KSeF number.
	dupID := ids[0]
	if err := d.tc.do(ctx, http.MethodPost, "/v1/invoices/"+dupID+"/reprint", nil, nil, nil); err != nil {
		return fmt.Errorf("reprint: %w", err)
	}
	if err := d.waitReprinted(ctx, dupID); err != nil {
		return err
	}
	d.say("duplicate of the consumer invoice printed with its KSeF number")
	// The deadline monitor refreshes the gauges on its own tick: scrape once
	// it has seen the drained outbox.
	var scrape json.RawMessage
	if err := d.waitFor(ctx, "the metrics", func() (bool, error) {
		err := d.tc.do(ctx, http.MethodGet, "/metrics", nil, nil, &scrape)
		return err == nil && bytes.Contains(scrape, []byte("\nposagent_backlog 0\n")), err
	}); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(d.dir, "metrics.txt"), scrape, 0o644)
}

// waitReprinted waits until every reprint of invoice id has printed.
func (d *demo) waitReprinted(ctx context.Context, id string) error {
	return d.waitFor(ctx, "the reprint of "+id, func() (bool, error) {
		inv, err := d.store.Get(ctx, id)
		if err != nil || len(inv.Reprints) == 0 {
			return false, err
		}
		for _, r := range inv.Reprints {
			job, err := d.store.PrintJob(ctx, r.JobID)
			if err != nil || job.State != outbox.PrintPrinted {
				return false, err
			}
		}
		return true, nil
	})
}

// waitFor polls cond until it holds, fails, or ctx ends.
func (d *demo) waitFor(ctx context.Context, what string, cond func() (bool, error)) error {
	t := time.NewTicker(25 * time.Millisecond)
	defer t.Stop()
	for {
		ok, err := cond()
		if err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-t.C:
		}
	}
}

// artefacts writes invoices/*.xml, receipts/*.png and demo.json from the
// closed-down agent's store and the recorded print jobs.
func (d *demo) artefacts(ctx context.Context) (*demoFile, error) {
	res := &demoFile{SellerNIP: demoNIP, Environment: d.cfg.KSeF.Environment, Invoices: []demoInvoice{}}
	byID := map[string]int{}
	err := eachInvoice(ctx, d.store, "", func(row *outbox.Invoice) (bool, error) {
		inv, err := d.store.Get(ctx, row.ID)
		if err != nil {
			return false, err
		}
		rel := filepath.Join("invoices", fileName(inv.Number)+".xml")
		if err := writeFileAtomic(filepath.Join(d.dir, rel), inv.XML, 0o644); err != nil {
			return false, err
		}
		byID[inv.ID] = len(res.Invoices)
		res.Invoices = append(res.Invoices, demoInvoice{
			Number: inv.Number, File: filepath.ToSlash(rel), P1: inv.P1, Mode: inv.Mode, KOD1: inv.KOD1, KOD2: inv.KOD2,
			KSeFNumber: inv.KSeFNumber, State: string(inv.Upload), deadline: inv.Deadline,
		})
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	for _, j := range d.rec.recorded() {
		job, err := d.store.PrintJob(ctx, j.ID)
		if err != nil {
			return nil, fmt.Errorf("print job %s: %w", j.ID, err)
		}
		i, ok := byID[job.InvoiceID]
		if !ok {
			return nil, fmt.Errorf("print job %s: invoice %s not listed", j.ID, job.InvoiceID)
		}
		page, err := escpos.Render(j.Data, d.prof)
		if err != nil {
			return nil, fmt.Errorf("render receipt %s: %w", res.Invoices[i].Number, err)
		}
		// Named by what the paper says: a confirmation, a duplicate, or the
		// invoice (also the first one printed after a confirmation).
		name := fileName(res.Invoices[i].Number)
		switch {
		case printed(page, receipt.TitleConfirmation):
			name += "-potwierdzenie"
		case job.Duplicate && printed(page, receipt.MarkDuplicate):
			name += "-duplikat"
		case job.Slip != "":
			name += "-zlecenie-korekty" // the slip of a pending correction: no codes
		}
		if base, n := name, 2; slices.Contains(res.Invoices[i].receipts, name+".png") {
			for ; slices.Contains(res.Invoices[i].receipts, name+".png"); n++ {
				name = fmt.Sprintf("%s-%d", base, n)
			}
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, page.Image); err != nil {
			return nil, fmt.Errorf("render receipt %s: %w", name, err)
		}
		if err := writeFileAtomic(filepath.Join(d.dir, "receipts", name+".png"), buf.Bytes(), 0o644); err != nil {
			return nil, err
		}
		res.Invoices[i].receipts = append(res.Invoices[i].receipts, name+".png")
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(filepath.Join(d.dir, "demo.json"), append(b, '\n'), 0o644); err != nil {
		return nil, err
	}
	return res, nil
}

// printed reports whether a line of the rendered page says what.
func printed(page *escpos.Page, what string) bool {
	for _, l := range page.Lines {
		if strings.Contains(l.Text, what) {
			return true
		}
	}
	return false
}

// summary prints the closing table.
func (d *demo) summary(res *demoFile) error {
	w := d.m.Stdout
	t := newTable(w, "NUMBER", "MODE", "DEADLINE", "STATE", "KSEF NUMBER")
	for _, inv := range res.Invoices {
		t.row(inv.Number, inv.Mode, fmtDeadline(inv.deadline), inv.State, dash(inv.KSeFNumber))
	}
	if err := t.flush(); err != nil {
		return err
	}
	n := 0
	for _, inv := range res.Invoices {
		n += len(inv.receipts)
	}
	files := []string{"printer.bin", "invoices/*.xml", "receipts/*.png", "cert.pem", "auth-cert.pem", "demo.json", "metrics.txt", "posagent.log"}
	fmt.Fprintf(w, "\n%d invoices accepted by the simulator, %d receipts rendered\nartefacts in %s: %v\n", len(res.Invoices), n, d.dir, files)
	return nil
}
