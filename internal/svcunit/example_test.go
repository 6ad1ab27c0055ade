package svcunit_test

import (
	"fmt"
	"strings"

	"github.com/posagent/posagent/internal/svcunit"
)

func ExampleRender() {
	unit, err := svcunit.Render(svcunit.Params{Path: "/usr/bin/posagent", Arguments: []string{"run"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, l := range strings.Split(unit, "\n") {
		if strings.HasPrefix(l, "ExecStart=") || strings.HasPrefix(l, "Restart") || strings.HasPrefix(l, "After=") {
			fmt.Println(l)
		}
	}
	// Output:
	// After=network.target
	// ExecStart=/usr/bin/posagent "run"
	// Restart=always
	// RestartSec=2
}
