package main

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/posagent/posagent/certstore"
	"github.com/posagent/posagent/outbox"
)

func TestHelpListsEveryVerb(t *testing.T) {
	tm := newTestMain(t)
	out := tm.mustRun(t, "help")
	for _, v := range []string{"run", "demo", "install", "uninstall", "start", "stop", "status", "doctor", "cert", "printer", "invoices", "mode", "ksefsim", "version", "help"} {
		if !strings.Contains(out, "\n  "+v+" ") {
			t.Errorf("help does not list %q:\n%s", v, out)
		}
	}
}

func TestEveryVerbHasHelp(t *testing.T) {
	tm := newTestMain(t)
	cmds := [][]string{}
	for _, v := range verbs() {
		cmds = append(cmds, []string{v.name, "-h"})
	}
	for _, sub := range [][]string{
		{"cert", "import"}, {"cert", "list"}, {"cert", "csr"},
		{"printer", "list"}, {"printer", "test"}, {"printer", "status"},
		{"invoices", "list"}, {"invoices", "show"}, {"invoices", "export"}, {"invoices", "reprint"},
	} {
		cmds = append(cmds, append(sub, "-h"))
	}
	for _, args := range cmds {
		t.Run(strings.Join(args, "_"), func(t *testing.T) {
			out, errOut, err := tm.run(t, args...)
			wantExit(t, err, exitOK)
			// Once, on stdout: the flag package printed it a second time to stderr.
			if n := strings.Count(out+errOut, "usage: posagent "+args[0]); n != 1 || errOut != "" {
				t.Errorf("posagent %v printed the usage %d times (stderr %q):\n%s", args, n, errOut, out)
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"NoVerb", nil, "no verb"},
		{"UnknownVerb", []string{"frobnicate"}, "unknown verb"},
		{"UnknownFlag", []string{"version", "--nope"}, "flag provided but not defined"},
		{"ExtraArgument", []string{"version", "x"}, "want 0 argument"},
		{"UnknownSubVerb", []string{"cert", "delete"}, "unknown sub-verb"},
		{"NoSubVerb", []string{"printer"}, "no sub-verb"},
		{"DemoNoDir", []string{"demo"}, "--dir is required"},
		{"DemoBadQR", []string{"demo", "--dir", "x", "--qr", "svg"}, "--qr"},
		{"DemoBadPaper", []string{"demo", "--dir", "x", "--paper", "110"}, "--paper"},
		{"ModeUnknown", []string{"mode", "sideways"}, "not one of"},
		{"KSeFSimRemote", []string{"ksefsim", "--listen", "0.0.0.0:8443"}, "not a loopback"},
		{"ExportNoDir", []string{"invoices", "export"}, "--dir is required"},
		{"ExportBadState", []string{"invoices", "export", "--dir", "x", "--state", "done"}, "not one of"},
		{"ListBadState", []string{"invoices", "list", "--state", "done"}, "not one of"},
		{"ListNegativeLimit", []string{"invoices", "list", "--limit", "-1"}, "--limit -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm := newTestMain(t)
			_, _, err := tm.run(t, tt.args...)
			wantExit(t, err, exitUsage)
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to mention %q", err, tt.want)
			}
		})
	}
}

// TestUsageErrorKeepsCause: a flag value rejected by a package is a usage
// error (exit 2) that still wraps the package's sentinel.
func TestUsageErrorKeepsCause(t *testing.T) {
	tm := newTestMain(t)
	for _, args := range [][]string{{"cert", "import", "--usage", "signing", "cert.pem"}, {"cert", "csr", "--usage", "signing"}} {
		_, _, err := tm.run(t, args...)
		wantExit(t, err, exitUsage)
		if !errors.Is(err, certstore.ErrUnknownUsage) {
			t.Errorf("posagent %v = %v, want it to wrap certstore.ErrUnknownUsage", args, err)
		}
	}
}

