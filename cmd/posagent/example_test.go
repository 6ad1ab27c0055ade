package main

import (
	"context"
	"fmt"
	"os"
)

// Example_help shows the verbs `posagent help` lists.
func Example_help() {
	m := &Main{Stdout: os.Stdout, Stderr: os.Stdout, Root: "/"}
	if err := m.Run(context.Background(), []string{"help"}); err != nil {
		fmt.Println(err)
	}
	// Output:
	// usage: posagent <verb> [flags]  (posagent <verb> -h for its flags)
	//
	// verbs:
	//   run        run the service in the foreground
	//   demo       run a full demo with a simulator and a virtual printer
	//   install    install the systemd service and its directories
	//   uninstall  remove the systemd service (keeps data and configuration)
	//   start      start the installed service
	//   stop       stop the installed service
	//   status     tell whether the service is installed, running or stopped
	//   doctor     check configuration, disk, printer, certificate and KSeF
	//   cert       KSeF certificates: import, list, csr, enroll
	//   printer    receipt printer: list, test, status
	//   invoices   stored invoices: list, show, export, reprint
	//   mode       show or override the issuing mode of the running agent
	//   ksefsim    run the KSeF API simulator on loopback
	//   version    print the version
	//   help       list the verbs, or explain one
}

// Example_exitCodes shows how errors become exit statuses.
func Example_exitCodes() {
	for _, err := range []error{nil, usagef("bad flag"), &configError{path: "x", err: fmt.Errorf("broken")}, &exitError{code: exitNotInstalled, err: errSilent}, fmt.Errorf("other")} {
		fmt.Println(exitCode(err))
	}
	// Output:
	// 0
	// 2
	// 78
	// 4
	// 1
}
