package logx_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/posagent/posagent/internal/logx"
)

const (
	secret = "Zm9vYmFyLXNlY3JldC10b2tlbg"
	pem    = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----"
	jwt    = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
)

func env(kv ...string) func(string) string {
	return func(k string) string {
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i] == k {
				return kv[i+1]
			}
		}
		return ""
	}
}

type stringer string

func (s stringer) String() string { return string(s) }

func TestRedact(t *testing.T) {
	tests := []struct {
		name string
		log  func(*slog.Logger)
		key  string // JSON path, dotted
		want string
	}{
		{"token key", func(l *slog.Logger) { l.Info("m", "token", secret) }, "token", logx.Redacted},
		{"ksef_token key", func(l *slog.Logger) { l.Info("m", "ksef_token", secret) }, "ksef_token", logx.Redacted},
		{"passphrase key", func(l *slog.Logger) { l.Info("m", "Passphrase", secret) }, "Passphrase", logx.Redacted},
		{"password int", func(l *slog.Logger) { l.Info("m", "password", 1234) }, "password", logx.Redacted},
		{"authorization header", func(l *slog.Logger) { l.Info("m", "Authorization", "Bearer "+secret) }, "Authorization", logx.Redacted},
		{"key", func(l *slog.Logger) { l.Info("m", "key", secret) }, "key", logx.Redacted},
		{"private_key", func(l *slog.Logger) { l.Info("m", "private_key", secret) }, "private_key", logx.Redacted},
		{"machine-key", func(l *slog.Logger) { l.Info("m", "machine-key", secret) }, "machine-key", logx.Redacted},
		{"client secret", func(l *slog.Logger) { l.Info("m", "clientSecret", secret) }, "clientSecret", logx.Redacted},
		{"idempotency key kept", func(l *slog.Logger) { l.Info("m", "idempotency_key", "sale-42") }, "idempotency_key", "sale-42"},
		{"public key id kept", func(l *slog.Logger) { l.Info("m", "public_key_id", "abc") }, "public_key_id", "abc"},
		{"group member", func(l *slog.Logger) { l.Info("m", slog.Group("auth", "token", secret, "ctx", "Nip")) }, "auth.token", logx.Redacted},
		{"group kept", func(l *slog.Logger) { l.Info("m", slog.Group("auth", "token", secret, "ctx", "Nip")) }, "auth.ctx", "Nip"},
		{"with group", func(l *slog.Logger) { l.WithGroup("ksef").Info("m", "token", secret) }, "ksef.token", logx.Redacted},
		{"with attrs", func(l *slog.Logger) { l.With("passphrase", secret).Info("m") }, "passphrase", logx.Redacted},
		{"pem value", func(l *slog.Logger) { l.Info("m", "cert", "got "+pem+" end") }, "cert", "got [REDACTED PEM] end"},
		{"bearer in string", func(l *slog.Logger) { l.Info("m", "header", "Bearer "+secret) }, "header", "Bearer " + logx.Redacted},
		{"bearer in error", func(l *slog.Logger) {
			l.Info("m", "error", errors.New("401 for header bearer "+secret))
		}, "error", "401 for header bearer " + logx.Redacted},
		{"jwt in stringer", func(l *slog.Logger) { l.Info("m", "session", stringer("ref "+jwt)) }, "session", "ref " + logx.Redacted},
		{"bytes", func(l *slog.Logger) { l.Info("m", "blob", []byte(secret)) }, "blob", "[26 bytes]"},
		{"message", func(l *slog.Logger) { l.Info("sent Authorization: Bearer " + secret) }, "msg", "sent Authorization: Bearer " + logx.Redacted},
		{"plain kept", func(l *slog.Logger) { l.Info("m", "invoice", "KASA01/2026/11/000001") }, "invoice", "KASA01/2026/11/000001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			tt.log(logx.New(&buf, logx.Options{Format: logx.FormatJSON, Getenv: env()}))
			if strings.Contains(buf.String(), secret) || strings.Contains(buf.String(), "MIIEvQ") || strings.Contains(buf.String(), "eyJzdWIi") {
				t.Errorf("log leaks a secret: %s", buf.String())
			}
			var m map[string]any
			if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
				t.Fatalf("output is not JSON: %v: %s", err, buf.String())
			}
			var got any = m
			for _, p := range strings.Split(tt.key, ".") {
				got = got.(map[string]any)[p]
			}
			if got != tt.want {
				t.Errorf("%s = %v, want %q", tt.key, got, tt.want)
			}
		})
	}
}

