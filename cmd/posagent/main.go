package main

import (
	"fmt"
	"os"
)

// Version is stamped at build time with -ldflags "-X main.Version=…".
var Version = "dev"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "version" {
		fmt.Println("posagent", Version)
		return
	}
	fmt.Fprintln(os.Stderr, "usage: posagent <verb> (try: posagent help)")
	os.Exit(2)
}
