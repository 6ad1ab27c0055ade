package main

import (
	"context"
	"fmt"
	"runtime"
)

// versionInfo is what version prints with --json.
type versionInfo struct {
	Version string `json:"version"`
	Go      string `json:"go"`
	OS      string `json:"os"`
	Arch    string `json:"arch"`
}

func runVersion(_ context.Context, m *Main, args []string) error {
	f := m.newFlags("version", "[--json]", "Prints the version stamped at build time (-X main.Version).").withJSON()
	if _, err := f.parseN(args, 0); err != nil {
		return err
	}
	v := versionInfo{Version: Version, Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	if f.json {
		return printJSON(m.Stdout, v)
	}
	_, err := fmt.Fprintf(m.Stdout, "posagent %s (%s %s/%s)\n", v.Version, v.Go, v.OS, v.Arch)
	return err
}
