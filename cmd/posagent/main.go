package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/posagent/posagent/certstore"
)

// Version is stamped at build time with -ldflags "-X main.Version=…".
var Version = "dev"

// EnvRoot names the environment variable that moves the install root.
const EnvRoot = "POSAGENT_ROOT"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), shutdownSignals...)
	defer stop()
	m := NewMain()
	err := m.Run(ctx, os.Args[1:])
	m.reportError(err)
	os.Exit(exitCode(err))
}

// Main holds what every verb shares: the standard streams, the environment and
// the install root. Tests build one with their own buffers and a temporary root.
type Main struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Root is the install root ("/" in production); the configuration, data
	// and unit paths of install, uninstall, status and the defaults of
	// --config live under it.
	Root string
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Statfs reports free and total bytes of the file system holding path;
	// nil means the operating system's. Tests inject a full disk.
	Statfs func(path string) (free, total uint64, err error)
	// HTTP is the client for the till API and KSeF checks; nil means one with
	// a 10 s timeout.
	HTTP *http.Client
	// certKDF sets the argon2id parameters of a new certificate store; nil
	// means certstore.DefaultKDF. Tests make it cheap.
	certKDF *certstore.KDFParams
	// systemctl runs systemctl with args on a real root; tests replace it.
	systemctl func(ctx context.Context, args ...string) ([]byte, error)
}

// NewMain returns a Main on the process's streams and environment.
func NewMain() *Main {
	root := os.Getenv(EnvRoot)
	if root == "" {
		root = "/"
	}
	return &Main{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Root: root}
}

func (m *Main) getenv(k string) string {
	if m.Getenv != nil {
		return m.Getenv(k)
	}
	return os.Getenv(k)
}

func (m *Main) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func (m *Main) httpClient() *http.Client {
	if m.HTTP != nil {
		return m.HTTP
	}
	return &http.Client{Timeout: 10 * time.Second}
}

func (m *Main) statfs(path string) (free, total uint64, err error) {
	if m.Statfs != nil {
		return m.Statfs(path)
	}
	return diskSpace(path)
}

// path joins p, an absolute path of an installation, under the install root.
// A path already inside the root (a configuration written for that root) is
// returned as it is.
func (m *Main) path(p string) string {
	if m.realRoot() {
		return p
	}
	root := filepath.Clean(m.Root)
	if p == root || strings.HasPrefix(p, root+string(filepath.Separator)) {
		return p
	}
	return filepath.Join(root, p)
}

// realRoot reports whether the install root is the machine's own "/".
func (m *Main) realRoot() bool {
	return m.Root == "" || filepath.Clean(m.Root) == "/"
}

// verb is one subcommand.
type verb struct {
	name    string
	summary string
	run     func(ctx context.Context, m *Main, args []string) error
}

// verbs lists the subcommands in the order help shows them.
func verbs() []verb {
	return []verb{
		{"run", "run the service in the foreground", runRun},
		{"demo", "run a full demo with a simulator and a virtual printer", runDemo},
		{"install", "install the systemd service and its directories", runInstall},
		{"uninstall", "remove the systemd service (keeps data and configuration)", runUninstall},
		{"start", "start the installed service", runStart},
		{"stop", "stop the installed service", runStop},
		{"status", "tell whether the service is installed, running or stopped", runStatus},
		{"doctor", "check configuration, disk, printer, certificate and KSeF", runDoctor},
		{"cert", "KSeF certificates: import, list, csr, enroll", runCert},
		{"printer", "receipt printer: list, test, status", runPrinter},
		{"invoices", "stored invoices: list, show, export, reprint", runInvoices},
		{"mode", "show or override the issuing mode of the running agent", runMode},
		{"ksefsim", "run the KSeF API simulator on loopback", runKSeFSim},
		{"version", "print the version", runVersion},
		{"help", "list the verbs, or explain one", runHelp},
	}
}

// Run runs the verb named by args[0] with the rest of args.
func (m *Main) Run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		m.usage(m.Stderr)
		return usagef("no verb given")
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		m.usage(m.Stdout)
		return nil
	case "-version", "--version":
		name = "version"
	}
	for _, v := range verbs() {
		if v.name == name {
			return v.run(ctx, m, args[1:])
		}
	}
	m.usage(m.Stderr)
	return usagef("unknown verb %q", name)
}

func (m *Main) usage(w io.Writer) {
	fmt.Fprintln(w, "usage: posagent <verb> [flags]  (posagent <verb> -h for its flags)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "verbs:")
	for _, v := range verbs() {
		fmt.Fprintf(w, "  %-10s %s\n", v.name, v.summary)
	}
}
