package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/kardianos/service"

	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/internal/svcunit"
)

// DefaultStopTimeout bounds how long Stop waits for the agent to flush and
// close the store; systemd's TimeoutStopSec (30 s) is longer.
const DefaultStopTimeout = 20 * time.Second

// program adapts the service body to kardianos/service: Start launches it and
// returns at once, Stop cancels it and waits a bounded time.
type program struct {
	body        func(ctx context.Context) error
	stopTimeout time.Duration
	logger      *slog.Logger

	mu     sync.Mutex // guards cancel, done and err
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

var _ service.Interface = (*program)(nil)

func newProgram(body func(ctx context.Context) error, logger *slog.Logger) *program {
	return &program{body: body, stopTimeout: DefaultStopTimeout, logger: logger, done: make(chan struct{})}
}

// Start launches the body; it does not block.
func (p *program) Start(service.Service) error {
	ctx, cancel := context.WithCancel(context.Background())
	p.mu.Lock()
	p.cancel = cancel
	p.mu.Unlock()
	go func() {
		err := p.body(ctx)
		if errors.Is(err, context.Canceled) {
			err = nil
		}
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(p.done)
	}()
	return nil
}

// Stop cancels the body and waits for it, at most stopTimeout.
func (p *program) Stop(service.Service) error {
	p.mu.Lock()
	cancel := p.cancel
	p.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	t := time.NewTimer(p.stopTimeout)
	defer t.Stop()
	select {
	case <-p.done:
		return p.result()
	case <-t.C:
		return errStopTimeout
	}
}

// Done is closed when the body has returned.
func (p *program) Done() <-chan struct{} { return p.done }

func (p *program) result() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// serviceConfig is the kardianos/service description of posagent, with our
// own systemd unit template.
func serviceConfig(binary, configPath, user string) *service.Config {
	return &service.Config{
		Name:        svcunit.DefaultName,
		DisplayName: "posagent",
		Description: svcunit.DefaultDescription,
		Executable:  binary,
		Arguments:   []string{"run", "--config", configPath},
		UserName:    user,
		Option: service.KeyValue{
			"SystemdScript": svcunit.Template,
			"Restart":       "always",
		},
	}
}

// unitParams are the same values for svcunit.Render, used on an install root
// other than "/" where kardianos/service cannot write.
func unitParams(binary, configPath, user string) svcunit.Params {
	return svcunit.Params{Path: binary, Arguments: []string{"run", "--config", configPath}, UserName: user}
}

// runSystemctl runs systemctl on the real root.
func (m *Main) runSystemctl(ctx context.Context, args ...string) ([]byte, error) {
	if m.systemctl != nil {
		return m.systemctl(ctx, args...)
	}
	out, err := exec.CommandContext(ctx, "systemctl", args...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("systemctl %v: %w: %s", args, err, out)
	}
	return out, nil
}

// installedUnit returns the path of the installed unit file under the root,
// or "" when there is none.
func (m *Main) installedUnit() string {
	for _, p := range []string{unitPathEtc, unitPathLib, "/usr" + unitPathLib} {
		if fileExists(m.path(p)) {
			return m.path(p)
		}
	}
	return ""
}

// defaultConfigPath is the configuration path as the service sees it.
func defaultConfigPath() string { return config.DefaultPath }

// defaultBinary is where the service runs from: the packaged binary when it
// exists, else this executable.
func defaultBinary() string {
	if fileExists(svcunit.DefaultPath) {
		return svcunit.DefaultPath
	}
	if exe, err := os.Executable(); err == nil {
		return exe
	}
	return svcunit.DefaultPath
}
