package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"

	"github.com/kardianos/service"

	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/internal/svcunit"
)

// installDir is one directory install creates.
type installDir struct {
	Path  string `json:"path"`
	Mode  string `json:"mode"`
	Owner string `json:"owner"` // user:group wanted
	Owned bool   `json:"owned"` // whether the owner could be set
}

// installResult is what install reports.
type installResult struct {
	Root string       `json:"root"`
	Unit string       `json:"unit"`
	Dirs []installDir `json:"dirs"`
	Note string       `json:"note,omitempty"`
}

func runInstall(ctx context.Context, m *Main, args []string) error {
	f := m.newFlags("install", "[--root DIR] [--user NAME] [--binary PATH]",
		"Installs posagent as a systemd service (Restart=always, User=posagent) and creates\n"+
			"/etc/posagent (0750 root:posagent) and /var/lib/posagent (0750 posagent:posagent).\n"+
			"With --root (or POSAGENT_ROOT) everything goes below DIR and systemd is not\n"+
			"touched: the unit file is written from the same template kardianos/service uses.").withJSON().withRoot()
	userName := f.String("user", "posagent", "system `user` the service runs as")
	binary := f.String("binary", defaultBinary(), "`path` of the posagent binary in the unit")
	cfgPath := f.String("service-config", defaultConfigPath(), "configuration `file` the service reads (as seen by the service)")
	force := f.Bool("force", false, "replace an existing unit file")
	if _, err := f.parseN(args, 0); err != nil {
		return err
	}
	if !filepath.IsAbs(*binary) || !filepath.IsAbs(*cfgPath) {
		return usagef("install: --binary and --service-config must be absolute paths")
	}
	if u := m.installedUnit(); u != "" && !*force {
		return &exitError{code: exitFailure, err: fmt.Errorf("install: already installed (%s); use --force to replace the unit", u)}
	}
	res := installResult{Root: m.Root}

	if m.realRoot() {
		if err := ensureUser(ctx, *userName); err != nil {
			return err
		}
	}
	// The data directory is the configured one when a configuration exists.
	dataDir := config.DefaultStoreDir
	if cfg, err := config.Load(m.path(*cfgPath)); err == nil {
		dataDir = cfg.Store.Dir
	}
	for _, d := range []struct {
		path, owner, group string
		mode               os.FileMode
	}{
		{configDir, "root", *userName, 0o750},
		{dataDir, *userName, *userName, 0o750},
	} {
		p := m.path(d.path)
		if err := os.MkdirAll(p, d.mode); err != nil {
			return fmt.Errorf("install: %w", err)
		}
		if err := os.Chmod(p, d.mode); err != nil {
			return fmt.Errorf("install: %w", err)
		}
		owned := chownTo(p, d.owner, d.group) == nil
		res.Dirs = append(res.Dirs, installDir{Path: p, Mode: fmt.Sprintf("%04o", d.mode), Owner: d.owner + ":" + d.group, Owned: owned})
	}

	if m.realRoot() {
		if *force {
			if s, err := service.New(newProgram(nil, nil), serviceConfig(*binary, *cfgPath, *userName)); err == nil {
				_ = s.Uninstall()
			}
		}
		s, err := service.New(newProgram(nil, nil), serviceConfig(*binary, *cfgPath, *userName))
		if err != nil {
			return fmt.Errorf("install: %w", err)
		}
		if err := s.Install(); err != nil {
			return fmt.Errorf("install the service: %w", err)
		}
		res.Unit = m.installedUnit()
		if _, err := m.runSystemctl(ctx, "daemon-reload"); err != nil {
			res.Note = "systemctl daemon-reload failed: " + err.Error()
		}
	} else {
		unit, err := svcunit.Render(unitParams(*binary, *cfgPath, *userName))
		if err != nil {
			return fmt.Errorf("install: %w", err)
		}
		res.Unit = m.path(unitPathEtc)
		if err := os.MkdirAll(filepath.Dir(res.Unit), 0o755); err != nil {
			return fmt.Errorf("install: %w", err)
		}
		if err := writeFileAtomic(res.Unit, []byte(unit), 0o644); err != nil {
			return fmt.Errorf("install: %w", err)
		}
		res.Note = "install root is not /: systemd was not told; owners are set only when run as root"
	}
	if f.json {
		return printJSON(m.Stdout, res)
	}
	fmt.Fprintf(m.Stdout, "installed unit %s\n", res.Unit)
	for _, d := range res.Dirs {
		owner := d.Owner
		if !d.Owned {
			owner += " (not set: run as root)"
		}
		fmt.Fprintf(m.Stdout, "  %-40s %s %s\n", d.Path, d.Mode, owner)
	}
	if res.Note != "" {
		fmt.Fprintln(m.Stdout, "note:", res.Note)
	}
	if !fileExists(m.path(*cfgPath)) {
		fmt.Fprintf(m.Stdout, "next: write %s (see posagent.example.toml), then posagent doctor\n", m.path(*cfgPath))
	} else {
		fmt.Fprintln(m.Stdout, "next: posagent doctor, then posagent start")
	}
	return nil
}

// chownTo sets the owner of path to user:group by name.
func chownTo(path, userName, group string) error {
	u, err := user.Lookup(userName)
	if err != nil {
		return err
	}
	g, err := user.LookupGroup(group)
	if err != nil {
		return err
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return err
	}
	gid, err := strconv.Atoi(g.Gid)
	if err != nil {
		return err
	}
	return os.Lchown(path, uid, gid)
}

// ensureUser creates the system user (in group dialout for serial printers)
// when it does not exist, as the .deb's postinst does.
func ensureUser(ctx context.Context, name string) error {
	if _, err := user.Lookup(name); err == nil {
		return nil
	} else if !errors.As(err, new(user.UnknownUserError)) {
		return fmt.Errorf("install: look up user %s: %w", name, err)
	}
	out, err := exec.CommandContext(ctx, "useradd", "--system", "--user-group", "--home-dir", "/var/lib/posagent",
		"--no-create-home", "--shell", "/usr/sbin/nologin", name).CombinedOutput()
	if err != nil {
		return fmt.Errorf("install: create user %s: %w: %s", name, err, out)
	}
	// Best effort: a machine without a dialout group has no serial printer to
	// share, and doctor reports a port the user cannot open.
	_ = exec.CommandContext(ctx, "usermod", "-aG", "dialout", name).Run()
	return nil
}
