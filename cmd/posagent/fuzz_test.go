package main

import (
	"bytes"
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/posagent/posagent/config"
)

func FuzzFileName(f *testing.F) {
	for _, s := range []string{"KASA01/2026/11/000001", "..", "../../etc/passwd", `a\b`, "Ż/ó/ł", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, number string) {
		name := fileName(number) + ".xml"
		if strings.ContainsAny(name, `/\`) || filepath.Base(name) != name {
			t.Errorf("fileName(%q) = %q escapes its directory", number, name)
		}
		if len(name) != len([]rune(number))+4 {
			t.Errorf("fileName(%q) = %q changes the length", number, name)
		}
	})
}

func FuzzCheckLoopback(f *testing.F) {
	for _, s := range []string{"127.0.0.1:8443", "[::1]:1", "localhost:80", "0.0.0.0:8443", "10.0.0.1:1", "nohost", ":80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		if checkLoopback(addr, false) != nil {
			return
		}
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatalf("accepted %q: %v", addr, err)
		}
		if ip := net.ParseIP(host); !strings.EqualFold(host, "localhost") && (ip == nil || !ip.IsLoopback()) {
			t.Errorf("accepted non-loopback %q", addr)
		}
	})
}

func FuzzParsePort(f *testing.F) {
	for _, s := range []string{"virtual", "tcp://10.0.0.5:9100", "file:/tmp/x", "/dev/ttyUSB0", "COM3", ""} {
		f.Add(s, "dtrdsr")
	}
	f.Fuzz(func(t *testing.T, port, handshake string) {
		pc := config.Default().Printer
		pc.Port, pc.Handshake = port, handshake
		spec, err := parsePort(pc)
		if err != nil {
			return
		}
		switch {
		case strings.HasPrefix(port, "tcp://") && spec.kind != "tcp",
			strings.HasPrefix(port, "file:") && (spec.kind != "file" || !spec.opts.NoStatus),
			port == "virtual" && spec.kind != "virtual":
			t.Errorf("parsePort(%q) = %+v", port, spec)
		}
	})
}

// FuzzArgs feeds arbitrary command lines to verbs that touch nothing.
func FuzzArgs(f *testing.F) {
	for _, s := range []string{"version --json", "help cert", "help nope", "version -h extra", "--version", "-h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Fields(line)
		if len(args) == 0 || (args[0] != "version" && args[0] != "help" && !strings.HasPrefix(args[0], "-")) {
			return
		}
		if args[0] == "help" && len(args) > 1 && args[1] != "version" && args[1] != "help" {
			args = args[:1]
		}
		var out bytes.Buffer
		m := &Main{Stdout: &out, Stderr: &out, Root: t.TempDir()}
		err := m.Run(context.Background(), args)
		if code := exitCode(err); code != exitOK && code != exitUsage {
			t.Errorf("%q: exit %d (%v)", line, code, err)
		}
	})
}
