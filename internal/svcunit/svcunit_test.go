package svcunit_test

import (
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/posagent/posagent/internal/svcunit"
	"github.com/posagent/posagent/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite golden files")

var full = svcunit.Params{
	Name:             "posagent",
	Description:      "posagent (shop 7)",
	Path:             "/opt/pos agent/posagent",
	Arguments:        []string{"run", "--config", `/etc/posagent/my "shop".toml`},
	UserName:         "posagent",
	Dependencies:     []string{"Wants=time-sync.target"},
	EnvVars:          map[string]string{"LOG_LEVEL": "debug", "GOMAXPROCS": "2"},
	WorkingDirectory: "/var/lib/posagent",
	ReloadSignal:     "HUP",
	PIDFile:          "/run/posagent.pid",
	LimitNOFILE:      4096,
	LogOutput:        true,
	LogDirectory:     "/var/log/posagent",
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if got != string(want) {
		t.Errorf("%s mismatch\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestRenderGolden(t *testing.T) {
	tests := []struct {
		golden string
		p      svcunit.Params
	}{
		{"posagent.service", svcunit.Params{}},
		{"full.service", full},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			got, err := svcunit.Render(tt.p)
			if err != nil {
				t.Fatalf("Render() error: %v", err)
			}
			checkGolden(t, tt.golden, got)
		})
	}
}

// section returns the lines of one [Section] of a unit file.
func section(unit, name string) []string {
	var lines []string
	in := false
	for _, l := range strings.Split(unit, "\n") {
		if strings.HasPrefix(l, "[") {
			in = l == "["+name+"]"
			continue
		}
		if in && l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

func TestRequiredLines(t *testing.T) {
	for _, p := range []svcunit.Params{{}, full} {
		unit, err := svcunit.Render(p)
		if err != nil {
			t.Fatal(err)
		}
		required := map[string][]string{
			"Unit": {"After=network.target", "StartLimitIntervalSec=0"},
			"Service": {
				"User=posagent", "Group=posagent", "SupplementaryGroups=dialout",
				"Restart=always", "RestartSec=2", "TimeoutStopSec=30", "KillMode=mixed",
				"StateDirectory=posagent", "ConfigurationDirectory=posagent",
				"NoNewPrivileges=yes", "ProtectSystem=strict", "ReadWritePaths=/var/lib/posagent", "PrivateTmp=yes",
			},
			"Install": {"WantedBy=multi-user.target"},
		}
		for sec, want := range required {
			lines := section(unit, sec)
			for _, w := range want {
				found := false
				for _, l := range lines {
					found = found || l == w
				}
				if !found {
					t.Errorf("[%s] lacks %q:\n%s", sec, w, unit)
				}
			}
		}
		if desc := section(unit, "Unit"); !strings.HasPrefix(desc[0], "Description=") {
			t.Errorf("first [Unit] line = %q, want Description=", desc[0])
		}
		// ProtectClock implies DeviceAllow=char-rtc r; any DeviceAllow or
		// PrivateDevices closes the device policy and the serial port with it.
		for _, bad := range []string{"network-online", "StartLimitBurst", "PrivateDevices=", "ProtectClock=", "DeviceAllow=", "DevicePolicy="} {
			if strings.Contains(unit, "\n"+bad) || (bad == "network-online" && strings.Contains(unit, bad)) {
				t.Errorf("unit contains %q, which it must not:\n%s", bad, unit)
			}
		}
		if !strings.Contains(unit, "\nExecStart=") {
			t.Errorf("unit has no ExecStart")
		}
	}
}

func TestRenderRefuses(t *testing.T) {
	tests := []struct {
		name      string
		p         svcunit.Params
		wantField string
	}{
		{"relative path", svcunit.Params{Path: "bin/posagent"}, "Path"},
		{"newline in description", svcunit.Params{Description: "x\nExecStartPre=/bin/rm -rf /"}, "Description"},
		{"newline in argument", svcunit.Params{Arguments: []string{"run\nUser=root"}}, "Arguments[0]"},
		{"bad name", svcunit.Params{Name: "pos agent"}, "Name"},
		{"bad user", svcunit.Params{UserName: "Root Admin"}, "UserName"},
		{"bad signal", svcunit.Params{ReloadSignal: "HUP; rm"}, "ReloadSignal"},
		{"negative nofile", svcunit.Params{LimitNOFILE: -1}, "LimitNOFILE"},
		{"relative log dir", svcunit.Params{LogOutput: true, LogDirectory: "logs"}, "LogDirectory"},
		{"bad dependency", svcunit.Params{Dependencies: []string{"network-online.target"}}, "Dependencies"},
		{"bad env name", svcunit.Params{EnvVars: map[string]string{"A-B": "1"}}, "EnvVars"},
		{"env newline", svcunit.Params{EnvVars: map[string]string{"A": "1\nUser=root"}}, "EnvVars"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := svcunit.Render(tt.p)
			if got != "" {
				t.Errorf("Render() returned a unit with an error")
			}
			var pe *svcunit.ParamError
			if !errors.As(err, &pe) || !errors.Is(err, svcunit.ErrParam) {
				t.Fatalf("Render() error = %v, want *ParamError", err)
			}
			if pe.Field != tt.wantField {
				t.Errorf("ParamError.Field = %q, want %q", pe.Field, tt.wantField)
			}
		})
	}
}

// TestSystemdAnalyzeVerify lets systemd itself check the rendered unit.
func TestSystemdAnalyzeVerify(t *testing.T) {
	bin := testutil.RequireTool(t, "systemd-analyze")
	exe, err := exec.LookPath("true")
	if err != nil {
		t.Skip("no true(1) to stand in for the binary")
	}
	withExe := full
	withExe.Path = exe
	for name, p := range map[string]svcunit.Params{"default": {Path: exe}, "full": withExe} {
		t.Run(name, func(t *testing.T) {
			unit, err := svcunit.Render(p)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "posagent.service")
			if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(bin, "verify", "--man=no", path).CombinedOutput()
			if err != nil {
				t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
			}
			// systemd only warns about unknown or misspelled directives; fail on them.
			for _, l := range strings.Split(string(out), "\n") {
				if strings.Contains(l, "Unknown") || strings.Contains(l, "ignoring") || strings.Contains(l, "nvalid") {
					t.Errorf("systemd-analyze: %s", l)
				}
			}
		})
	}
}

// The .deb ships build/systemd/posagent.service; it must be exactly what
// kardianos/service would install, so the two paths never drift apart.
func TestPackagedUnitMatchesRender(t *testing.T) {
	got, err := svcunit.Render(svcunit.Params{})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "..", "build", "systemd", "posagent.service")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs from Render(Params{}); run go test ./internal/svcunit -update", path)
	}
}
