package logx

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"
)

// Output formats.
const (
	FormatAuto = "auto" // JSON under systemd or when not writing to a terminal, else text
	FormatText = "text"
	FormatJSON = "json"
)

// Options configure [New]. The zero value means info level and auto format.
type Options struct {
	Level  string // debug, info, warn or error; "" means info. LOG_LEVEL overrides it.
	Format string // auto, text or json; "" means auto
	// AddSource adds the file:line of the log call.
	AddSource bool
	// Getenv reads the environment; nil means os.Getenv. Tests replace it.
	Getenv func(string) string
	// Now, when set, stamps every record instead of the wall clock: a
	// rehearsal on another date (posagent run --date) logs that date.
	Now func() time.Time
}

// New returns a logger writing to w. An unknown level or format falls back to
// info and auto, so a logger always exists; validate them with [ParseLevel] and
// the config package before calling New.
func New(w io.Writer, opts Options) *slog.Logger {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	level, err := ParseLevel(opts.Level)
	if err != nil {
		level = slog.LevelInfo
	}
	if l, err := ParseLevel(getenv("LOG_LEVEL")); err == nil && getenv("LOG_LEVEL") != "" {
		level = l
	}
	ho := &slog.HandlerOptions{Level: level, AddSource: opts.AddSource, ReplaceAttr: Redact}
	if now := opts.Now; now != nil {
		ho.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Time(slog.TimeKey, now())
			}
			return Redact(groups, a)
		}
	}
	if useJSON(w, opts.Format, getenv) {
		return slog.New(slog.NewJSONHandler(w, ho))
	}
	return slog.New(slog.NewTextHandler(w, ho))
}

func useJSON(w io.Writer, format string, getenv func(string) string) bool {
	switch format {
	case FormatJSON:
		return true
	case FormatText:
		return false
	}
	if getenv("JOURNAL_STREAM") != "" || getenv("INVOCATION_ID") != "" {
		return true
	}
	f, ok := w.(*os.File)
	return !ok || !isTerminal(f)
}

// ParseLevel reads debug, info, warn (or warning) and error, in any case. The
// empty string is info.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return slog.LevelDebug, nil
	case "", "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return slog.LevelInfo, fmt.Errorf("%w: %q is not one of debug, info, warn, error", ErrLevel, s)
}
