// Command democheck checks a posagent demo.json: every invoice accepted, with
// a unique number and KSeF number and its XML file present. With -date, the
// --date the demo ran with, it also checks the dates (soak.CheckDemoAt).
// build/arm/demo-arm.sh runs it after the demo under qemu-arm, and the dates
// stage of scripts/test.sh after demos at fixed instants.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/posagent/posagent/internal/simclock"
	"github.com/posagent/posagent/internal/soak"
	"github.com/posagent/posagent/ksef"
)

func main() {
	date := flag.String("date", "", "the demo's --date (YYYY-MM-DD[THH:MM[:SS]], Warsaw): check the dates too")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: democheck [-date YYYY-MM-DD[THH:MM[:SS]]] DIR/demo.json")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	path := flag.Arg(0)
	var (
		r   *soak.DemoReport
		err error
	)
	if *date == "" {
		r, err = soak.CheckDemo(path)
	} else {
		start, perr := simclock.Parse(*date)
		if perr != nil {
			fmt.Fprintln(os.Stderr, "democheck:", perr)
			os.Exit(2)
		}
		r, err = soak.CheckDemoAt(path, start, ksef.DefaultCalendar)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "democheck:", err)
		os.Exit(1)
	}
	modes := map[string]int{}
	for _, inv := range r.Invoices {
		modes[inv.Mode]++
	}
	fmt.Printf("demo: %d invoices, all accepted (modes %v)\n", len(r.Invoices), modes)
	if *date != "" {
		first, last := r.Invoices[0], r.Invoices[len(r.Invoices)-1]
		fmt.Printf("demo --date %s: P_1 %s to %s, numbers %s to %s by their month, deadlines as the calendar's, KOD I = SHA-256 of the stored XML\n",
			*date, first.P1, last.P1, first.Number, last.Number)
	}
}
