package till_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/till"
	"github.com/posagent/posagent/till/tilltest"
)

func TestOptionsFromConfig(t *testing.T) {
	t.Setenv(config.EnvTillToken, "")
	dir := t.TempDir()
	good := filepath.Join(dir, "token")
	os.WriteFile(good, []byte(testToken+"\n"), 0o600)
	open := filepath.Join(dir, "open")
	os.WriteFile(open, []byte(testToken+"\n"), 0o644)

	tests := []struct {
		name      string
		listen    string
		file      string
		wantToken string
		wantErr   error // from OptionsFromConfig
		wantNew   error // from New
	}{
		{"loopback without token", "127.0.0.1:8080", "", "", nil, nil},
		{"all interfaces with token file", "0.0.0.0:8080", good, testToken, nil, nil},
		{"all interfaces without token", "0.0.0.0:8080", "", "", nil, till.ErrTokenRequired},
		{"token file readable by others", "0.0.0.0:8080", open, "", config.ErrInsecureSecretFile, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := config.Default()
			c.Till.Listen, c.Till.TokenFile = tt.listen, tt.file
			opts, err := till.OptionsFromConfig(c)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("OptionsFromConfig = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if opts.Token != tt.wantToken || opts.MaxBody != 1<<20 || opts.Listen != tt.listen {
				t.Errorf("options = %+v", opts)
			}
			if _, err := till.New(tilltest.New(), opts); !errors.Is(err, tt.wantNew) {
				t.Errorf("New = %v, want %v", err, tt.wantNew)
			}
		})
	}
}
