package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/kardianos/service"
)

func runUninstall(ctx context.Context, m *Main, args []string) error {
	f := m.newFlags("uninstall", "[--root DIR]",
		"Stops and removes the systemd unit. The configuration (/etc/posagent) and the data\n"+
			"(/var/lib/posagent: invoices not yet in KSeF!) are kept.").withRoot()
	if _, err := f.parseN(args, 0); err != nil {
		return err
	}
	unit := m.installedUnit()
	if unit == "" {
		return &exitError{code: exitNotInstalled, err: errors.New("uninstall: posagent is not installed")}
	}
	if unit != m.path(unitPathEtc) {
		return fmt.Errorf("uninstall: %s belongs to the posagent package; remove it with apt remove posagent", unit)
	}
	if m.realRoot() {
		s, err := service.New(newProgram(nil, nil), serviceConfig(defaultBinary(), defaultConfigPath(), "posagent"))
		if err != nil {
			return fmt.Errorf("uninstall: %w", err)
		}
		_ = s.Stop() // a service that is not running is no reason to keep the unit
		if err := s.Uninstall(); err != nil {
			return fmt.Errorf("uninstall: %w", err)
		}
		// The unit file is gone; a stale systemd cache only lists it until the
		// next reload.
		_, _ = m.runSystemctl(ctx, "daemon-reload")
	} else if err := os.Remove(unit); err != nil {
		return fmt.Errorf("uninstall: %w", err)
	}
	fmt.Fprintf(m.Stdout, "removed %s; configuration and data were kept\n", unit)
	return nil
}
