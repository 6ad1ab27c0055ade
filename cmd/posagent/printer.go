package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/escpos"
	"github.com/posagent/posagent/printer"
)

func runPrinter(ctx context.Context, m *Main, args []string) error {
	return runSub(ctx, m, "printer", args, []verb{
		{"list", "list the serial ports of this machine", runPrinterList},
		{"test", "print a self-test page: Polish letters per code page, native and raster QR", runPrinterTest},
		{"status", "ask the configured printer for its status", runPrinterStatus},
	})
}

// profileFor resolves the configured printer profile. "default" picks the
// generic profile of the paper width; ids match case-insensitively; codepage
// overrides the profile's ESC t number.
func profileFor(pc config.Printer) (escpos.Profile, error) {
	id := strings.ToLower(pc.Profile)
	if id == "" || id == "default" {
		id = "generic-" + strconv.Itoa(pc.Paper)
	}
	p, err := escpos.LookupProfile(id)
	if err != nil {
		return escpos.Profile{}, fmt.Errorf("printer.profile %q: %w", pc.Profile, err)
	}
	if pc.Paper == 58 && p.DotsPerLine > 384 {
		// A 58 mm roll in an 80 mm printer: narrow the printable width.
		p.DotsPerLine, p.Columns = 384, 32
	}
	if pc.Codepage != nil {
		cp := escpos.CodePage{N: *pc.Codepage, Charset: escpos.CharsetCP852}
		for _, c := range p.CodePages {
			if c.N == *pc.Codepage {
				cp = c
			}
		}
		p.CodePage, p.Charset = cp.N, cp.Charset
	}
	if err := p.Validate(); err != nil {
		return escpos.Profile{}, fmt.Errorf("printer.profile %q: %w", pc.Profile, err)
	}
	return p, nil
}

// portSpec describes how to reach the configured printer.
type portSpec struct {
	kind   string // serial, tcp, file, virtual
	addr   string
	serial printer.SerialConfig // kind serial only
	opts   printer.Options
}

func parsePort(pc config.Printer) (portSpec, error) {
	switch {
	case pc.Port == "virtual":
		return portSpec{kind: "virtual", opts: printer.Options{}}, nil
	case strings.HasPrefix(pc.Port, "tcp://"):
		return portSpec{kind: "tcp", addr: strings.TrimPrefix(pc.Port, "tcp://")}, nil
	case strings.HasPrefix(pc.Port, "file:"):
		return portSpec{kind: "file", addr: strings.TrimPrefix(pc.Port, "file:"), opts: printer.Options{NoStatus: true}}, nil
	case pc.Port == "":
		return portSpec{}, errors.New("printer.port is not set")
	}
	hs, err := printer.ParseHandshake(pc.Handshake)
	if err != nil {
		return portSpec{}, err
	}
	sc := printer.SerialConfig{Baud: pc.Baud, DataBits: pc.DataBits, Parity: printer.Parity(pc.Parity), StopBits: printer.StopBits(strconv.Itoa(pc.StopBits))}
	return portSpec{kind: "serial", addr: pc.Port, serial: sc, opts: printer.Options{Handshake: hs, Baud: pc.Baud, FrameBits: sc.FrameBits()}}, nil
}

// opener returns a printer.Opener for the configured port and the options
// the port needs; a virtual port is a fresh healthy printer.Virtual.
func opener(pc config.Printer) (printer.Opener, portSpec, error) {
	spec, err := parsePort(pc)
	if err != nil {
		return nil, spec, err
	}
	switch spec.kind {
	case "virtual":
		return printer.NewVirtual(nil).Open, spec, nil
	case "tcp":
		return func(ctx context.Context) (printer.Port, error) { return printer.DialTCP(ctx, spec.addr) }, spec, nil
	case "file":
		return func(ctx context.Context) (printer.Port, error) { return printer.OpenFile(ctx, spec.addr) }, spec, nil
	}
	return func(ctx context.Context) (printer.Port, error) {
		return printer.OpenSerial(ctx, spec.addr, spec.serial)
	}, spec, nil
}

func runPrinterList(_ context.Context, m *Main, args []string) error {
	f := m.newFlags("printer list", "[--json]",
		"Lists the serial ports of this machine. Put the PATH column into printer.port:\n"+
			"/dev/serial/by-id links survive re-plugging into another USB socket.").withJSON()
	if _, err := f.parseN(args, 0); err != nil {
		return err
	}
	ports, err := printer.List()
	if err != nil {
		return fmt.Errorf("list serial ports: %w", err)
	}
	if f.json {
		if ports == nil {
			ports = []printer.PortInfo{}
		}
		return printJSON(m.Stdout, ports)
	}
	if len(ports) == 0 {
		fmt.Fprintln(m.Stdout, "no serial ports found (network printers: printer.port = \"tcp://HOST:9100\")")
		return nil
	}
	t := newTable(m.Stdout, "PATH", "DEVICE", "USB", "VID:PID", "SERIAL", "PRODUCT")
	for _, p := range ports {
		usb, id := "no", ""
		if p.USB {
			usb, id = "yes", p.VID+":"+p.PID
		}
		t.row(p.Path, p.Device, usb, id, p.SerialNumber, p.Product)
	}
	return t.flush()
}