func TestVersion(t *testing.T) {
	old := Version
	Version = "v1.2.3-test"
	defer func() { Version = old }()
	tm := newTestMain(t)
	if out := tm.mustRun(t, "version"); !strings.HasPrefix(out, "posagent v1.2.3-test (") {
		t.Errorf("version = %q", out)
	}
	var v versionInfo
	if err := json.Unmarshal([]byte(tm.mustRun(t, "version", "--json")), &v); err != nil || v.Version != "v1.2.3-test" {
		t.Errorf("version --json = %+v, %v", v, err)
	}
	if out := tm.mustRun(t, "--version"); !strings.Contains(out, "v1.2.3-test") {
		t.Errorf("--version = %q", out)
	}
}

func TestConfigErrors(t *testing.T) {
	valid := func(tm *testMain, t *testing.T) string { return tm.writeConfig(t, testConfig{}) }
	tests := []struct {
		name   string
		mutate func(s string) string
		want   string
	}{
		{"Syntax", func(s string) string { return s + "\n[broken\n" }, "invalid TOML"},
		{"UnknownKey", func(s string) string { return strings.Replace(s, "[terminal]\n", "[terminal]\nnumbring = \"x\"\n", 1) }, "numbring"},
		{"BadNIP", func(s string) string { return strings.Replace(s, `"5265877635"`, `"5265877636"`, 1) }, "seller.nip"},
		{"MissingTerminal", func(s string) string { return strings.Replace(s, "id = \"KASA01\"\n", "", 1) }, "terminal.id"},
		{"BadEnvironment", func(s string) string { return strings.Replace(s, `environment = "test"`, `environment = "staging"`, 1) }, "ksef.environment"},
		{"BadPaper", func(s string) string { return strings.Replace(s, "paper = 80", "paper = 76", 1) }, "printer.paper"},
		{"BadHandshake", func(s string) string {
			return strings.Replace(s, "paper = 80", "paper = 80\nhandshake = \"rtscts\"", 1)
		}, "printer.handshake"},
		{"TokenInFile", func(s string) string {
			return strings.Replace(s, "timeout = \"2s\"", "timeout = \"2s\"\ntoken = \"abc\"", 1)
		}, "ksef.token"},
		{"RelativeStoreDir", func(s string) string { return strings.Replace(s, "[store]\ndir = \"/", "[store]\ndir = \"", 1) }, "store.dir"},
		{"CapTooSmall", func(s string) string { return strings.Replace(s, "cap_mb = 64", "cap_mb = 2", 1) }, "store.cap_mb"},
		{"RemoteTillWithoutToken", func(s string) string {
			return strings.Replace(s, `listen = "127.0.0.1:`, `listen = "0.0.0.0:`, 1)
		}, "till"},
		{"WrongType", func(s string) string { return strings.Replace(s, "cap_mb = 64", `cap_mb = "big"`, 1) }, "cap_mb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm := newTestMain(t)
			path := valid(tm, t)
			b, err := readLimited(path, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if err := writeFileAtomic(path, []byte(tt.mutate(string(b))), 0o640); err != nil {
				t.Fatal(err)
			}
			_, _, err = tm.run(t, "cert", "list")
			wantExit(t, err, exitConfig)
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not name %q", err, tt.want)
			}
			out, _, err := tm.run(t, "doctor")
			wantExit(t, err, exitCheckFailed)
			if !strings.Contains(out, "FAIL  configuration") || !strings.Contains(out, "fix: edit") {
				t.Errorf("doctor output:\n%s", out)
			}
		})
	}
	t.Run("Missing", func(t *testing.T) {
		tm := newTestMain(t)
		_, _, err := tm.run(t, "invoices", "list")
		wantExit(t, err, exitConfig)
	})
}

