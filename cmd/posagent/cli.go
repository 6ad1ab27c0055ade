package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/posagent/posagent/config"
)

// Paths of an installation, below the install root.
const (
	configDir   = "/etc/posagent"
	unitPathEtc = "/etc/systemd/system/posagent.service"
	unitPathLib = "/lib/systemd/system/posagent.service" // where the .deb puts it
	storeFile   = "outbox.db"
	certsSubdir = "certs"
	machineKey  = "machine-key"
)

// flags is a verb's flag set with the options most verbs share.
type flags struct {
	*flag.FlagSet
	m      *Main
	config string
	json   bool
	root   *string // --root, when the verb has it
	date   string  // --date, when the verb has it
}

// newFlags returns a flag set for verb; synopsis is the argument summary shown
// by -h, e.g. "[--json] ID", and help the paragraph under it.
func (m *Main) newFlags(verb, synopsis, help string) *flags {
	fs := flag.NewFlagSet(verb, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	f := &flags{FlagSet: fs, m: m}
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "usage: posagent %s %s\n\n%s\n", verb, synopsis, help)
		if hasFlags(fs) {
			fmt.Fprintln(out, "\nflags:")
			fs.PrintDefaults()
		}
	}
	return f
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// withConfig adds --config.
func (f *flags) withConfig() *flags {
	f.StringVar(&f.config, "config", f.m.path(config.DefaultPath), "configuration `file`")
	return f
}

// withJSON adds --json.
func (f *flags) withJSON() *flags {
	f.BoolVar(&f.json, "json", false, "print JSON for scripts instead of a table")
	return f
}

// withRoot adds --root, the install root; parse moves m.Root there.
func (f *flags) withRoot() *flags {
	f.root = f.String("root", f.m.Root, "install root `dir`")
	return f
}

// parse parses args, allowing flags after positional arguments, and returns
// the positional ones. -h prints help to stdout and returns flag.ErrHelp.
func (f *flags) parse(args []string) ([]string, error) {
	var pos []string
	for {
		if err := f.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				f.SetOutput(f.m.Stdout)
				f.Usage()
				return nil, flag.ErrHelp
			}
			return nil, &usageError{err: err}
		}
		rest := f.Args()
		if len(rest) == 0 {
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	if err := f.applyDate(); err != nil {
		return nil, err
	}
	if f.root != nil && *f.root != f.m.Root {
		f.m.Root = *f.root
		// --config defaults to the configuration under the new root.
		if f.Lookup("config") != nil && !isFlagSet(f.FlagSet, "config") {
			f.config = f.m.path(config.DefaultPath)
		}
	}
	return pos, nil
}

// parseN parses args and checks that they hold n positional arguments.
func (f *flags) parseN(args []string, n int) ([]string, error) {
	pos, err := f.parse(args)
	if err != nil {
		return nil, err
	}
	if err := f.exactArgs(pos, n); err != nil {
		return nil, err
	}
	return pos, nil
}

// parseConfig parses args, checks that they hold n positional arguments and
// loads the configuration, for verbs with no flag of their own to check first
// (a usage error wins over a configuration error).
func (f *flags) parseConfig(args []string, n int) ([]string, *config.Config, error) {
	pos, err := f.parseN(args, n)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := f.loadConfig()
	if err != nil {
		return nil, nil, err
	}
	return pos, cfg, nil
}

// exactArgs checks the number of positional arguments.
func (f *flags) exactArgs(pos []string, n int) error {
	if len(pos) != n {
		return usagef("%s: want %d argument(s), got %d (see posagent %s -h)", f.Name(), n, len(pos), f.Name())
	}
	return nil
}

// loadConfig reads and validates the configuration named by --config.
func (f *flags) loadConfig() (*config.Config, error) {
	cfg, err := config.Load(f.config)
	if err != nil {
		return nil, &configError{path: f.config, err: err}
	}
	return cfg, nil
}

// runSub dispatches the sub-verbs of a verb such as cert or printer.
func runSub(ctx context.Context, m *Main, name string, args []string, subs []verb) error {
	usage := func(w io.Writer) {
		fmt.Fprintf(w, "usage: posagent %s <sub-verb> [flags]\n\nsub-verbs:\n", name)
		for _, s := range subs {
			fmt.Fprintf(w, "  %-8s %s\n", s.name, s.summary)
		}
	}
	if len(args) == 0 {
		usage(m.Stderr)
		return usagef("%s: no sub-verb given", name)
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(m.Stdout)
		return nil
	}
	for _, s := range subs {
		if s.name == args[0] {
			return s.run(ctx, m, args[1:])
		}
	}
	usage(m.Stderr)
	return usagef("%s: unknown sub-verb %q", name, args[0])
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// table writes aligned columns for people.
type table struct {
	tw *tabwriter.Writer
}

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
	t.row(header...)
	return t
}

func (t *table) row(cells ...string) {
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

func (t *table) flush() error { return t.tw.Flush() }

// dataPaths are where the service keeps its files.
type dataPaths struct {
	dir, store, certs, machineKey string
}

// pathsFor derives the data paths from the configuration; the machine key
// defaults to a file next to the configuration when the configuration names
// neither a passphrase nor a machine key file.
func pathsFor(cfg *config.Config, configPath string) dataPaths {
	p := dataPaths{
		dir:   cfg.Store.Dir,
		store: filepath.Join(cfg.Store.Dir, storeFile),
		certs: filepath.Join(cfg.Store.Dir, certsSubdir),
	}
	switch {
	case cfg.Certs.MachineKeyFile != "":
		p.machineKey = cfg.Certs.MachineKeyFile
	case cfg.Certs.PassphraseFile != "":
	default:
		p.machineKey = filepath.Join(filepath.Dir(configPath), machineKey)
	}
	return p
}

// fileExists reports whether path names an existing file.
func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// exists reports whether path exists. Unlike fileExists it returns the error
// of a path it cannot look at (a data directory only the service user may
// read), so that is not reported as "nothing there".
func exists(path string) (bool, error) {
	_, err := os.Stat(path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, err
}

// readLimited reads a file of at most limit bytes.
func readLimited(path string, limit int64) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("read %s: larger than %d bytes", path, limit)
	}
	return b, nil
}

// writeFileAtomic writes data to path by a synced temporary file and a rename,
// so a reader never sees half a file.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// isFlagSet reports whether the flag name was given on the command line.
func isFlagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}
