package main

import (
	"context"
	"errors"
	"fmt"
)

func runStart(ctx context.Context, m *Main, args []string) error {
	return control(ctx, m, "start", args)
}

func runStop(ctx context.Context, m *Main, args []string) error {
	return control(ctx, m, "stop", args)
}

// control starts or stops the installed service through systemd.
func control(ctx context.Context, m *Main, action string, args []string) error {
	f := m.newFlags(action, "[--root DIR]", fmt.Sprintf("Asks systemd to %s the installed posagent service.", action)).withRoot()
	if _, err := f.parseN(args, 0); err != nil {
		return err
	}
	if m.installedUnit() == "" {
		return &exitError{code: exitNotInstalled, err: fmt.Errorf("%s: posagent is not installed (posagent install)", action)}
	}
	if !m.realRoot() {
		return errors.New(action + ": the install root is not /: there is no systemd to ask")
	}
	if _, err := m.runSystemctl(ctx, action, "posagent.service"); err != nil {
		return fmt.Errorf("%s: %w (see journalctl -u posagent)", action, err)
	}
	fmt.Fprintf(m.Stdout, "posagent: %s done\n", action)
	return nil
}
