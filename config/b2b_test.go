package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/posagent/posagent/config"
)

// TestB2BOffline: policy.b2b_offline defaults to confirmation; the deprecated
// b2b_offline_handover is read for one release, with a warning, and may not
// be set together with it.
func TestB2BOffline(t *testing.T) {
	tests := []struct {
		name       string
		overrides  map[string]string
		want       string
		deprecated string // "" = no warning
		wantErr    string // the key of the only error
	}{
		{"default", nil, "confirmation", "", ""},
		{"hold", map[string]string{"policy.b2b_offline": `"hold"`}, "hold", "", ""},
		{"handover", map[string]string{"policy.b2b_offline": `"handover"`}, "handover", "", ""},
		{"old true", map[string]string{"policy.b2b_offline_handover": `true`}, "handover", `policy.b2b_offline = "handover"`, ""},
		{"old false", map[string]string{"policy.b2b_offline_handover": `false`}, "hold", `policy.b2b_offline = "hold"`, ""},
		{"both", map[string]string{"policy.b2b_offline_handover": `true`, "policy.b2b_offline": `"hold"`}, "", "", "policy.b2b_offline_handover"},
		{"unknown", map[string]string{"policy.b2b_offline": `"always"`}, "", "", "policy.b2b_offline"},
		{"old as text", map[string]string{"policy.b2b_offline_handover": `"yes"`}, "", "", "policy.b2b_offline_handover"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Parse(build(tt.overrides))
			if tt.wantErr != "" {
				var es config.Errors
				if !errors.As(err, &es) || len(es) != 1 || es[0].Key != tt.wantErr || !errors.Is(err, config.ErrInvalid) {
					t.Fatalf("Parse = %v, want one ErrInvalid on %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Policy.B2BOffline != tt.want {
				t.Errorf("b2b_offline = %q, want %q", c.Policy.B2BOffline, tt.want)
			}
			dep := strings.Join(c.Deprecations(), "\n")
			if tt.deprecated == "" && dep != "" || tt.deprecated != "" && !strings.Contains(dep, tt.deprecated) {
				t.Errorf("Deprecations() = %q, want %q", dep, tt.deprecated)
			}
		})
	}
}

func TestPrintOnAcceptance(t *testing.T) {
	c, err := config.Parse(build(nil))
	if err != nil || c.Printer.PrintOnAcceptance {
		t.Fatalf("default print_on_acceptance = %v (%v), want false", c != nil && c.Printer.PrintOnAcceptance, err)
	}
	if c, err = config.Parse(build(map[string]string{"printer.print_on_acceptance": "true"})); err != nil || !c.Printer.PrintOnAcceptance {
		t.Fatalf("print_on_acceptance = true: %+v, %v", c, err)
	}
}
