package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/internal/svcunit"
)

func TestInstallStatusUninstall(t *testing.T) {
	tm := newTestMain(t)
	tm.writeConfig(t, testConfig{})

	out, _, err := tm.run(t, "status")
	wantExit(t, err, exitNotInstalled)
	if !strings.Contains(out, "not installed") {
		t.Errorf("status before install = %q", out)
	}
	_, _, err = tm.run(t, "start")
	wantExit(t, err, exitNotInstalled)

	var res installResult
	if err := json.Unmarshal([]byte(tm.mustRun(t, "install", "--binary", "/usr/bin/posagent", "--json")), &res); err != nil {
		t.Fatal(err)
	}
	unitPath := filepath.Join(tm.root, "etc", "systemd", "system", "posagent.service")
	if res.Unit != unitPath {
		t.Errorf("unit at %s, want %s", res.Unit, unitPath)
	}
	unit, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	want, err := svcunit.Render(svcunit.Params{Path: "/usr/bin/posagent", Arguments: []string{"run", "--config", "/etc/posagent/posagent.toml"}, UserName: "posagent"})
	if err != nil {
		t.Fatal(err)
	}
	if string(unit) != want {
		t.Errorf("unit differs from svcunit.Render:\n%s", unit)
	}
	for _, line := range []string{"Restart=always", "RestartSec=2", "StartLimitIntervalSec=0", "After=network.target",
		"TimeoutStopSec=30", "KillMode=mixed", "User=posagent", `ExecStart=/usr/bin/posagent "run" "--config" "/etc/posagent/posagent.toml"`} {
		if !strings.Contains(string(unit), line+"\n") {
			t.Errorf("unit lacks %q", line)
		}
	}
	if strings.Contains(string(unit), "network-online") {
		t.Error("unit waits for network-online")
	}
	for _, d := range []string{"etc/posagent", "var/lib/posagent"} {
		fi, err := os.Stat(filepath.Join(tm.root, d))
		if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o750 {
			t.Errorf("%s: %v %v, want a 0750 directory", d, fi.Mode(), err)
		}
	}
	if len(res.Dirs) != 2 || res.Dirs[0].Owner != "root:posagent" || res.Dirs[1].Owner != "posagent:posagent" {
		t.Errorf("dirs = %+v", res.Dirs)
	}

	_, _, err = tm.run(t, "install")
	if err == nil || !strings.Contains(err.Error(), "already installed") {
		t.Errorf("second install: %v", err)
	}
	tm.mustRun(t, "install", "--force", "--binary", "/opt/posagent/bin/posagent")
	if unit, _ := os.ReadFile(unitPath); !strings.Contains(string(unit), "ExecStart=/opt/posagent/bin/posagent ") {
		t.Errorf("--force did not replace the unit:\n%s", unit)
	}

	out, _, err = tm.run(t, "status")
	wantExit(t, err, exitCheckFailed)
	if !strings.Contains(out, "posagent: stopped") {
		t.Errorf("status after install = %q", out)
	}
	_, _, err = tm.run(t, "stop")
	if err == nil || !strings.Contains(err.Error(), "no systemd") {
		t.Errorf("stop on a temporary root: %v", err)
	}

	tm.mustRun(t, "uninstall")
	if fileExists(unitPath) {
		t.Error("uninstall left the unit")
	}
	if !fileExists(tm.configPath()) || !fileExists(filepath.Join(tm.root, "var", "lib", "posagent")) {
		t.Error("uninstall removed configuration or data")
	}
	_, _, err = tm.run(t, "status")
	wantExit(t, err, exitNotInstalled)
	_, _, err = tm.run(t, "uninstall")
	wantExit(t, err, exitNotInstalled)
}

func TestStatusPackagedUnit(t *testing.T) {
	tm := newTestMain(t)
	p := filepath.Join(tm.root, "lib", "systemd", "system", "posagent.service")
	os.MkdirAll(filepath.Dir(p), 0o755)
	os.WriteFile(p, []byte("[Unit]\n"), 0o644)
	out, _, err := tm.run(t, "status", "--json")
	wantExit(t, err, exitCheckFailed)
	var res statusResult
	if json.Unmarshal([]byte(out), &res); res.State != "stopped" || res.Unit != p {
		t.Errorf("status = %+v", res)
	}
	if _, _, err := tm.run(t, "uninstall"); err == nil || !strings.Contains(err.Error(), "apt remove") {
		t.Errorf("uninstall of the packaged unit: %v", err)
	}
}

func TestProgramStartStop(t *testing.T) {
	t.Run("StopCancelsAndWaits", func(t *testing.T) {
		closed := make(chan struct{})
		p := newProgram(func(ctx context.Context) error {
			<-ctx.Done()
			time.Sleep(20 * time.Millisecond) // the store closes
			close(closed)
			return ctx.Err()
		}, nil)
		start := time.Now()
		if err := p.Start(nil); err != nil {
			t.Fatal(err)
		}
		if time.Since(start) > 50*time.Millisecond {
			t.Error("Start blocked")
		}
		if err := p.Stop(nil); err != nil {
			t.Errorf("Stop = %v, want nil (cancellation is not an error)", err)
		}
		select {
		case <-closed:
		default:
			t.Error("Stop returned before the body finished")
		}
	})
	t.Run("StopIsBounded", func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		p := newProgram(func(ctx context.Context) error { <-release; return nil }, nil)
		p.stopTimeout = 30 * time.Millisecond
		p.Start(nil)
		if err := p.Stop(nil); !errors.Is(err, errStopTimeout) {
			t.Errorf("Stop = %v, want errStopTimeout", err)
		}
	})
	t.Run("BodyError", func(t *testing.T) {
		boom := errors.New("boom")
		p := newProgram(func(ctx context.Context) error { return boom }, nil)
		p.Start(nil)
		<-p.Done()
		if err := p.Stop(nil); !errors.Is(err, boom) {
			t.Errorf("Stop = %v, want the body's error", err)
		}
	})
}

// TestServiceConfig pins what kardianos/service gets on a real root: our
// systemd template and the same values the temporary-root path renders.
func TestServiceConfig(t *testing.T) {
	sc := serviceConfig("/usr/bin/posagent", "/etc/posagent/posagent.toml", "posagent")
	if got := sc.Option["SystemdScript"]; got != svcunit.Template {
		t.Error("SystemdScript is not svcunit.Template")
	}
	p := unitParams("/usr/bin/posagent", "/etc/posagent/posagent.toml", "posagent")
	if sc.Name != svcunit.DefaultName || sc.Executable != p.Path || sc.UserName != p.UserName || strings.Join(sc.Arguments, " ") != strings.Join(p.Arguments, " ") {
		t.Errorf("service config %+v differs from unit params %+v", sc, p)
	}
	if strings.Join(sc.Arguments, " ") != strings.Join(svcunit.DefaultArguments, " ") {
		t.Errorf("arguments %v, want %v", sc.Arguments, svcunit.DefaultArguments)
	}
}
