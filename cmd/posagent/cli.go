package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
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
}

// newFlags returns a flag set for verb; usage is the argument synopsis shown
// by -h, e.g. "[--json] ID".
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
			return nil, &usageError{msg: err.Error()}
		}
		rest := f.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
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