func TestKSeFSimVerb(t *testing.T) {
	out := &syncBuffer{}
	m := &Main{Stdout: out, Stderr: &syncBuffer{}, Root: t.TempDir(), Getenv: func(string) string { return "" }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, []string{"ksefsim", "--listen", "127.0.0.1:0", "--nip", "7740001454"}) }()
	var url string
	waitUntil(t, "the simulator", func() bool {
		s := out.String()
		i := strings.Index(s, "KSeF simulator on ")
		if i < 0 || !strings.Contains(s, "KSeF token for NIP 7740001454") {
			return false
		}
		url = strings.Fields(s[i+len("KSeF simulator on "):])[0]
		return true
	}, done, out)
	resp, err := http.Get(url + "/latarnia/status")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("availability feed: %s", resp.Status)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("ksefsim returned %v", err)
	}
}

// TestUnreadableDataIsNotMissing: a data path that cannot be looked at (here
// a regular file where a directory should be; a permission error is the
// same) fails with its cause, never as "nothing installed yet".
func TestUnreadableDataIsNotMissing(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows reports a file used as a directory as not existing")
	}
	tm := newTestMain(t)
	blocker := filepath.Join(tm.root, "blocker")
	if err := os.WriteFile(blocker, []byte("a file, not a directory"), 0o640); err != nil {
		t.Fatal(err)
	}
	tm.writeConfig(t, testConfig{storeDir: filepath.Join(blocker, "posagent")})
	// A machine key exists, so the certificate store itself is looked for.
	if err := os.WriteFile(filepath.Join(filepath.Dir(tm.configPath()), machineKey), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"cert", "list"}, {"invoices", "list"}, {"invoices", "show", "1"}} {
		t.Run(strings.Join(args, "_"), func(t *testing.T) {
			out, _, err := tm.run(t, args...)
			wantExit(t, err, exitFailure)
			if !errors.Is(err, syscall.ENOTDIR) {
				t.Errorf("posagent %v = %v, want the ENOTDIR cause", args, err)
			}
			if errors.Is(err, certstore.ErrNotFound) || errors.Is(err, outbox.ErrNotFound) || out != "" {
				t.Errorf("posagent %v = %v, stdout %q: reported as missing", args, err, out)
			}
		})
	}
}

// TestRootFlag: --root moves every installation path of install, status,
// start, stop and uninstall, and status's default --config with it.
func TestRootFlag(t *testing.T) {
	tm := newTestMain(t)
	root := tm.root
	tm.Root = t.TempDir() // the process's own root holds nothing

	if _, _, err := tm.run(t, "status"); exitCode(err) != exitNotInstalled {
		t.Fatalf("status without --root = %v, want not installed", err)
	}
	tm.mustRun(t, "install", "--root", root, "--binary", "/usr/bin/posagent")
	unit := filepath.Join(root, "etc", "systemd", "system", "posagent.service")
	if _, err := os.Stat(unit); err != nil {
		t.Fatalf("install --root wrote no unit: %v", err)
	}

	status := func() statusResult {
		t.Helper()
		tm.Root = t.TempDir()
		out, _, err := tm.run(t, "status", "--json", "--root", root)
		wantExit(t, err, exitCheckFailed)
		var res statusResult
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := status(); res.State != "stopped" || res.Unit != unit || !strings.HasPrefix(res.Note, "configuration: ") {
		t.Errorf("status --root with no configuration = %+v", res)
	}
	tm.writeConfig(t, testConfig{}) // under root
	if res := status(); res.State != "stopped" || res.Note != "" {
		t.Errorf("status --root read no configuration under the root: %+v", res)
	}

	tm.Root = t.TempDir()
	if _, _, err := tm.run(t, "stop", "--root", root); err == nil || !strings.Contains(err.Error(), "no systemd to ask") {
		t.Errorf("stop --root = %v, want the no-systemd refusal", err)
	}
	tm.Root = t.TempDir()
	tm.mustRun(t, "uninstall", "--root", root)
	if _, err := os.Stat(unit); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("uninstall --root left the unit: %v", err)
	}
}
