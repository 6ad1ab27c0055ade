package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/posagent/posagent/config"
)

// [metrics] is off by default; off loopback it needs a token, and it never
// shares the till API's address.
func TestMetricsListen(t *testing.T) {
	tests := []struct {
		name      string
		overrides map[string]string
		wantKey   string // "" when it must parse
		wantErr   error
		wantMsg   string
	}{
		{"OffByDefault", nil, "", nil, ""},
		{"Loopback", map[string]string{"metrics.listen": `"127.0.0.1:9464"`}, "", nil, ""},
		{"RemoteWithToken", map[string]string{"metrics.listen": `"0.0.0.0:9464"`, "metrics.token_file": `"/etc/posagent/metrics-token"`}, "", nil, ""},
		{"RemoteWithoutToken", map[string]string{"metrics.listen": `"0.0.0.0:9464"`}, "metrics.token_file", config.ErrMissing,
			`metrics.token_file: missing; it must be set when metrics.listen (0.0.0.0:9464) is not a loopback address, so that scrapes need a bearer token`},
		{"TillsAddress", map[string]string{"metrics.listen": `"127.0.0.1:8080"`}, "metrics.listen", config.ErrInvalid,
			`metrics.listen: "127.0.0.1:8080" is not an address other than till.listen`},
		{"NoPort", map[string]string{"metrics.listen": `"9464"`}, "metrics.listen", config.ErrInvalid, ""},
		{"RelativeTokenFile", map[string]string{"metrics.token_file": `"metrics-token"`}, "metrics.token_file", config.ErrInvalid, ""},
		{"TokenInFile", map[string]string{"metrics.token": `"abc"`}, "metrics.token", config.ErrSecretInFile,
			`metrics.token: secrets are never read from the configuration file; use metrics.token_file or the environment variable POSAGENT_METRICS_TOKEN (a file readable only by its owner)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Parse(build(tt.overrides))
			if tt.wantKey == "" {
				if err != nil {
					t.Fatalf("Parse() = %v", err)
				}
				if got, want := c.Metrics.Listen, tt.overrides["metrics.listen"]; `"`+got+`"` != want && !(got == "" && want == "") {
					t.Errorf("metrics.listen = %q, want %s", got, want)
				}
				return
			}
			var es config.Errors
			if !errors.Is(err, tt.wantErr) || !errors.As(err, &es) || len(es) != 1 || es[0].Key != tt.wantKey {
				t.Fatalf("Parse() = %v, want one %v on %s", err, tt.wantErr, tt.wantKey)
			}
			if tt.wantMsg != "" && es[0].Error() != tt.wantMsg {
				t.Errorf("Error() =\n%s\nwant\n%s", es[0].Error(), tt.wantMsg)
			}
		})
	}
}

func TestMetricsTokenSecret(t *testing.T) {
	t.Setenv(config.EnvMetricsToken, "")
	c, err := config.Parse(build(nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Secret(config.SecretMetricsToken); !errors.Is(err, config.ErrNoSecret) {
		t.Errorf("no token file: %v, want ErrNoSecret", err)
	}
	c.Metrics.TokenFile = filepath.Join(t.TempDir(), "metrics-token")
	if err := os.WriteFile(c.Metrics.TokenFile, []byte("metrics-token-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Secret(config.SecretMetricsToken); err != nil || got != "metrics-token-0123456789" {
		t.Errorf("from the file: %q, %v", got, err)
	}
	t.Setenv(config.EnvMetricsToken, "from-the-environment-0123")
	if got, err := c.Secret(config.SecretMetricsToken); err != nil || got != "from-the-environment-0123" {
		t.Errorf("the environment wins: %q, %v", got, err)
	}
}