// TestRedactText proves the text handler shares the redaction.
func TestRedactText(t *testing.T) {
	var buf bytes.Buffer
	l := logx.New(&buf, logx.Options{Format: logx.FormatText, Getenv: env()})
	l.Info("login", "token", secret, "cert", pem, slog.Group("till", "authorization", "Bearer "+secret))
	out := buf.String()
	if strings.Contains(out, secret) || strings.Contains(out, "MIIEvQ") {
		t.Errorf("text log leaks a secret: %s", out)
	}
	if !strings.Contains(out, "token=[REDACTED]") || !strings.Contains(out, "till.authorization=[REDACTED]") {
		t.Errorf("text log = %s, want redacted token and till.authorization", out)
	}
}

func TestLevel(t *testing.T) {
	tests := []struct {
		name      string
		level     string
		logLevel  string
		wantDebug bool
		wantInfo  bool
	}{
		{"default info", "", "", false, true},
		{"debug", "debug", "", true, true},
		{"error", "error", "", false, false},
		{"LOG_LEVEL overrides", "error", "debug", true, true},
		{"LOG_LEVEL case", "info", "WARN", false, false},
		{"bad LOG_LEVEL ignored", "debug", "loud", true, true},
		{"bad level falls back to info", "loud", "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			l := logx.New(&buf, logx.Options{Level: tt.level, Format: logx.FormatText, Getenv: env("LOG_LEVEL", tt.logLevel)})
			l.Debug("d")
			l.Info("i")
			if got := strings.Contains(buf.String(), "msg=d"); got != tt.wantDebug {
				t.Errorf("debug logged = %v, want %v", got, tt.wantDebug)
			}
			if got := strings.Contains(buf.String(), "msg=i"); got != tt.wantInfo {
				t.Errorf("info logged = %v, want %v", got, tt.wantInfo)
			}
		})
	}
}

func TestParseLevel(t *testing.T) {
	if _, err := logx.ParseLevel("verbose"); !errors.Is(err, logx.ErrLevel) {
		t.Errorf("ParseLevel(verbose) error = %v, want ErrLevel", err)
	}
	if got, err := logx.ParseLevel("Warning"); err != nil || got != slog.LevelWarn {
		t.Errorf("ParseLevel(Warning) = %v, %v; want WARN", got, err)
	}
}

func isJSON(t *testing.T, out string) bool {
	t.Helper()
	return strings.HasPrefix(strings.TrimSpace(out), "{")
}

func TestAutoFormat(t *testing.T) {
	tests := []struct {
		name   string
		getenv func(string) string
		tty    bool
		want   bool // JSON
	}{
		{"buffer", env(), false, true},
		{"terminal", env(), true, false},
		{"terminal under systemd JOURNAL_STREAM", env("JOURNAL_STREAM", "8:1234"), true, true},
		{"terminal under systemd INVOCATION_ID", env("INVOCATION_ID", "abc"), true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out string
			if tt.tty {
				if runtime.GOOS != "linux" {
					t.Skip("pty test is linux-only")
				}
				ptmx, tty, err := pty.Open()
				if err != nil {
					t.Skipf("no pty: %v", err)
				}
				defer ptmx.Close()
				defer tty.Close()
				logx.New(tty, logx.Options{Getenv: tt.getenv}).Info("hello")
				buf := make([]byte, 512)
				n, err := ptmx.Read(buf)
				if err != nil {
					t.Fatal(err)
				}
				out = string(buf[:n])
			} else {
				var buf bytes.Buffer
				logx.New(&buf, logx.Options{Getenv: tt.getenv}).Info("hello")
				out = buf.String()
			}
			if got := isJSON(t, out); got != tt.want {
				t.Errorf("JSON = %v, want %v; output %q", got, tt.want, out)
			}
		})
	}
	// /dev/null is a character device but not a terminal.
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err == nil && runtime.GOOS == "linux" {
		defer f.Close()
		if h := logx.New(f, logx.Options{Getenv: env()}).Handler(); !strings.Contains(strings.ToLower(typeName(h)), "json") {
			t.Errorf("handler for /dev/null = %s, want JSON", typeName(h))
		}
	}
}

func typeName(v any) string { return strings.TrimPrefix(strings.TrimPrefix(fmtType(v), "*"), "slog.") }

// TestNow: a rehearsal clock stamps the records, and redaction still applies.
func TestNow(t *testing.T) {
	at := time.Date(2026, 12, 23, 10, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	log := logx.New(&buf, logx.Options{Format: logx.FormatJSON, Getenv: env(), Now: func() time.Time { return at }})
	log.Info("sale", "token", secret)
	var rec struct {
		Time  time.Time `json:"time"`
		Token string    `json:"token"`
	}
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("%v: %s", err, buf.Bytes())
	}
	if !rec.Time.Equal(at) || rec.Token != logx.Redacted {
		t.Errorf("time %v token %q, want %v and %q", rec.Time, rec.Token, at, logx.Redacted)
	}
}
