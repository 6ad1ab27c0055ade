package printer_test

import (
	"bytes"
	"context"
	"fmt"

	"github.com/posagent/posagent/printer"
)

func ExampleWorker() {
	var paper bytes.Buffer
	v := printer.NewVirtual(&paper)
	done := make(chan printer.JobResult, 1)
	w, err := printer.NewWorker(v.Open, &printer.Options{
		Confirm: true,
		OnResult: func(r printer.JobResult) {
			if r.Done {
				done <- r
			}
		},
	}, nil)
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error)
	go func() { stopped <- w.Run(ctx) }()

	w.Submit(ctx, printer.Job{ID: "FV/1", Data: []byte("Hello\n")})
	r := <-done
	cancel()
	<-stopped
	fmt.Println(r.ID, r.Err, r.Attempts)
	fmt.Printf("% x\n", paper.Bytes())
	// Output:
	// FV/1 <nil> 1
	// 10 04 01 10 04 02 10 04 04 48 65 6c 6c 6f 0a 1d 72 31
}

func ExampleQueryStatus() {
	v := printer.NewVirtual(nil)
	v.SetFaults(printer.Faults{PaperNearEnd: true})
	p, _ := v.Open(context.Background())
	st, err := printer.QueryStatus(context.Background(), p, nil)
	fmt.Println(st, st.Ready(), err)
	// Output: paper-near-end true <nil>
}

func ExampleStatusError() {
	v := printer.NewVirtual(nil)
	v.SetFaults(printer.Faults{CoverOpen: true})
	p, _ := v.Open(context.Background())
	st, _ := printer.QueryStatus(context.Background(), p, nil)
	err := error(&printer.StatusError{Status: st})
	fmt.Println(err)
	fmt.Println(printer.Retryable(err))
	// Output:
	// printer: not ready: offline,cover-open
	// true
}

// A receipt whose end is still being computed: the worker writes Data at
// once and the tail's bytes when they are ready, then confirms both.
func ExampleWorker_tail() {
	var paper bytes.Buffer
	v := printer.NewVirtual(&paper)
	done := make(chan printer.JobResult, 1)
	w, err := printer.NewWorker(v.Open, &printer.Options{
		Confirm:  true,
		NoStatus: true,
		OnResult: func(r printer.JobResult) {
			if r.Done {
				done <- r
			}
		},
	}, nil)
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error)
	go func() { stopped <- w.Run(ctx) }()

	w.Submit(ctx, printer.Job{
		ID:   "FV/2",
		Data: []byte("Head\n"),
		Tail: func() ([]byte, error) { return []byte("QR\n"), nil }, // e.g. raster codes being encoded
	})
	r := <-done
	cancel()
	<-stopped
	fmt.Println(r.ID, r.Err, r.Attempts)
	fmt.Printf("%q\n", paper.Bytes())
	// Output:
	// FV/2 <nil> 1
	// "Head\nQR\n\x1dr1"
}
