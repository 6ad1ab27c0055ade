// Command democheck checks a posagent demo.json: every invoice accepted, with
// a unique number and KSeF number and its XML file present. build/arm/demo-arm.sh
// runs it after the demo under qemu-arm.
package main

import (
	"fmt"
	"os"

	"github.com/posagent/posagent/internal/soak"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: democheck DIR/demo.json")
		os.Exit(2)
	}
	r, err := soak.CheckDemo(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "democheck:", err)
		os.Exit(1)
	}
	modes := map[string]int{}
	for _, inv := range r.Invoices {
		modes[inv.Mode]++
	}
	fmt.Printf("demo: %d invoices, all accepted (modes %v)\n", len(r.Invoices), modes)
}