// selfTestPages are the code page candidates the self-test page shows on top
// of the profile's own: PC852 at 18 (the safest), WPC1250 at 45 (Epson),
// 72 (Zjiang/Netum clones) and 30 (Rongta), ISO 8859-2 at 39.
var selfTestPages = []escpos.CodePage{
	{N: 18, Charset: escpos.CharsetCP852},
	{N: 45, Charset: escpos.CharsetWPC1250},
	{N: 72, Charset: escpos.CharsetWPC1250},
	{N: 30, Charset: escpos.CharsetWPC1250},
	{N: 39, Charset: escpos.CharsetISO88592},
}

// selfTestPage builds the self-test page for p with every candidate code page.
func selfTestPage(w io.Writer, p escpos.Profile) error {
	seen := map[int]bool{}
	var pages []escpos.CodePage
	for _, cp := range append(append([]escpos.CodePage{}, p.CodePages...), selfTestPages...) {
		if !seen[cp.N] {
			seen[cp.N] = true
			pages = append(pages, cp)
		}
	}
	p.CodePages = pages
	return escpos.SelfTest(w, p, "https://qr-test.ksef.mf.gov.pl/invoice/5265877635/21-11-2026/posagent-self-test")
}

func runPrinterTest(ctx context.Context, m *Main, args []string) error {
	f := m.newFlags("printer test", "[--out FILE]",
		"Prints a self-test page on the configured printer: the Polish letters under each\n"+
			"code page candidate (configure printer.codepage to the line that prints them right)\n"+
			"and a native and a raster QR code (if the native one is missing, set printer.qr = \"raster\").").withConfig()
	out := f.String("out", "", "write the page's ESC/POS bytes to `file` instead of the printer")
	_, cfg, err := f.parseConfig(args, 0)
	if err != nil {
		return err
	}
	prof, err := profileFor(cfg.Printer)
	if err != nil {
		return err
	}
	var page strings.Builder
	if err := selfTestPage(&page, prof); err != nil {
		return err
	}
	data := []byte(page.String())
	if *out != "" {
		if err := writeFileAtomic(*out, data, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "wrote %d bytes of the self-test page to %s\n", len(data), *out)
		return nil
	}
	open, spec, err := opener(cfg.Printer)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	res := make(chan printer.JobResult, 1)
	opts := spec.opts
	opts.MaxAttempts = 1
	opts.OnResult = func(r printer.JobResult) {
		// Once this verb has returned nobody reads res: never block the worker.
		select {
		case res <- r:
		case <-ctx.Done():
		}
	}
	w, err := printer.NewWorker(open, &opts, nil)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() { cancel(); <-done }()
	if err := w.Submit(ctx, printer.Job{ID: "self-test", Data: data}); err != nil {
		return err
	}
	for {
		select {
		case r := <-res:
			if !r.Done {
				continue
			}
			if r.Err != nil {
				return fmt.Errorf("print the self-test page on %s: %w", cfg.Printer.Port, r.Err)
			}
			fmt.Fprintf(m.Stdout, "self-test page sent to %s (%d bytes, profile %s)\n", cfg.Printer.Port, len(data), prof.ID)
			return nil
		case <-ctx.Done():
			return fmt.Errorf("print the self-test page: %w", ctx.Err())
		}
	}
}

// printerStatus is the outcome of one status query.
type printerStatus struct {
	Port    string `json:"port"`
	Profile string `json:"profile"`
	Ready   bool   `json:"ready"`
	Status  string `json:"status"`
	Error   string `json:"error,omitempty"`
}

// queryPrinter opens the configured port, asks for the status and closes it.
func queryPrinter(ctx context.Context, pc config.Printer) (escpos.Status, error) {
	open, spec, err := opener(pc)
	if err != nil {
		return escpos.Status{}, err
	}
	if spec.opts.NoStatus {
		return escpos.Status{}, printer.ErrNoReplies
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	p, err := open(ctx)
	if err != nil {
		return escpos.Status{}, err
	}
	defer func() {
		if c, ok := p.(io.Closer); ok {
			c.Close()
		}
	}()
	return printer.QueryStatus(ctx, p, &spec.opts)
}

func runPrinterStatus(ctx context.Context, m *Main, args []string) error {
	f := m.newFlags("printer status", "[--json]",
		"Asks the configured printer for its status (DLE EOT). While the service runs it\n"+
			"owns a serial port: stop it first, or read the printer line of `posagent status`.").withConfig().withJSON()
	_, cfg, err := f.parseConfig(args, 0)
	if err != nil {
		return err
	}
	st, qerr := queryPrinter(ctx, cfg.Printer)
	r := printerStatus{Port: cfg.Printer.Port, Profile: cfg.Printer.Profile, Ready: qerr == nil && st.Ready(), Status: st.String()}
	if qerr != nil {
		r.Status, r.Error = "unknown", qerr.Error()
	}
	if f.json {
		if err := printJSON(m.Stdout, r); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(m.Stdout, "printer %s: %s\n", r.Port, r.Status)
	}
	if qerr != nil {
		return &exitError{code: exitCheckFailed, err: fmt.Errorf("printer %s: %w", cfg.Printer.Port, qerr)}
	}
	if !st.Ready() {
		return &exitError{code: exitCheckFailed, err: fmt.Errorf("printer %s is not ready: %s", cfg.Printer.Port, st)}
	}
	return nil
}
