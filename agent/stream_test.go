package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/posagent/posagent/escpos"
	"github.com/posagent/posagent/escpos/escpostest"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/outbox"
	"github.com/posagent/posagent/printer"
	"github.com/posagent/posagent/printer/printertest"
	"github.com/posagent/posagent/receipt"
)

// streamCase is a stored invoice ready to print, as dispatchJob reads it.
type streamCase struct {
	inv  *outbox.Invoice
	snap *snapshot
	job  *outbox.PrintJob
}

func newStreamCase(t *testing.T) streamCase {
	t.Helper()
	at := time.Date(2026, 11, 20, 12, 0, 0, 0, ksef.Warsaw)
	seller := ksef.Seller{NIP: "5265877635", Name: "Stacja Paliw „Żuraw” Sp. z o.o.",
		Address: ksef.Address{Country: "PL", Line1: "ul. Źródlana 7/3", Line2: "90-001 Łódź"}}
	sale := ksef.Sale{Buyer: ksef.Buyer{Kind: ksef.BuyerConsumer}, IssueDate: ksef.DateOf(at), Place: "Łódź",
		Lines: []ksef.Line{{Name: "Benzyna Pb95", Unit: "l", Quantity: ksef.MustParseQuantity("32.5"),
			UnitPrice: ksef.MustParseAmount("6.49"), VATRate: ksef.Rate23}}}
	ki := ksef.Invoice{Seller: seller, Number: "FV/T1/2026/000042", GeneratedAt: at, Sale: sale}
	xml, err := ki.XML()
	if err != nil {
		t.Fatal(err)
	}
	inv := &outbox.Invoice{ID: "0000000042", Number: ki.Number, Mode: "offline24", P1: sale.IssueDate.String(),
		KOD1:   ksef.KOD1(ksef.EnvTest, seller.NIP, sale.IssueDate, ksef.InvoiceHash(xml)),
		KOD2:   "https://qr-test.ksef.mf.gov.pl/certificate/Nip/5265877635/5265877635/01F20A5D352AE590/" + "c2lnbmF0dXJl",
		Upload: outbox.UploadQueued, Deadline: ksef.DateOf(at).AddDays(3).End()}
	return streamCase{inv: inv, snap: &snapshot{V: 1, Invoice: ki}, job: &outbox.PrintJob{ID: "job-42", RequestedAt: at}}
}

// streamingPrinter is a Printer that says it honours Job.Tail; plainPrinter
// is one that does not (a wrapper written before Job.Tail).
type streamingPrinter struct{ plainPrinter }

func (streamingPrinter) StreamsTail() bool { return true }

type plainPrinter struct{}

func (plainPrinter) Submit(context.Context, printer.Job) error { return nil }
func (plainPrinter) State() printer.State                      { return printer.State{} }

// TestRenderJobStreams checks the job the agent hands each kind of printer:
// a streaming one gets the head now and the codes in Tail, any other the
// whole receipt; both add up to receipt.Render's bytes.
func TestRenderJobStreams(t *testing.T) {
	tests := []struct {
		profile string
		mode    receipt.QRMode
	}{
		{"generic-80", receipt.QRNative},
		{"generic-80", receipt.QRRaster},
		{"generic-58", receipt.QRAuto}, // raster-only
	}
	sc := newStreamCase(t)
	for _, tt := range tests {
		prof, err := escpos.LookupProfile(tt.profile)
		if err != nil {
			t.Fatal(err)
		}
		a := &Agent{opts: Options{Profile: prof, QR: tt.mode, Now: time.Now}}
		doc, err := a.receiptDoc(sc.inv, sc.snap, sc.job)
		if err != nil {
			t.Fatal(err)
		}
		whole, err := receipt.Render(doc, prof, tt.mode)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(tt.profile+"/"+tt.mode.String()+"/streaming", func(t *testing.T) {
			a.printer = streamingPrinter{}
			job, err := a.renderJob("job-42", sc.inv, sc.snap, sc.job, true)
			if err != nil {
				t.Fatal(err)
			}
			if job.ID != "job-42" || job.Tail == nil {
				t.Fatalf("job = {ID: %q, Tail: %v}, want job-42 with a tail", job.ID, job.Tail != nil)
			}
			page, err := escpos.Render(job.Data, prof)
			if err != nil {
				t.Fatal(err)
			}
			if codes, _ := escpostest.DecodeAllQR(page); len(codes) != 0 || len(page.Graphics) != 0 {
				t.Errorf("head holds %d graphics (%d QR codes); want none, the codes are the tail's", len(page.Graphics), len(codes))
			}
			if !bytes.Contains(job.Data, []byte(sc.inv.Number)) {
				t.Error("head lacks the invoice number")
			}
			got, err := job.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, whole) {
				t.Errorf("head+tail differs from receipt.Render: %s", escpostest.Diff(got, whole))
			}
			checkCodes(t, got, prof, sc.inv)
		})
		for _, c := range []struct {
			name   string
			p      Printer
			stream bool
		}{
			{"plain", plainPrinter{}, true},
			{"retry", streamingPrinter{}, false},
		} {
			t.Run(tt.profile+"/"+tt.mode.String()+"/"+c.name, func(t *testing.T) {
				a.printer = c.p
				job, err := a.renderJob("job-42", sc.inv, sc.snap, sc.job, c.stream)
				if err != nil {
					t.Fatal(err)
				}
				if job.Tail != nil || !bytes.Equal(job.Data, whole) {
					t.Errorf("job has a tail %v, or Data (%d B) is not the whole receipt (%d B)", job.Tail != nil, len(job.Data), len(whole))
				}
			})
		}
	}
}

