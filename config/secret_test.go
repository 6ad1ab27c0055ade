package config_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/posagent/posagent/config"
)

func writeSecret(t *testing.T, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // umask may have narrowed it
		t.Fatal(err)
	}
	return p
}

func TestSecret(t *testing.T) {
	const value = "s3cr3t-token-value"
	tests := []struct {
		name    string
		env     string
		content string
		mode    os.FileMode
		noFile  bool
		want    string
		wantErr error
	}{
		{name: "file 0600", content: value + "\n", mode: 0o600, want: value},
		{name: "file 0400 crlf", content: value + "\r\n", mode: 0o400, want: value},
		{name: "env wins", env: "from-env", content: value, mode: 0o600, want: "from-env"},
		{name: "group readable", content: value, mode: 0o640, wantErr: config.ErrInsecureSecretFile},
		{name: "world readable", content: value, mode: 0o644, wantErr: config.ErrInsecureSecretFile},
		{name: "empty", content: "\n", mode: 0o600, wantErr: config.ErrEmptySecret},
		{name: "not configured", noFile: true, wantErr: config.ErrNoSecret},
		{name: "too large", content: strings.Repeat("x", 64<<10+1), mode: 0o600, wantErr: config.ErrSecretTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if runtime.GOOS == "windows" && tt.wantErr == config.ErrInsecureSecretFile {
				t.Skip("permission bits are not checked on windows")
			}
			t.Setenv(config.EnvKSeFToken, tt.env)
			c := config.Default()
			if !tt.noFile {
				c.KSeF.TokenFile = writeSecret(t, tt.content, tt.mode)
			}
			got, err := c.Secret(config.SecretKSeFToken)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Secret() error = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("Secret() = %q, want %q", got, tt.want)
			}
			if err != nil {
				var se *config.SecretError
				if !errors.As(err, &se) || se.Name != config.SecretKSeFToken {
					t.Errorf("Secret() error = %#v, want *SecretError for %s", err, config.SecretKSeFToken)
				}
				if strings.Contains(err.Error(), value) {
					t.Errorf("Secret() error %q leaks the secret", err)
				}
			}
		})
	}
}

func TestSecretSources(t *testing.T) {
	c := config.Default()
	c.Till.TokenFile = writeSecret(t, "till", 0o600)
	c.Certs.PassphraseFile = writeSecret(t, "pass phrase with spaces ", 0o600)
	t.Setenv(config.EnvTillToken, "")
	t.Setenv(config.EnvKeyPassphrase, "")
	for name, want := range map[config.Secret]string{
		config.SecretTillToken:     "till",
		config.SecretKeyPassphrase: "pass phrase with spaces ",
	} {
		if got, err := c.Secret(name); err != nil || got != want {
			t.Errorf("Secret(%s) = %q, %v; want %q", name, got, err, want)
		}
	}
	if _, err := c.Secret("ksef"); !errors.Is(err, config.ErrUnknownSecret) {
		t.Errorf("Secret(unknown) error = %v, want ErrUnknownSecret", err)
	}
	c.KSeF.TokenFile = filepath.Join(t.TempDir(), "absent")
	t.Setenv(config.EnvKSeFToken, "")
	if _, err := c.Secret(config.SecretKSeFToken); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Secret(missing file) error = %v, want fs.ErrNotExist", err)
	}
	c.KSeF.TokenFile = t.TempDir() // a directory
	if _, err := c.Secret(config.SecretKSeFToken); !errors.Is(err, config.ErrInsecureSecretFile) {
		t.Errorf("Secret(directory) error = %v, want ErrInsecureSecretFile", err)
	}
}