// TestRenderJobWorker prints a raster receipt through the real worker: the
// head reaches the printer before the tail is computed, and the printer ends
// up with exactly the receipt.
func TestRenderJobWorker(t *testing.T) {
	prof, err := escpos.LookupProfile("generic-58")
	if err != nil {
		t.Fatal(err)
	}
	sc := newStreamCase(t)
	var paper printertest.Recorder
	v := printer.NewVirtual(&paper)
	done := make(chan printer.JobResult, 1)
	w, err := printer.NewWorker(v.Open, &printer.Options{NoStatus: true, OnResult: func(r printer.JobResult) {
		if r.Done {
			done <- r
		}
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { defer close(stopped); _ = w.Run(ctx) }()
	defer func() { cancel(); <-stopped }()

	a := &Agent{opts: Options{Profile: prof, QR: receipt.QRRaster, Now: time.Now}, printer: w}
	job, err := a.renderJob("job-42", sc.inv, sc.snap, sc.job, true)
	if err != nil {
		t.Fatal(err)
	}
	// Record what the printer held when the worker asked for the tail.
	var atTail []byte
	tail := job.Tail
	job.Tail = func() ([]byte, error) {
		deadline := time.Now().Add(10 * time.Second)
		for len(paper.Bytes()) < len(job.Data) && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		atTail = paper.Bytes()
		return tail()
	}
	if err := w.Submit(ctx, job); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.Err != nil {
			t.Fatalf("print: %v", r.Err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no result")
	}
	if !bytes.Equal(atTail, job.Data) {
		t.Errorf("printer held %d B when the tail was joined, want the %d B head", len(atTail), len(job.Data))
	}
	whole, err := job.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if got := paper.Bytes(); !bytes.Equal(got, whole) {
		t.Errorf("printer got: %s", escpostest.Diff(got, whole))
	}
	checkCodes(t, paper.Bytes(), prof, sc.inv)
}

// checkCodes decodes the printed receipt's QR codes: KOD I then KOD II.
func checkCodes(t *testing.T, b []byte, prof escpos.Profile, inv *outbox.Invoice) {
	t.Helper()
	page, err := escpos.Render(b, prof)
	if err != nil {
		t.Fatal(err)
	}
	codes, err := escpostest.DecodeAllQR(page)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{inv.KOD1, inv.KOD2}; !slices.Equal(codes, want) {
		t.Errorf("printed codes %q, want %q", codes, want)
	}
}

// TestPrintCodeTail: a receipt whose tail failed is the renderer's fault,
// not the printer's.
func TestPrintCodeTail(t *testing.T) {
	err := fmt.Errorf("print job j: %w", &printer.TailError{Err: errors.New("qr encoder broke")})
	if got, want := printCode(err), "render_error"; got != want {
		t.Errorf("printCode(%v) = %q, want %q", err, got, want)
	}
}
